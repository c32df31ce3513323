-- oral_health_net_cost_per_visit: the ledger's net cost of oral health care (SUUN_TH) in the
-- year per oral health visit (a dental clinic's reception, R10) of the county's residents (the
-- municipality where the person lived on the visit's day, organised by the county that day).
with costs as (
    select {{ year_of('period_start') }} as year, sum(amount) as net_cost
    from {{ ref('fct_ledger_postings') }}
    where service_class_code = 'SUUN_TH'
        and period_start >= {{ indicator_periods_from() }}
    group by 1
),

visits_in_county as (
    select years.year, count(*) as visits
    from {{ visits_counted() }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    inner join {{ indicator_years() }} as years
        on visits.visit_date between years.year_start and years.year_end
    inner join {{ ref('dim_municipality') }} as organisers
        on organisers.municipality_code = visits.home_municipality_code
        and visits.visit_date between organisers.valid_from and organisers.valid_to
    where units.unit_type = 'oral_health'
        and visits.contact_type_code = 'R10'
        and organisers.organiser_code = '{{ var("county_code") }}'
    group by years.year
)

select
    'oral_health_net_cost_per_visit' as indicator_id,
    'county' as area_level,
    '{{ var("county_code") }}' as area_code,
    'year' as period_grain,
    make_date(costs.year, 1, 1) as period_start,
    'none' as breakdown,
    'total' as breakdown_code,
    cast(costs.net_cost as {{ sql_type('float8') }}) as numerator,
    cast(visits_in_county.visits as {{ sql_type('float8') }}) as denominator,
    cast(costs.net_cost as {{ sql_type('float8') }}) / visits_in_county.visits as value
from costs
inner join visits_in_county on visits_in_county.year = costs.year
