-- Public interface: one row per expectation per validated batch (Great Expectations): counts
-- and the shapes of the failing values, never a value or a row (those are for stewards:
-- dq.validation_examples). A daily build replaces the batches whose results changed
-- (macros/dq_changes.sql).
{{ config(
    materialized=dq_merged_or_rebuilt(),
    pre_hook="{{ forget_changed_loads('validation_results') if is_incremental() else '' }}",
) }}

{% if dq_nothing_changed('validation_results') -%}
select * from {{ this }} where false
{%- else -%}
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
    unexpected_shapes_json,
    validated_at
from {{ dq_rows(source('lake_dq', 'validation_results'), 'validation_results') }}
{%- endif %}
