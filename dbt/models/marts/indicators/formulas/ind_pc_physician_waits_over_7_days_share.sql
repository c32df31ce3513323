-- pc_physician_waits_over_7_days_share: of the non-urgent physician visits booked at a health
-- station, the share (%) that took place more than 7 days after the booking; in total and by
-- the patient's age group on the day of the visit (packages show children's and older people's
-- access).
with visits as (
    select
        visits.home_municipality_code as municipality_code,
        cast(date_trunc('month', visits.visit_date) as date) as period_start,
        {{ age_group(year_of('visits.visit_date') ~ ' - persons.birth_year') }} as age_group,
        {{ days_between('visits.booked_at', 'visits.visit_date') }} > 7 as waited_over_7_days
    from {{ ref('fct_visits') }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    left join {{ ref('dim_person') }} as persons on persons.person_pseudonym = visits.person_pseudonym
    where visits.professional_group_code = 'physician'
        and visits.urgency = 'non_urgent'
        and visits.booked_at is not null
        and units.unit_type = 'health_station'
),

events as (
    select municipality_code, period_start, 'total' as breakdown_code,
           count(*) filter (where waited_over_7_days) as numerator, count(*) as denominator
    from visits
    group by 1, 2, 3
    union all
    select municipality_code, period_start, age_group,
           count(*) filter (where waited_over_7_days), count(*)
    from visits
    group by 1, 2, 3
),

{{ municipal_indicator('pc_physician_waits_over_7_days_share', 'events', 100, denominator='events',
                       breakdown='age_group') }}
