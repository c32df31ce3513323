-- t3_median_days: median of the daily T3 measurements (days to the third free non-urgent slot)
-- by unit, municipality of the unit and county, per professional group, by month and year.
with measurements as (
    select
        t3.measured_on,
        t3.professional_group_code,
        t3.days_to_third_free,
        units.unit_code,
        units.municipality_code,
        organisers.organiser_code as county_code
    from {{ ref('int_t3_measurements_daily') }} as t3
    inner join {{ ref('dim_unit') }} as units on units.unit_id = t3.unit_id
    inner join {{ ref('dim_municipality') }} as organisers
        on organisers.municipality_code = units.municipality_code
        and t3.measured_on between organisers.valid_from and organisers.valid_to
    where t3.measured_on >= {{ indicator_periods_from() }}
),

by_grain as (
    select 'month' as period_grain, cast(date_trunc('month', measured_on) as date) as period_start, *
    from measurements
    union all
    select 'year', cast(date_trunc('year', measured_on) as date), *
    from measurements
),

areas as (
    select 'unit' as area_level, unit_code as area_code, period_grain, period_start,
           professional_group_code, {{ median('days_to_third_free') }} as median_days, count(*) as measurements
    from by_grain
    group by unit_code, period_grain, period_start, professional_group_code
    union all
    select 'municipality', municipality_code, period_grain, period_start, professional_group_code,
           {{ median('days_to_third_free') }}, count(*)
    from by_grain
    group by municipality_code, period_grain, period_start, professional_group_code
    union all
    select 'county', county_code, period_grain, period_start, professional_group_code,
           {{ median('days_to_third_free') }}, count(*)
    from by_grain
    group by county_code, period_grain, period_start, professional_group_code
)

select
    't3_median_days' as indicator_id,
    area_level,
    area_code,
    period_grain,
    period_start,
    'professional_group' as breakdown,
    professional_group_code as breakdown_code,
    cast(null as {{ sql_type('float8') }}) as numerator,
    cast(measurements as {{ sql_type('float8') }}) as denominator,
    cast(median_days as {{ sql_type('float8') }}) as value
from areas
