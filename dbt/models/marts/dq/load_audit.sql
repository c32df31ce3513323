-- Per load: rows extracted, loaded to raw, quarantined and rejected (a batch held back by a
-- critical expectation), with what the load noticed about the delivery. extracted = loaded +
-- quarantined + rejected is checked by the load, by validation and by the test on this model.
select
    load_id,
    source,
    table_name,
    load_date,
    mode,
    window_json,
    extracted,
    loaded,
    quarantined,
    coalesce(rejected, 0) as rejected,
    reasons_json,
    source_files,
    rejected_files_json,
    new_columns,
    withheld_columns,
    missing_columns,
    status,
    error,
    seconds,
    recorded_at
from {{ source('lake_dq', 'load_audit') }}
