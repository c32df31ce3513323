-- child_welfare_care_days_per_1000_children: care days of placements outside the home in the
-- period, per 1 000 residents aged 0-17.
with days as (
    select
        placements.home_municipality_code as municipality_code,
        months.period_start,
        'total' as breakdown_code,
        sum({{ days_between('greatest(placements.start_date, months.period_start)',
                            'least(coalesce(placements.end_date, months.month_end), months.month_end)') }} + 1) as numerator
    from {{ ref('int_months_observed') }} as months
    inner join {{ ref('fct_child_welfare_placements') }} as placements
        on placements.start_date <= months.month_end
        and (placements.end_date is null or placements.end_date >= months.period_start)
    group by 1, 2, 3
),

{{ municipal_indicator('child_welfare_care_days_per_1000_children', 'days', 1000, max_age=17) }}
