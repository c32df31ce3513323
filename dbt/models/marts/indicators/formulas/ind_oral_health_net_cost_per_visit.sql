-- oral_health_net_cost_per_visit: the ledger's net cost of oral health care (SUUN_TH) in the
-- year per oral health visit (a dental clinic's reception, R10) of the county's residents (the
-- municipality where the person lived on the visit's day, organised by the county that day).
with visits as (
    select visits.visit_date, visits.home_municipality_code
    from {{ visits_counted() }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    where units.unit_type = 'oral_health'
        and visits.contact_type_code = 'R10'
),

{{ net_cost_per_visit('oral_health_net_cost_per_visit', 'SUUN_TH', 'visits') }}
