-- disability_housing_client_days_per_1000: client days of housing services with round-the-clock
-- support for people with disabilities (days a decision is in force) in the period, per 1 000
-- residents. Each day counts in the municipality where the client lived that day.
with days as (
    select
        residences.municipality_code,
        months.period_start,
        'total' as breakdown_code,
        sum({{ days_between(
                'greatest(decisions.start_date, months.period_start, residences.valid_from)',
                'least(coalesce(decisions.end_date, months.month_end), months.month_end, residences.valid_to)'
            ) }} + 1) as numerator
    from {{ ref('int_months_observed') }} as months
    inner join {{ ref('fct_disability_service_decisions') }} as decisions
        on decisions.start_date <= months.month_end
        and (decisions.end_date is null or decisions.end_date >= months.period_start)
    inner join {{ ref('dim_person_residence') }} as residences
        on residences.person_pseudonym = decisions.person_pseudonym
        and residences.valid_from <= least(coalesce(decisions.end_date, months.month_end), months.month_end)
        and residences.valid_to >= greatest(decisions.start_date, months.period_start)
    where decisions.service_type_code = 'round_the_clock_housing'
        and months.period_start >= {{ indicator_periods_from() }}
    group by 1, 2, 3
),

{{ municipal_indicator('disability_housing_client_days_per_1000', 'days', 1000) }}
