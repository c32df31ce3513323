-- Per load: rows extracted, loaded to raw, quarantined and rejected (a batch held back by a
-- critical expectation), with what the load noticed about the delivery. extracted = loaded +
-- quarantined + rejected is checked by the load, by validation and by the test on this model.
-- A daily build adds the loads whose audit changed (macros/dq_changes.sql).
{{ config(
    materialized=dq_merged_or_rebuilt(),
    pre_hook="{{ forget_changed_loads('load_audit') if is_incremental() else '' }}",
) }}

{% if dq_nothing_changed('load_audit') -%}
select * from {{ this }} where false
{%- else -%}
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
    coalesce(codes_withheld, 0) as codes_withheld,
    status,
    error,
    seconds,
    recorded_at
from {{ dq_rows(source('lake_dq', 'load_audit'), 'load_audit') }}
{%- endif %}
