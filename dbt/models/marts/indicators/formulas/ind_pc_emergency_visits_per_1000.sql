-- pc_emergency_visits_per_1000: visits to primary care emergency (päivystys) per 1 000 residents.
with events as (
    select
        visits.home_municipality_code as municipality_code,
        cast(date_trunc('month', visits.visit_date) as date) as period_start,
        'total' as breakdown_code,
        count(*) as numerator
    from {{ visits_counted() }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    where units.unit_type = 'primary_emergency'
    group by 1, 2, 3
),

{{ municipal_indicator('pc_emergency_visits_per_1000', 'events', 1000) }}
