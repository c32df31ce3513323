-- pc_emergency_returns_48h_share: of the visits to primary care emergency (päivystys), the share
-- (%) after which the same person came back to primary care emergency within 48 hours (a later
-- visit that began at most 48 hours after the visit began). By the year of the first visit and
-- where the person lived on its day. A return needs the person: visits of people whose
-- henkilötunnus is invalid are not linked, and count in neither. Yearly only: a municipality's
-- returns in a month are mostly 1 to 4, and withholding them (and the cells that would give
-- them away) would leave nothing of the year published.
with emergency as (
    select visits.person_pseudonym, visits.visit_key, visits.visit_start, visits.visit_date,
           visits.home_municipality_code
    from {{ ref('fct_visits') }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    where units.unit_type = 'primary_emergency'
),

returned as (
    select distinct visits.visit_key
    from emergency as visits
    inner join emergency as returns
        on returns.person_pseudonym = visits.person_pseudonym
        and returns.visit_start > visits.visit_start
        and returns.visit_start <= visits.visit_start + interval '48 hours'
    where visits.visit_date >= {{ indicator_periods_from() }}
),

events as (
    select
        emergency.home_municipality_code as municipality_code,
        make_date({{ year_of('emergency.visit_date') }}, 1, 1) as period_start,
        'total' as breakdown_code,
        count(returned.visit_key) as numerator,
        count(*) as denominator
    from emergency
    left join returned on returned.visit_key = emergency.visit_key
    group by 1, 2, 3
),

{{ municipal_indicator('pc_emergency_returns_48h_share', 'events', 100, denominator='events',
                       grains=('year',)) }}
