-- home_care_75_share: residents aged 75 or more in regular home care on the last day of the
-- month (in the municipality where they lived that day), % of the residents of that age. A
-- year is its 30 November (Sotkanet's measuring day).
with clients as (
    select
        residences.municipality_code,
        months.period_start,
        'total' as breakdown_code,
        count(distinct decisions.person_pseudonym) as numerator
    from {{ ref('int_months_observed') }} as months
    inner join {{ ref('fct_home_care_decisions') }} as decisions
        on decisions.start_date <= months.month_end
        and (decisions.end_date is null or decisions.end_date >= months.month_end)
    inner join {{ ref('dim_person') }} as persons using (person_pseudonym)
    inner join {{ ref('dim_person_residence') }} as residences
        on residences.person_pseudonym = decisions.person_pseudonym
        and months.month_end between residences.valid_from and residences.valid_to
    where decisions.service_type = 'regular'
        and months.period_start >= {{ indicator_periods_from() }}
        and {{ year_of('months.month_end') }} - persons.birth_year >= 75
    group by 1, 2, 3
),

{{ municipal_indicator('home_care_75_share', 'clients', 100, min_age=75, year_from='november') }}
