-- pc_net_cost_per_client: the ledger's net cost of primary care outpatient services (PTH_AVO) in
-- the year per client: residents of the county (on 31 December) who had a visit or contact at a
-- health station in the year (every professional group, in person and remote, either record
-- system). Only health stations' visits make a client.
with clients as (
    select distinct visits.person_pseudonym, {{ year_of('visits.visit_date') }} as year
    from {{ ref('fct_visits') }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    where units.unit_type = 'health_station'
        and visits.visit_date >= {{ indicator_periods_from() }}
),

{{ net_cost_per_client('pc_net_cost_per_client', 'PTH_AVO', 'clients') }}
