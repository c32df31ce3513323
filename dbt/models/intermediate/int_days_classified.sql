-- One row per day from 2015 to 2035 with its month and whether it is a working day (Monday to
-- Friday, not a fixed-date public holiday: 1.1., 6.1., 1.5., 6.12., 24.-26.12.).
with days as (
    select cast(range as date) as date_day
    from range(date '2015-01-01', date '2036-01-01', interval 1 day)
)

select
    date_day,
    cast(date_trunc('month', date_day) as date) as month_start,
    cast(date_trunc('year', date_day) as date) as year_start,
    year(date_day) as year,
    month(date_day) as month,
    isodow(date_day) as iso_weekday,
    isodow(date_day) <= 5
        and strftime(date_day, '%m-%d') not in ('01-01', '01-06', '05-01', '12-06', '12-24', '12-25', '12-26')
        as is_working_day
from days
