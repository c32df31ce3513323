{{ config(materialized=incremental_or_table(), unique_key='staff_month_key', incremental_strategy='delete+insert') }}

with changes as (
    select
        concat_ws('|', cost_centre, period) as staff_month_key,
        cost_centre,
        {{ month_start_of('period') }} as month_start,
        person_years,
        sick_leave_days,
        _source_file,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('hr', 'staff_months')) }}
)

{{ latest_versions('changes', 'staff_month_key') }}
