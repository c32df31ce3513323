-- Every indicator formula's values, before small cells are suppressed (internal: the
-- reconciliation checks add them up). Add a new formula model to this list. Stored, so that
-- the formulas run once for its readers. A build replaces the years from the first year its
-- facts' changes touched (macros/history.sql: the pre-hook records it, the formulas compute
-- only those periods); a whole build, everything. An indicator that reads a source the build
-- holds back keeps its values as they were (history.sql: indicators_kept_back), and the
-- periods it kept are computed again by the next build that has the source.
{{ config(
    tags=['every_indicator'],
    materialized=incremental_or_table(),
    pre_hook=[
        "{{ record_indicator_periods() }}",
        "{{ forget_computed_periods() }}",
        "{{ record_kept_back_periods() }}",
    ],
) }}
{% set formulas = [
    'ind_adult_social_work_clients_per_1000',
    'ind_budget_deviation_pct',
    'ind_child_welfare_care_days_per_1000_children',
    'ind_digital_contacts_share',
    'ind_disability_housing_client_days_per_1000',
    'ind_disability_services_clients_per_1000',
    'ind_disability_services_net_cost_per_client',
    'ind_home_care_75_share',
    'ind_home_care_net_cost_per_client',
    'ind_mental_health_net_cost_per_client',
    'ind_mental_health_outpatient_visits_per_1000',
    'ind_mental_health_substance_abuse_clients_per_1000',
    'ind_multi_service_clients_share',
    'ind_net_cost_per_resident',
    'ind_oral_health_clients_per_1000',
    'ind_oral_health_net_cost_per_visit',
    'ind_oral_health_visits_per_1000',
    'ind_pc_emergency_returns_48h_share',
    'ind_pc_emergency_visits_per_1000',
    'ind_pc_net_cost_per_client',
    'ind_pc_net_cost_per_visit',
    'ind_pc_nurse_visits_per_1000',
    'ind_pc_physician_continuity_index',
    'ind_pc_physician_visits_per_1000',
    'ind_pc_physician_waits_over_7_days_share',
    'ind_population_aged_0_17_share',
    'ind_population_aged_75_plus_share',
    'ind_population_residents',
    'ind_purchased_services_share_of_costs',
    'ind_round_the_clock_care_75_share',
    'ind_sick_leave_days_per_person_year',
    'ind_social_assistance_euros_per_recipient',
    'ind_social_assistance_recipients_per_1000',
    'ind_specialist_emergency_visits_per_1000',
    'ind_specialist_inpatient_episodes_per_1000',
    'ind_specialist_waits_over_90_days_share',
    'ind_t3_median_days',
] %}
{%- set kept = indicators_kept_back() %}
{% for formula in formulas if formula[4:] not in kept %}
select * from {{ ref(formula) }} where period_start >= {{ indicator_periods_from() }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
