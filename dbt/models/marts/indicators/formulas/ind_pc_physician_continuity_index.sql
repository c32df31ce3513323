-- pc_physician_continuity_index: continuity of care with physicians at health stations, the
-- Bice-Boxerman continuity of care index (COC): for each person with at least two in-person
-- physician visits at a health station in the year that name their physician (the unified
-- record system's professional_id; the legacy system records none),
--     COC = (sum over physicians j of n_j * n_j - N) / (N * (N - 1))
-- (N the person's visits, n_j those with physician j): 1 when every visit was with the same
-- physician, 0 when none was twice with the same. The value is the mean of the people's
-- indices, where they lived on 31 December. Each person's index is an integer in millionths
-- (rounded half up, in integer arithmetic) and these are summed exactly, so that every engine
-- adds up the same numbers.
with visits_by_physician as (
    select
        visits.person_pseudonym,
        {{ year_of('visits.visit_date') }} as year,
        visits.professional_id,
        count(*) as visits
    from {{ ref('fct_visits') }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    where visits.professional_group_code = 'physician'
        and visits.contact_type_code = 'R10'
        and units.unit_type = 'health_station'
        and visits.professional_id is not null
        and visits.visit_date >= {{ indicator_periods_from() }}
    group by 1, 2, 3
),

people as (
    select
        person_pseudonym,
        year,
        'total' as breakdown_code,
        cast(sum(visits) as bigint) as n,
        cast(sum(visits * visits) as bigint) as sum_of_squares
    from visits_by_physician
    group by 1, 2
    having sum(visits) >= 2
),

indices as (
    select
        person_pseudonym,
        year,
        breakdown_code,
        -- round(1 000 000 * (S - N) / (N (N - 1))), half up: floor((2e6 (S - N) + N (N - 1)) / (2 N (N - 1)));
        -- the quotient is never within a rounding error of the next integer, so floor is exact
        cast(floor(
            cast(2000000 * (sum_of_squares - n) + n * (n - 1) as {{ sql_type('float8') }})
            / cast(2 * n * (n - 1) as {{ sql_type('float8') }})
        ) as bigint) as coc_millionths
    from people
),

by_residence as (
    {{ people_of_the_year('indices', measure='coc_millionths') }}
),

{{ municipal_indicator('pc_physician_continuity_index', 'by_residence', 1,
                       denominator='events', grains=('year',), numerator_unit=1000000) }}
