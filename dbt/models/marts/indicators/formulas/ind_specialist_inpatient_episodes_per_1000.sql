-- specialist_inpatient_episodes_per_1000: inpatient episodes of specialist care that began in
-- the period, per 1 000 residents: identified people's (fct_inpatient_episodes) and those of
-- patients whose henkilötunnus is invalid, at their municipality, linked to no one.
with episodes as (
    select home_municipality_code, admitted_date from {{ ref('fct_inpatient_episodes') }}
    union all
    select home_municipality_code, admitted_date
    from {{ ref('int_inpatient_episodes_of_unidentified_patients') }}
),

events as (
    select
        home_municipality_code as municipality_code,
        cast(date_trunc('month', admitted_date) as date) as period_start,
        'total' as breakdown_code,
        count(*) as numerator
    from episodes
    group by 1, 2, 3
),

{{ municipal_indicator('specialist_inpatient_episodes_per_1000', 'events', 1000) }}
