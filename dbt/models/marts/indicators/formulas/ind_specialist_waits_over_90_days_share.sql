-- specialist_waits_over_90_days_share: of the patients on specialist care's waiting list at the
-- end of the month (in the municipality where they lived that day), the share (%) who had
-- waited more than 90 days; in total and by specialty.
-- A year is its 31 December.
with entries_waiting as (
    select
        residences.municipality_code,
        months.period_start,
        entries.specialty_code,
        {{ days_between('entries.placed_date', 'months.month_end') }} > 90 as waited_over_90_days
    from {{ ref('int_months_observed') }} as months
    inner join {{ ref('fct_waiting_list_entries') }} as entries
        on entries.placed_date <= months.month_end
        and (entries.treated_date is null or entries.treated_date > months.month_end)
    inner join {{ ref('dim_person_residence') }} as residences
        on residences.person_pseudonym = entries.person_pseudonym
        and months.month_end between residences.valid_from and residences.valid_to
    where months.period_start >= {{ indicator_periods_from() }}
),

waiting as (
    select municipality_code, period_start, specialty_code as breakdown_code,
           count(*) filter (where waited_over_90_days) as numerator, count(*) as denominator
    from entries_waiting
    group by 1, 2, 3
    union all
    select municipality_code, period_start, 'total',
           count(*) filter (where waited_over_90_days), count(*)
    from entries_waiting
    group by 1, 2, 3
),

{{ municipal_indicator('specialist_waits_over_90_days_share', 'waiting', 100, denominator='events',
                       breakdown='specialty', year_from='december') }}
