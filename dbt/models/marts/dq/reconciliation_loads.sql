-- Reconciliation of loads: per load, the rows extracted (counted while reading the source)
-- equal the rows now in the raw zone + quarantine + rejected zone for that load (counted from
-- the lake's files). Depends on nothing but the lake, so it runs even when sources are held
-- back. A daily build checks the loads whose audit changed (macros/dq_changes.sql).
{{ config(
    materialized=dq_merged_or_rebuilt(),
    pre_hook="{{ forget_changed_loads('load_audit', key='scope', of=load_scope()) if is_incremental() else '' }}",
) }}

{% if dq_nothing_changed('load_audit') -%}
select * from {{ this }} where false
{%- else -%}
with audit as (
    select * from {{ dq_rows(source('lake_dq', 'load_audit'), 'load_audit') }}
),

raw_rows as (
    {{ lake_file_counts('raw/*/*/*/*.parquet', '_load_id', 'raw') }}
),

quarantined as (
    {% if dq_nothing_changed('quarantine') -%}
    select cast(null as {{ sql_type('varchar') }}) as load_id, 0 as rows where false
    {%- else -%}
    select load_id, count(*) as rows
    from {{ dq_rows(source('lake_dq', 'quarantine'), 'quarantine') }} group by 1
    {%- endif %}
),

rejected as (
    {{ lake_file_counts('rejected/*/*/*/*.parquet', '_load_id', 'rejected') }}
),

checks as (
    select
        'load_rows' as check_name,
        {{ load_scope('audit.') }} as scope,
        cast(audit.extracted as {{ sql_type('float8') }}) as expected,
        cast(coalesce(raw_rows.rows, 0) + coalesce(quarantined.rows, 0) + coalesce(rejected.rows, 0) as {{ sql_type('float8') }}) as actual
    from audit
    left join raw_rows on raw_rows.load_id = audit.load_id
    left join quarantined on quarantined.load_id = audit.load_id
    left join rejected on rejected.load_id = audit.load_id
)

{{ reconciliation_result('checks') }}
{%- endif %}
