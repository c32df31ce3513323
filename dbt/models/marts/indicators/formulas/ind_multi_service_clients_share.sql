-- multi_service_clients_share: residents who used at least three service areas in the year
-- (primary care, emergency, specialist care, home care, round-the-clock care, child welfare),
-- % of residents, in the municipality where they lived on 31 December (the population's day;
-- a person the unified record system does not know: where their own system has them).
-- One rule for every service (the catalogue's definition): a service counts in a year when the
-- person received it in the year (a visit) or had it in force on a day of the year (an
-- inpatient episode, a home-care decision, a round-the-clock stay, a child-welfare placement).
-- Visits at oral health and mental health units do not count (not one of the areas).
{%- set periods_from = indicator_periods_from() %}
with years as (
    select distinct year, make_date(year, 1, 1) as year_start, make_date(year, 12, 31) as year_end
    from {{ ref('fct_population') }}
    where make_date(year, 1, 1) >= {{ periods_from }}
),

uses as (
    -- received: visits and contacts
    select visits.person_pseudonym, {{ year_of('visits.visit_date') }} as year,
           case
               when units.unit_type in ('primary_emergency', 'specialist_emergency') then 'emergency'
               when units.unit_type = 'specialist_outpatient' then 'specialist_care'
               else 'primary_care'
           end as service_area
    from {{ ref('fct_visits') }} as visits
    left join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    where visits.visit_date >= {{ periods_from }}
        -- oral health and mental health and substance abuse services are not among the areas
        and coalesce(units.unit_type, '') not in ('oral_health', 'mental_health')
    union all
    select person_pseudonym, {{ year_of('visit_date') }}, 'home_care' from {{ ref('fct_home_care_visits') }}
    where visit_date >= {{ periods_from }}
    -- in force on a day of the year: from its first day to its last (open: still in force)
    union all
    select episodes.person_pseudonym, years.year, 'specialist_care'
    from {{ ref('fct_inpatient_episodes') }} as episodes
    inner join years
        on episodes.admitted_date <= years.year_end
        and (episodes.discharged_at is null or cast(episodes.discharged_at as date) >= years.year_start)
    union all
    select decisions.person_pseudonym, years.year, 'home_care'
    from {{ ref('fct_home_care_decisions') }} as decisions
    inner join years
        on decisions.start_date <= years.year_end
        and (decisions.end_date is null or decisions.end_date >= years.year_start)
    union all
    select stays.person_pseudonym, years.year, 'round_the_clock_care'
    from {{ ref('fct_round_the_clock_stays') }} as stays
    inner join years
        on stays.start_date <= years.year_end
        and (stays.end_date is null or stays.end_date >= years.year_start)
    union all
    select placements.person_pseudonym, years.year, 'child_welfare'
    from {{ ref('fct_child_welfare_placements') }} as placements
    inner join years
        on placements.start_date <= years.year_end
        and (placements.end_date is null or placements.end_date >= years.year_start)
),

clients as (
    select
        coalesce(residences.municipality_code, persons.home_municipality_code) as municipality_code,
        make_date(uses.year, 1, 1) as period_start,
        'total' as breakdown_code,
        count(*) as numerator
    from (
        select person_pseudonym, year from uses
        group by person_pseudonym, year
        having count(distinct service_area) >= 3
    ) as uses
    inner join {{ ref('dim_person') }} as persons using (person_pseudonym)
    left join {{ ref('dim_person_residence') }} as residences
        on residences.person_pseudonym = uses.person_pseudonym
        and make_date(uses.year, 12, 31) between residences.valid_from and residences.valid_to
    group by 1, 2, 3
),

{{ municipal_indicator('multi_service_clients_share', 'clients', 100, grains=('year',)) }}
