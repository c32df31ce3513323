-- purchased_services_share_of_costs: purchased services (ostopalvelut and palvelusetelit), % of
-- the gross operating costs, by service class.
with amounts as (
    select
        period_start,
        service_class_code,
        coalesce(sum(amount) filter (where is_purchased), 0) as numerator,
        sum(amount) as denominator
    from {{ ref('fct_ledger_postings') }}
    where is_cost
    group by 1, 2
),

{{ county_indicator('purchased_services_share_of_costs', 'amounts', '100.0 * numerator / denominator') }}
