-- child_welfare_care_days_per_1000_children: care days of placements outside the home in the
-- period, per 1 000 residents aged 0-17. Each day counts in the municipality where the child
-- lived that day.
with days as (
    select
        residences.municipality_code,
        months.period_start,
        'total' as breakdown_code,
        sum({{ days_between(
                'greatest(placements.start_date, months.period_start, residences.valid_from)',
                'least(coalesce(placements.end_date, months.month_end), months.month_end, residences.valid_to)'
            ) }} + 1) as numerator
    from {{ ref('int_months_observed') }} as months
    inner join {{ ref('fct_child_welfare_placements') }} as placements
        on placements.start_date <= months.month_end
        and (placements.end_date is null or placements.end_date >= months.period_start)
    inner join {{ ref('dim_person_residence') }} as residences
        on residences.person_pseudonym = placements.person_pseudonym
        and residences.valid_from <= least(coalesce(placements.end_date, months.month_end), months.month_end)
        and residences.valid_to >= greatest(placements.start_date, months.period_start)
    where months.period_start >= {{ indicator_periods_from() }}
    group by 1, 2, 3
),

{{ municipal_indicator('child_welfare_care_days_per_1000_children', 'days', 1000, max_age=17) }}
