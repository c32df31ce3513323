-- pc_physician_visits_per_1000: primary care outpatient physician visits per 1 000 residents,
-- by municipality of residence and county, by month and year (see seeds/indicator_definitions.csv).
with visits as (
    select visits.home_municipality_code as municipality_code, visits.visit_date
    from {{ ref('fct_visits') }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    where visits.professional_group_code = 'physician'
        and visits.contact_type_code = 'R10'
        and units.unit_type = 'health_station'
),

residents as (
    select year, municipality_code, sum(residents) as residents
    from {{ ref('fct_population') }}
    group by year, municipality_code
),

months as (
    select distinct cast(date_trunc('month', visit_date) as date) as month_start from visits
),

monthly as (
    select
        residents.municipality_code,
        months.month_start as period_start,
        residents.residents,
        count(visits.visit_date) as visits
    from months
    inner join residents on residents.year = year(months.month_start)
    left join visits
        on visits.municipality_code = residents.municipality_code
        and cast(date_trunc('month', visits.visit_date) as date) = months.month_start
    group by residents.municipality_code, months.month_start, residents.residents
),

by_grain as (
    select municipality_code, 'month' as period_grain, period_start, visits, residents
    from monthly
    union all
    select municipality_code, 'year', cast(date_trunc('year', period_start) as date), sum(visits), max(residents)
    from monthly
    group by municipality_code, cast(date_trunc('year', period_start) as date)
),

with_county as (
    select by_grain.*, organisers.organiser_code as county_code
    from by_grain
    inner join {{ ref('dim_municipality') }} as organisers
        on organisers.municipality_code = by_grain.municipality_code
        and by_grain.period_start between organisers.valid_from and organisers.valid_to
),

areas as (
    select 'municipality' as area_level, municipality_code as area_code, period_grain, period_start,
           visits, residents
    from with_county
    union all
    select 'county', county_code, period_grain, period_start, sum(visits), sum(residents)
    from with_county
    group by county_code, period_grain, period_start
)

select
    'pc_physician_visits_per_1000' as indicator_id,
    area_level,
    area_code,
    period_grain,
    period_start,
    'none' as breakdown,
    'total' as breakdown_code,
    cast(visits as double) as numerator,
    cast(residents as double) as denominator,
    case when residents > 0 then 1000.0 * visits / residents end as value
from areas
