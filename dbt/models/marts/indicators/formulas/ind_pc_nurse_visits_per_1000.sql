-- pc_nurse_visits_per_1000: primary care outpatient nurse visits (at a health
-- station's reception, any record system) per 1 000 residents, by home municipality.
with events as (
    select
        visits.home_municipality_code as municipality_code,
        cast(date_trunc('month', visits.visit_date) as date) as period_start,
        'total' as breakdown_code,
        count(*) as numerator
    from {{ visits_counted() }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    where visits.professional_group_code = 'nurse'
        and visits.contact_type_code = 'R10'
        and units.unit_type = 'health_station'
    group by 1, 2, 3
),

{{ municipal_indicator('pc_nurse_visits_per_1000', 'events', 1000) }}
