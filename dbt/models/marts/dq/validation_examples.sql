-- Stewards only, like dq.quarantine (transform.public_interface.STEWARDS_ONLY): per failing
-- expectation of a validated batch, a few of its failing rows as JSON, identifiers withheld;
-- never a row that validation quarantined (those are in dq.quarantine). Read from the same
-- lake files as dq.validation_results; a daily build replaces the batches whose results
-- changed (macros/dq_changes.sql).
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
    severity,
    unexpected_count,
    examples_json,
    validated_at
from {{ dq_rows(source('lake_dq', 'validation_results'), 'validation_results') }}
where not success and examples_json is not null and examples_json <> '[]'
{%- endif %}
