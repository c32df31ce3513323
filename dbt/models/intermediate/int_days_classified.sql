-- One row per day from 2015 to 2035 with its month and whether it is a working day (Monday to
-- Friday, not a fixed-date public holiday: 1.1., 6.1., 1.5., 6.12., 24.-26.12.).
with days as (
    select cast(day as date) as date_day
    from {{ calendar_days('2015-01-01', '2035-12-31') }}
)

select
    date_day,
    cast(date_trunc('month', date_day) as date) as month_start,
    cast(date_trunc('year', date_day) as date) as year_start,
    cast(extract(year from date_day) as integer) as year,
    cast(extract(month from date_day) as integer) as month,
    cast({{ iso_weekday('date_day') }} as integer) as iso_weekday,
    {{ iso_weekday('date_day') }} <= 5
        and extract(month from date_day) * 100 + extract(day from date_day)
            not in (101, 106, 501, 1206, 1224, 1225, 1226)
        as is_working_day
from days
