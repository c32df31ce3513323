{#- Indicator rows by municipality of residence and county, by month and year.

    `events` is a relation (a CTE name) with the columns
        municipality_code  the person's home municipality
        period_start       the first day of the month
        breakdown_code     the class of the breakdown ('total' when there is none)
        numerator          what is counted (events, persons, care days)
        denominator        only when denominator='events': the base of a share
    and this macro adds the rest of indicator_values' columns, for the periods this build
    computes (from indicator_periods_from(), macros/history.sql):

    denominator='population'  residents on 31 December of the year (optionally of an age
                              range), the same for a month and its year; municipalities and
                              months with no events get a zero numerator;
    denominator='events'      the events' own denominator (a share: scale 100); areas and
                              periods with no events have no row;
    year_from='sum'           a year adds up its months (counts);
    year_from='november'      a year is its November (a state on a day: the end of November is
                              Sotkanet's 30.11. measuring day);
    year_from='december'      a year is its December (a state on 31 December);
    numerator_unit=1000000    the events' numerators are integers in millionths (summed
                              exactly, the same on every engine): the rows' numerator is their
                              sum divided by it, and so is the value's.

    The county is the municipality's organiser on the period's first day (dim_municipality is
    effective-dated), so a municipality that moved counts for the right county each period. -#}
{% macro municipal_indicator(indicator_id, events, scale, denominator='population',
                             min_age=none, max_age=none, breakdown='none',
                             year_from='sum', grains=('month', 'year'), numerator_unit=1) %}
events_by_period as (
    select municipality_code, period_start, breakdown_code, sum(numerator) as numerator
        {%- if denominator == 'events' %}, sum(denominator) as denominator{% endif %}
    from {{ events }}
    where period_start >= {{ indicator_periods_from() }}
    group by municipality_code, period_start, breakdown_code
),

residents_by_year as (
    select year, municipality_code, sum(residents) as residents
    from {{ ref('fct_population') }}
    where true
        {%- if min_age is not none %} and age >= {{ min_age }}{% endif %}
        {%- if max_age is not none %} and age <= {{ max_age }}{% endif %}
    group by year, municipality_code
),

months as (
    select distinct period_start from events_by_period
),

codes as (
    select distinct breakdown_code from events_by_period
),

monthly as (
    select
        residents_by_year.municipality_code,
        months.period_start,
        codes.breakdown_code,
        coalesce(events_by_period.numerator, 0) as numerator,
        {% if denominator == 'population' -%}
        residents_by_year.residents
        {%- else -%}
        coalesce(events_by_period.denominator, 0)
        {%- endif %} as denominator
    from months
    inner join residents_by_year on residents_by_year.year = {{ year_of('months.period_start') }}
    cross join codes
    left join events_by_period
        on events_by_period.municipality_code = residents_by_year.municipality_code
        and events_by_period.period_start = months.period_start
        and events_by_period.breakdown_code = codes.breakdown_code
),

by_grain as (
    {% if 'month' in grains -%}
    select municipality_code, 'month' as period_grain, period_start, breakdown_code, numerator, denominator
    from monthly
    {%- endif %}
    {% if 'month' in grains and 'year' in grains %}union all{% endif %}
    {% if 'year' in grains -%}
    select
        municipality_code,
        'year' as period_grain,
        cast(date_trunc('year', period_start) as date) as period_start,
        breakdown_code,
        {% if year_from == 'sum' -%}
        sum(numerator) as numerator,
        {% if denominator == 'population' %}max(denominator){% else %}sum(denominator){% endif %} as denominator
        {%- else -%}
        sum(numerator) filter (where extract(month from period_start) = {{ 11 if year_from == 'november' else 12 }}) as numerator,
        sum(denominator) filter (where extract(month from period_start) = {{ 11 if year_from == 'november' else 12 }}) as denominator
        {%- endif %}
    from monthly
    group by municipality_code, cast(date_trunc('year', period_start) as date), breakdown_code
    {%- if year_from != 'sum' %}
    having count(*) filter (where extract(month from period_start) = {{ 11 if year_from == 'november' else 12 }}) > 0
    {%- endif %}
    {%- endif %}
),

with_county as (
    select by_grain.*, organisers.organiser_code as county_code
    from by_grain
    inner join {{ ref('dim_municipality') }} as organisers
        on organisers.municipality_code = by_grain.municipality_code
        and by_grain.period_start between organisers.valid_from and organisers.valid_to
),

areas as (
    select 'municipality' as area_level, municipality_code as area_code, period_grain,
           period_start, breakdown_code, numerator, denominator
    from with_county
    union all
    select 'county', county_code, period_grain, period_start, breakdown_code,
           sum(numerator), sum(denominator)
    from with_county
    group by county_code, period_grain, period_start, breakdown_code
)

select
    '{{ indicator_id }}' as indicator_id,
    area_level,
    area_code,
    period_grain,
    period_start,
    '{{ breakdown }}' as breakdown,
    breakdown_code,
    {% if numerator_unit == 1 -%}
    cast(numerator as {{ sql_type('float8') }}) as numerator,
    cast(denominator as {{ sql_type('float8') }}) as denominator,
    case when denominator > 0 then {{ scale }} * cast(numerator as {{ sql_type('float8') }}) / denominator end as value
    {%- else -%}
    cast(numerator as {{ sql_type('float8') }}) / {{ numerator_unit }} as numerator,
    cast(denominator as {{ sql_type('float8') }}) as denominator,
    case when denominator > 0
        then {{ scale }} * (cast(numerator as {{ sql_type('float8') }}) / cast({{ numerator_unit }} * denominator as {{ sql_type('float8') }}))
    end as value
    {%- endif %}
from areas
{%- if denominator == 'events' %}
where denominator > 0  -- a share of nothing is no value
{%- endif %}
{% endmacro %}


{#- Indicator rows of the county as a whole, by service class and in total, by month and
    year: for what the ledger, the budget and HR know by cost centre but not by municipality.
    `amounts` has period_start (month), service_class_code, numerator and denominator; `value`
    is an expression of `numerator` and `denominator`. -#}
{% macro county_indicator(indicator_id, amounts, value, grains=('month', 'year')) %}
periods as (
    select * from {{ amounts }} where period_start >= {{ indicator_periods_from() }}
),

classes as (
    select period_start, coalesce(service_class_code, 'unmapped') as breakdown_code,
           sum(numerator) as numerator, sum(denominator) as denominator
    from periods
    group by 1, 2
    union all
    select period_start, 'total', sum(numerator), sum(denominator)
    from periods
    group by 1
),

by_grain as (
    {% if 'month' in grains -%}
    select 'month' as period_grain, period_start, breakdown_code, numerator, denominator from classes
    {%- endif %}
    {% if 'month' in grains and 'year' in grains %}union all{% endif %}
    {% if 'year' in grains -%}
    select 'year', cast(date_trunc('year', period_start) as date), breakdown_code,
           sum(numerator), sum(denominator)
    from classes
    group by cast(date_trunc('year', period_start) as date), breakdown_code
    {%- endif %}
)

select
    '{{ indicator_id }}' as indicator_id,
    'county' as area_level,
    '{{ var("county_code") }}' as area_code,
    period_grain,
    period_start,
    'service_class' as breakdown,
    breakdown_code,
    numerator,
    denominator,
    case when denominator <> 0 then {{ value }} end as value
-- the value from float8 amounts: Spark divides decimals to 6 decimal places only
from (
    select period_grain, period_start, breakdown_code,
           cast(numerator as {{ sql_type('float8') }}) as numerator,
           cast(denominator as {{ sql_type('float8') }}) as denominator
    from by_grain
    where breakdown_code <> 'unmapped'
) as amounts_in_float8
{% endmacro %}


{#- Population indicators by municipality and county for a year (31 December): the residents
    of an age range, as a count (share=false) or as % of all residents (share=true). The county
    is the municipality's organiser on 31 December. -#}
{% macro population_indicator(indicator_id, min_age=none, max_age=none, share=false) %}
with residents as (
    select
        population.year,
        population.municipality_code,
        organisers.organiser_code as county_code,
        sum(population.residents) filter (where true
            {%- if min_age is not none %} and population.age >= {{ min_age }}{% endif %}
            {%- if max_age is not none %} and population.age <= {{ max_age }}{% endif %}) as numerator,
        sum(population.residents) as denominator
    from {{ ref('fct_population') }} as population
    inner join {{ ref('dim_municipality') }} as organisers
        on organisers.municipality_code = population.municipality_code
        and make_date(population.year, 12, 31) between organisers.valid_from and organisers.valid_to
    where make_date(population.year, 1, 1) >= {{ indicator_periods_from() }}
    group by 1, 2, 3
),

areas as (
    select 'municipality' as area_level, municipality_code as area_code, year, numerator, denominator
    from residents
    union all
    select 'county', county_code, year, sum(numerator), sum(denominator)
    from residents
    group by county_code, year
)

select
    '{{ indicator_id }}' as indicator_id,
    area_level,
    area_code,
    'year' as period_grain,
    make_date(year, 1, 1) as period_start,
    'none' as breakdown,
    'total' as breakdown_code,
    cast(coalesce(numerator, 0) as {{ sql_type('float8') }}) as numerator,
    cast(denominator as {{ sql_type('float8') }}) as denominator,
    {% if share -%}
    100.0 * cast(coalesce(numerator, 0) as {{ sql_type('float8') }}) / denominator
    {%- else -%}
    cast(coalesce(numerator, 0) as {{ sql_type('float8') }})
    {%- endif %} as value
from areas
{% endmacro %}


{#- Every visit the visit-count indicators count: the identified people's (marts.fct_visits)
    and the unified record system's visits of patients whose henkilötunnus is invalid
    (intermediate.int_visits_of_unidentified_patients: at their municipality, linked to no
    one). The columns both have. -#}
{% macro visits_counted() -%}
    {%- set columns = 'source_system, visit_key, home_municipality_code, unit_id, visit_start, '
        ~ 'visit_date, service_code, urgency, professional_group_code, contact_type_code, '
        ~ 'is_remote, is_digital' -%}
    (select {{ columns }} from {{ ref('fct_visits') }}
     union all
     select {{ columns }} from {{ ref('int_visits_of_unidentified_patients') }})
{%- endmacro %}


{#- The years the indicators of people of a year are computed for (from the population's years,
    those this build computes): year, year_start, year_end. -#}
{% macro indicator_years() -%}
    (select distinct year, make_date(year, 1, 1) as year_start, make_date(year, 12, 31) as year_end
     from {{ ref('fct_population') }}
     where make_date(year, 1, 1) >= {{ indicator_periods_from() }})
{%- endmacro %}


{#- People of a year (clients, recipients: DESIGN.md's people of a year), counted where they lived
    on 31 December (the population's day; a person the residence history does not know: the
    municipality dim_person has). `people` is a relation with person_pseudonym, year and
    breakdown_code (and `measure`, when given); the query has the columns municipal_indicator's
    events have: numerator = the people (or the sum of their `measure`, with denominator = the
    people: denominator='events'). -#}
{% macro people_of_the_year(people, measure=none) -%}
    select
        coalesce(residences.municipality_code, persons.home_municipality_code) as municipality_code,
        make_date(people.year, 1, 1) as period_start,
        people.breakdown_code,
        {% if measure -%}
        sum(people.{{ measure }}) as numerator,
        count(distinct people.person_pseudonym) as denominator
        {%- else -%}
        count(distinct people.person_pseudonym) as numerator
        {%- endif %}
    from {{ people }} as people
    inner join {{ ref('dim_person') }} as persons on persons.person_pseudonym = people.person_pseudonym
    left join {{ ref('dim_person_residence') }} as residences
        on residences.person_pseudonym = people.person_pseudonym
        and make_date(people.year, 12, 31) between residences.valid_from and residences.valid_to
    group by 1, 2, 3
{%- endmacro %}


{#- Net cost of a service class per client, for the county and year: the ledger's costs minus
    revenues of `service_class` in the year divided by the clients of the year (`clients`: a
    relation with person_pseudonym and year) who lived in the county's municipalities on 31
    December. -#}
{% macro net_cost_per_client(indicator_id, service_class, clients) %}
costs as (
    select {{ year_of('period_start') }} as year, sum(amount) as net_cost
    from {{ ref('fct_ledger_postings') }}
    where service_class_code = '{{ service_class }}'
        and period_start >= {{ indicator_periods_from() }}
    group by 1
),

clients_in_county as (
    select clients.year, count(distinct clients.person_pseudonym) as clients
    from {{ clients }} as clients
    inner join {{ ref('dim_person') }} as persons on persons.person_pseudonym = clients.person_pseudonym
    left join {{ ref('dim_person_residence') }} as residences
        on residences.person_pseudonym = clients.person_pseudonym
        and make_date(clients.year, 12, 31) between residences.valid_from and residences.valid_to
    inner join {{ ref('dim_municipality') }} as organisers
        on organisers.municipality_code = coalesce(residences.municipality_code, persons.home_municipality_code)
        and make_date(clients.year, 12, 31) between organisers.valid_from and organisers.valid_to
    where organisers.organiser_code = '{{ var("county_code") }}'
    group by clients.year
)

select
    '{{ indicator_id }}' as indicator_id,
    'county' as area_level,
    '{{ var("county_code") }}' as area_code,
    'year' as period_grain,
    make_date(costs.year, 1, 1) as period_start,
    'none' as breakdown,
    'total' as breakdown_code,
    cast(costs.net_cost as {{ sql_type('float8') }}) as numerator,
    cast(clients_in_county.clients as {{ sql_type('float8') }}) as denominator,
    cast(costs.net_cost as {{ sql_type('float8') }}) / clients_in_county.clients as value
from costs
inner join clients_in_county on clients_in_county.year = costs.year
{% endmacro %}


{#- Net cost of a service class per visit, for the county and year: the ledger's costs minus
    revenues of `service_class` in the year divided by the visits of the year (`visits`: a
    relation with visit_date and home_municipality_code, the municipality where the person
    lived on the visit's day) of residents of the county's municipalities (the municipality's
    organiser on the visit's day). -#}
{% macro net_cost_per_visit(indicator_id, service_class, visits) %}
costs as (
    select {{ year_of('period_start') }} as year, sum(amount) as net_cost
    from {{ ref('fct_ledger_postings') }}
    where service_class_code = '{{ service_class }}'
        and period_start >= {{ indicator_periods_from() }}
    group by 1
),

visits_in_county as (
    select {{ year_of('visits.visit_date') }} as year, count(*) as visits
    from {{ visits }} as visits
    inner join {{ ref('dim_municipality') }} as organisers
        on organisers.municipality_code = visits.home_municipality_code
        and visits.visit_date between organisers.valid_from and organisers.valid_to
    where organisers.organiser_code = '{{ var("county_code") }}'
        and visits.visit_date >= {{ indicator_periods_from() }}
    group by 1
)

select
    '{{ indicator_id }}' as indicator_id,
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
{% endmacro %}
