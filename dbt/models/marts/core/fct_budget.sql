select
    budget.month_start,
    budget.cost_centre,
    mapping.service_class_code,
    budget.net_budget
from {{ ref('stg_finance__budget_lines') }} as budget
left join {{ ref('stg_finance__cost_centres') }} as mapping using (cost_centre)
