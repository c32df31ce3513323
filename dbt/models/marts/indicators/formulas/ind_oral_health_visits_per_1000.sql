-- oral_health_visits_per_1000: oral health care visits (at a dental clinic's reception, R10)
-- per 1 000 residents, by professional group (dentist, dental hygienist) and in total, where
-- the person lived on the visit's day. Dental clinics are units of their own type
-- (oral_health), not health stations.
with oral_visits as (
    select
        visits.home_municipality_code as municipality_code,
        cast(date_trunc('month', visits.visit_date) as date) as period_start,
        visits.professional_group_code
    from {{ visits_counted() }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    where units.unit_type = 'oral_health'
        and visits.contact_type_code = 'R10'
),

events as (
    select municipality_code, period_start, professional_group_code as breakdown_code, count(*) as numerator
    from oral_visits
    group by 1, 2, 3
    union all
    select municipality_code, period_start, 'total', count(*)
    from oral_visits
    group by 1, 2
),

{{ municipal_indicator('oral_health_visits_per_1000', 'events', 1000, breakdown='professional_group') }}
