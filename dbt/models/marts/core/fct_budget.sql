{{ config(pre_hook="{{ record_rebuild(changed_rows(ref('stg_finance__budget_lines'), 'month_start')) }}") }}

-- The net budget by cost centre and month (a budget line's month is part of its key: a change
-- touches its own month)
select
    budget.month_start,
    budget.cost_centre,
    mapping.service_class_code,
    budget.net_budget,
    budget._published_at
from {{ ref('stg_finance__budget_lines') }} as budget
left join {{ ref('stg_finance__cost_centres') }} as mapping using (cost_centre)
