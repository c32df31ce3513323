-- oral_health_clients_per_1000: residents who visited oral health care (a dental clinic's
-- reception, R10) in the year, per 1 000 residents, counted once where they lived on 31
-- December.
with clients_of_the_year as (
    select distinct visits.person_pseudonym, years.year, 'total' as breakdown_code
    from {{ ref('fct_visits') }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    -- the visit's year equal to the year: a hash join (a day between the year's first and last
    -- is a range join: every visit compared with every year)
    inner join {{ indicator_years() }} as years on {{ year_of('visits.visit_date') }} = years.year
    where units.unit_type = 'oral_health'
        and visits.contact_type_code = 'R10'
),

clients as (
    {{ people_of_the_year('clients_of_the_year') }}
),

{{ municipal_indicator('oral_health_clients_per_1000', 'clients', 1000, grains=('year',)) }}
