{{ config(tags=['every_indicator']) }}

-- Reconciliation of indicators: for every additive indicator (catalogue), period and
-- breakdown, the municipalities' numerators add up to the county's (before suppression).
with computed as (
    select computed.*
    from {{ ref('indicator_values_computed') }} as computed
    inner join {{ ref('indicator_definitions') }} as definitions using (indicator_id)
    where definitions.additive
),

checks as (
    select
        'indicator_additive' as check_name,
        county.indicator_id || ' ' || county.period_grain || ' ' || county.period_start || ' '
            || county.breakdown_code || ' ' || county.area_code as scope,
        county.numerator as expected,
        municipalities.numerator as actual
    from computed as county
    inner join (
        select indicator_id, period_grain, period_start, breakdown_code, sum(numerator) as numerator
        from computed where area_level = 'municipality' group by 1, 2, 3, 4
    ) as municipalities using (indicator_id, period_grain, period_start, breakdown_code)
    where county.area_level = 'county'
)

{{ reconciliation_result('checks') }}
