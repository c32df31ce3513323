-- Public interface: one row per quarantined row, with its reason and the row as JSON
-- (identifiers withheld). Rows of a load that was re-run are replaced with the load. A daily
-- build replaces the rows of the loads whose audit changed (macros/dq_changes.sql).
{{ config(
    materialized=dq_merged_or_rebuilt(),
    pre_hook="{{ forget_changed_loads('load_audit') if is_incremental() else '' }}",
) }}

{% if dq_nothing_changed('quarantine') -%}
select * from {{ this }} where false
{%- else -%}
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
from {{ dq_rows(source('lake_dq', 'quarantine'), 'quarantine') }}
{%- endif %}
