-- mental_health_outpatient_visits_per_1000: visits to mental health and substance abuse
-- outpatient services (units of type mental_health; at the reception, R10, or by real-time
-- video, R52) per 1 000 residents, by care type (the unit's service, seed
-- social_service_types) and in total, where the person lived on the visit's day.
with outpatient_visits as (
    select
        visits.home_municipality_code as municipality_code,
        cast(date_trunc('month', visits.visit_date) as date) as period_start,
        care_types.service_type_code as care_type_code
    from {{ visits_counted() }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    inner join {{ ref('social_service_types') }} as care_types
        on care_types.source_system = visits.source_system
        and care_types.source_code = visits.service_code
    where units.unit_type = 'mental_health'
        and visits.contact_type_code in ('R10', 'R52')
),

events as (
    select municipality_code, period_start, care_type_code as breakdown_code, count(*) as numerator
    from outpatient_visits
    group by 1, 2, 3
    union all
    select municipality_code, period_start, 'total', count(*)
    from outpatient_visits
    group by 1, 2
),

{{ municipal_indicator('mental_health_outpatient_visits_per_1000', 'events', 1000, breakdown='care_type') }}
