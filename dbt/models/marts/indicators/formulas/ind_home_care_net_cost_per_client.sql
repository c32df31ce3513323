-- home_care_net_cost_per_client: the ledger's net cost of home care (KOTIHOITO) in the year per
-- client of regular home care: residents of the county (on 31 December) who received a home-care
-- visit in the year or had a decision on regular home care in force on a day of it (the
-- catalogue's rule: received or in force).
with clients as (
    select decisions.person_pseudonym, years.year
    from {{ ref('fct_home_care_decisions') }} as decisions
    inner join {{ indicator_years() }} as years
        on decisions.start_date <= years.year_end
        and (decisions.end_date is null or decisions.end_date >= years.year_start)
    where decisions.service_type = 'regular'
    union all
    select visits.person_pseudonym, years.year
    from {{ ref('fct_home_care_visits') }} as visits
    -- the visit's year equal to the year: a hash join (a day between the year's first and last
    -- is a range join: every visit compared with every year)
    inner join {{ indicator_years() }} as years on {{ year_of('visits.visit_date') }} = years.year
),

{{ net_cost_per_client('home_care_net_cost_per_client', 'KOTIHOITO', 'clients') }}
