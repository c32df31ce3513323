-- The months the warehouse has data for: from the first population year to the last day with
-- recorded activity. Indicators of a state on a day (who is in home care at the month's end)
-- are measured on these months.
with bounds as (
    select
        make_date((select min(year) from {{ ref('fct_population') }}), 1, 1) as first_day,
        (select max(visit_date) from {{ ref('fct_visits') }}) as last_day
)

select distinct days.month_start as period_start, {{ month_end_of('days.month_start') }} as month_end
from {{ ref('int_days_classified') }} as days, bounds
where days.date_day between bounds.first_day and bounds.last_day
