-- Public interface: one row per expectation per validated batch (Great Expectations).
select
    run_id,
    load_id,
    source,
    table_name,
    load_date,
    suite_name,
    expectation_type,
    column_name,
    kwargs_json,
    kahn_category,
    severity,
    success,
    element_count,
    unexpected_count,
    unexpected_percent,
    observed_value,
    partial_unexpected_json,
    examples_json,
    validated_at
from {{ source('lake_dq', 'validation_results') }}
