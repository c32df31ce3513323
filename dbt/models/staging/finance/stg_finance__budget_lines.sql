{{ config(materialized=incremental_or_table(), unique_key='budget_line_key', incremental_strategy='delete+insert') }}

with changes as (
    select
        concat_ws('|', year, month, cost_centre) as budget_line_key,
        make_date(year, month, 1) as month_start,
        cost_centre,
        net_budget,
        _source_file,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('finance', 'budget')) }}
)

{{ latest_versions('changes', 'budget_line_key') }}
