-- disability_services_net_cost_per_client: the ledger's net cost of disability services
-- (VAMMAISPALVELUT) in the year per client: residents of the county (on 31 December) who had a
-- decision on disability services in force on a day of the year.
with clients as (
    select distinct decisions.person_pseudonym, years.year
    from {{ ref('fct_disability_service_decisions') }} as decisions
    inner join {{ indicator_years() }} as years
        on decisions.start_date <= years.year_end
        and (decisions.end_date is null or decisions.end_date >= years.year_start)
),

{{ net_cost_per_client('disability_services_net_cost_per_client', 'VAMMAISPALVELUT', 'clients') }}
