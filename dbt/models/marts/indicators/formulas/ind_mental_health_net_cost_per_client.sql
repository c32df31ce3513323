-- mental_health_net_cost_per_client: the ledger's net cost of mental health and substance
-- abuse services (MIELENTERVEYS_PAIHDE) in the year per client: residents of the county (on 31
-- December) who had an episode of their outpatient care in force on a day of the year.
with clients as (
    select distinct episodes.person_pseudonym, years.year
    from {{ ref('fct_mental_health_episodes') }} as episodes
    inner join {{ indicator_years() }} as years
        on episodes.start_date <= years.year_end
        and (episodes.end_date is null or episodes.end_date >= years.year_start)
),

{{ net_cost_per_client('mental_health_net_cost_per_client', 'MIELENTERVEYS_PAIHDE', 'clients') }}
