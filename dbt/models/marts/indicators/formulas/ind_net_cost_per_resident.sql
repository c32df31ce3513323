-- net_cost_per_resident: ledger costs minus revenues per resident, by service class (and in
-- total), for the county and year. Postings of unmapped cost centres count only in the total.
with postings as (
    select {{ year_of('period_start') }} as year, service_class_code, amount
    from {{ ref('fct_ledger_postings') }}
    where period_start >= {{ indicator_periods_from() }}
),

county_residents as (
    select population.year, organisers.organiser_code as county_code, sum(population.residents) as residents
    from {{ ref('fct_population') }} as population
    inner join {{ ref('dim_municipality') }} as organisers
        on organisers.municipality_code = population.municipality_code
        and make_date(population.year, 12, 31) between organisers.valid_from and organisers.valid_to
    group by population.year, organisers.organiser_code
),

costs as (
    select year, service_class_code as breakdown_code, sum(amount) as net_cost
    from postings
    where service_class_code is not null
    group by year, service_class_code
    union all
    select year, 'total', sum(amount)
    from postings
    group by year
)

select
    'net_cost_per_resident' as indicator_id,
    'county' as area_level,
    county_residents.county_code as area_code,
    'year' as period_grain,
    make_date(costs.year, 1, 1) as period_start,
    'service_class' as breakdown,
    costs.breakdown_code,
    cast(costs.net_cost as {{ sql_type('float8') }}) as numerator,
    cast(county_residents.residents as {{ sql_type('float8') }}) as denominator,
    cast(costs.net_cost as {{ sql_type('float8') }}) / county_residents.residents as value
from costs
inner join county_residents on county_residents.year = costs.year
where county_residents.county_code = '{{ var("county_code") }}'
