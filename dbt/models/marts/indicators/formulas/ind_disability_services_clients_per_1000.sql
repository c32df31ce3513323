-- disability_services_clients_per_1000: residents who had a decision on disability services in
-- force on a day of the year, per 1 000 residents, by service type and in total (a person with
-- several service types counts once in the total), where they lived on 31 December.
with decisions_in_force as (
    select distinct decisions.person_pseudonym, years.year, decisions.service_type_code as breakdown_code
    from {{ ref('fct_disability_service_decisions') }} as decisions
    inner join {{ indicator_years() }} as years
        on decisions.start_date <= years.year_end
        and (decisions.end_date is null or decisions.end_date >= years.year_start)
),

clients_by_type as (
    select person_pseudonym, year, breakdown_code from decisions_in_force
    union all
    select distinct person_pseudonym, year, 'total' from decisions_in_force
),

clients as (
    {{ people_of_the_year('clients_by_type') }}
),

{{ municipal_indicator('disability_services_clients_per_1000', 'clients', 1000,
                       breakdown='service_type', grains=('year',)) }}
