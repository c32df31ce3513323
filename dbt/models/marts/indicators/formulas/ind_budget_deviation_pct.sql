-- budget_deviation_pct: how far the net cost ran from the budget, % of the budget (positive:
-- over budget), by service class and month.
with amounts as (
    select period_start, service_class_code, sum(amount) as numerator, 0 as denominator
    from {{ ref('fct_ledger_postings') }}
    group by 1, 2
    union all
    select month_start, service_class_code, -sum(net_budget), sum(net_budget)
    from {{ ref('fct_budget') }}
    group by 1, 2
),

{{ county_indicator('budget_deviation_pct', 'amounts', '100.0 * numerator / denominator') }}
