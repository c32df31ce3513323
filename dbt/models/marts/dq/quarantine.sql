-- Public interface: one row per quarantined row, with its reason and the row as JSON
-- (identifiers withheld). Rows of a load that was re-run are replaced with the load.
select
    source,
    table_name,
    load_id,
    load_date,
    reason,
    reasons,
    row_json,
    _source_file as source_file,
    quarantined_at
from {{ source('lake_dq', 'quarantine') }}
