-- One row per day from 2015 to 2035 with its month and whether it is a working day: Monday to
-- Friday and not a Finnish holiday (the seed finnish_holidays, written from the maintained
-- `holidays` package by `sotelake calendar`: movable feasts such as Good Friday, Easter Monday,
-- Ascension Day and Midsummer Eve included).
with days as (
    select cast(day as date) as date_day
    from {{ calendar_days('2015-01-01', '2035-12-31') }}
),

holidays as (
    select cast(holiday_date as date) as holiday_date, name_fi, name_sv, name_en
    from {{ ref('finnish_holidays') }}
)

select
    days.date_day,
    cast(date_trunc('month', days.date_day) as date) as month_start,
    cast(date_trunc('year', days.date_day) as date) as year_start,
    cast(extract(year from days.date_day) as integer) as year,
    cast(extract(month from days.date_day) as integer) as month,
    cast({{ iso_weekday('days.date_day') }} as integer) as iso_weekday,
    holidays.holiday_date is not null as is_holiday,
    holidays.name_fi as holiday_name_fi,
    holidays.name_sv as holiday_name_sv,
    holidays.name_en as holiday_name_en,
    {{ iso_weekday('days.date_day') }} <= 5 and holidays.holiday_date is null as is_working_day
from days
left join holidays on holidays.holiday_date = days.date_day
