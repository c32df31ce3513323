-- social_assistance_recipients_per_1000: residents granted supplementary or preventive social
-- assistance for a month of the year, per 1 000 residents, by type of assistance and in total (a
-- person who received both counts once in the total), where they lived on 31 December.
with granted as (
    select distinct person_pseudonym, {{ year_of('benefit_month') }} as year,
           assistance_type_code as breakdown_code
    from {{ ref('fct_social_assistance_decisions') }}
    where is_granted and amount_eur > 0
        and benefit_month >= {{ indicator_periods_from() }}
),

recipients_by_type as (
    select person_pseudonym, year, breakdown_code from granted
    union all
    select distinct person_pseudonym, year, 'total' from granted
),

recipients as (
    {{ people_of_the_year('recipients_by_type') }}
),

{{ municipal_indicator('social_assistance_recipients_per_1000', 'recipients', 1000,
                       breakdown='assistance_type', grains=('year',)) }}
