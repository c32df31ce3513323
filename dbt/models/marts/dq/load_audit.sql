-- Per load: rows extracted, loaded to raw and quarantined. extracted = loaded + quarantined is
-- checked by the load itself and again by the test on this model.
select
    load_id,
    source,
    table_name,
    load_date,
    extracted,
    loaded,
    quarantined,
    reasons_json,
    source_files,
    status,
    seconds,
    recorded_at
from {{ source('lake_dq', 'load_audit') }}
