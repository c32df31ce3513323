-- pc_net_cost_per_visit: the ledger's net cost of primary care outpatient services (PTH_AVO) in
-- the year per visit or contact at a health station (every professional group, in person and
-- remote, of every record system, people with an invalid henkilötunnus too) of the county's
-- residents (where they lived on the visit's day). Only health stations' visits: emergency,
-- hospital and other units' visits have costs of their own service classes.
with visits as (
    select visits.visit_date, visits.home_municipality_code
    from {{ visits_counted() }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    where units.unit_type = 'health_station'
),

{{ net_cost_per_visit('pc_net_cost_per_visit', 'PTH_AVO', 'visits') }}
