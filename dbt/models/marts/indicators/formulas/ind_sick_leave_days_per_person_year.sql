-- sick_leave_days_per_person_year: sick-leave days per person-year (htv) of staff, by service
-- class; a month's person-years are its full-time equivalents / 12, so months and years compare.
with amounts as (
    select month_start as period_start, service_class_code,
           sum(sick_leave_days) as numerator,
           -- decimal, so sums over classes and months do not depend on the order of addition
           cast(sum(person_years) / 12 as decimal(18, 6)) as denominator
    from {{ ref('fct_staff_months') }}
    group by 1, 2
),

{{ county_indicator('sick_leave_days_per_person_year', 'amounts', 'numerator / denominator') }}
