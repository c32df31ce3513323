-- social_assistance_euros_per_recipient: euros of supplementary and preventive social assistance
-- granted for the months of the year per recipient, where the recipients lived on 31 December.
with granted as (
    select person_pseudonym, {{ year_of('benefit_month') }} as year, 'total' as breakdown_code,
           sum(amount_eur) as euros
    from {{ ref('fct_social_assistance_decisions') }}
    where is_granted and amount_eur > 0
        and benefit_month >= {{ indicator_periods_from() }}
    group by 1, 2, 3
),

recipients as (
    {{ people_of_the_year('granted', measure='euros') }}
),

{{ municipal_indicator('social_assistance_euros_per_recipient', 'recipients', 1,
                       denominator='events', grains=('year',)) }}
