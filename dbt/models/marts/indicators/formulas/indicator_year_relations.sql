-- How each indicator's year relates to its months (internal): 'sum' (the year adds up its
-- months: counts), 'november' or 'december' (the year is that month: a state on a day), found
-- from the computed values (the first that holds for every area and class); no row for an
-- indicator without months. The relations secondary suppression protects
-- (indicator_values_suppressed) and the disclosure audit attacks.
{{ config(materialized='table', tags=['every_indicator']) }}

with computed as (
    select * from {{ ref('indicator_values_computed') }}
),

month_sums as (
    select
        indicator_id, area_level, area_code, breakdown_code,
        cast(date_trunc('year', period_start) as date) as year_start,
        sum(numerator) as summed,
        sum(case when extract(month from period_start) = 11 then numerator end) as november,
        sum(case when extract(month from period_start) = 12 then numerator end) as december
    from computed
    where period_grain = 'month'
    group by 1, 2, 3, 4, 5
)

select
    cast(years.indicator_id as {{ sql_type('varchar') }}) as indicator_id,
    cast(case
        when min(case when abs(years.numerator - month_sums.summed) < 1e-6 then 1 else 0 end) = 1 then 'sum'
        when min(case when abs(years.numerator - month_sums.november) < 1e-6 then 1 else 0 end) = 1 then 'november'
        when min(case when abs(years.numerator - month_sums.december) < 1e-6 then 1 else 0 end) = 1 then 'december'
    end as {{ sql_type('varchar') }}) as year_is
from computed as years
inner join month_sums
    on month_sums.indicator_id = years.indicator_id
    and month_sums.area_level = years.area_level
    and month_sums.area_code = years.area_code
    and month_sums.breakdown_code = years.breakdown_code
    and month_sums.year_start = years.period_start
where years.period_grain = 'year'
group by years.indicator_id
