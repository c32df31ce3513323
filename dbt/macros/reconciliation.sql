{#- The shape of every reconciliation model (dq.reconciliation_*): `checks` has check_name,
    scope, expected and actual; a check passes when they agree to half a cent (and to a
    relative 1e-9 for large sums). -#}
{% macro reconciliation_result(checks) -%}
select
    check_name,
    scope,
    expected,
    actual,
    actual - expected as difference,
    abs(actual - expected) <= 0.005 + 1e-9 * abs(expected) as passed,
    cast('{{ pipeline_run_id() }}' as {{ sql_type('varchar') }}) as run_id
from {{ checks }}
{%- endmacro %}

{#- The pipeline run that builds the model (SOTELAKE_RUN_ID, Airflow's run id), read when the
    model runs, not when dbt parses it: dbt parses again a file whose parse read an environment
    variable that has changed since, and the run id changes every run. -#}
{% macro pipeline_run_id() -%}
    {{ return(env_var('SOTELAKE_RUN_ID', 'manual') if execute else 'manual') }}
{%- endmacro %}
