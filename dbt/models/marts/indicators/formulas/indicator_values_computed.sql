-- Every indicator formula's values, before small cells are suppressed (internal: the
-- reconciliation checks add them up). Add a new formula model to this list.
{% set formulas = [
    'ind_pc_physician_visits_per_1000',
    'ind_t3_median_days',
    'ind_net_cost_per_resident',
] %}
{% for formula in formulas %}
select * from {{ ref(formula) }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
