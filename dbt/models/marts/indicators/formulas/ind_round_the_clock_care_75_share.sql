-- round_the_clock_care_75_share: residents aged 75 or more in round-the-clock care on the last
-- day of the month, % of the residents of that age. A year is its 31 December.
with clients as (
    select
        stays.home_municipality_code as municipality_code,
        months.period_start,
        'total' as breakdown_code,
        count(distinct stays.person_pseudonym) as numerator
    from {{ ref('int_months_observed') }} as months
    inner join {{ ref('fct_round_the_clock_stays') }} as stays
        on stays.start_date <= months.month_end
        and (stays.end_date is null or stays.end_date >= months.month_end)
    inner join {{ ref('dim_person') }} as persons using (person_pseudonym)
    where {{ year_of('months.month_end') }} - persons.birth_year >= 75
    group by 1, 2, 3
),

{{ municipal_indicator('round_the_clock_care_75_share', 'clients', 100, min_age=75, year_from='december') }}
