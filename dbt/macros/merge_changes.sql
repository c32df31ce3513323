{#- The marts that merge a day's changes instead of being rebuilt (fct_visits,
    fct_home_care_visits, fct_appointment_slots, and the quality records: macros/dq_changes.sql).
    Such a mart is incremental (materialized=merged_or_rebuilt(), meta rebuilt_unless_merging);
    in a daily build (SOTELAKE_MERGE_CHANGES=1, set by the pipeline's build of what the day
    changed) its pre-hook deletes the rows whose source rows changed since the mart's newest row,
    and the model adds every row the mart lacks (append, dbt_project.yml). Any other build
    rebuilds it whole, as a full refresh (should_full_refresh below), and Spark always does
    (plain Parquet tables cannot delete): a changed project is a whole build, so no increment
    meets new columns. The choice is made as the model runs, not as dbt parses, so the first
    daily build after a whole build does not parse the project again (a materialization chosen
    by an environment variable is part of the parse: 1.6 s at 650 000 residents). A change that
    left no row (a new patient without visits) is only looked at again. -#}

{% macro merged_or_rebuilt() -%}
    {{ return(incremental_or_table()) }}
{%- endmacro %}

{#- dbt's should_full_refresh (--full-refresh, or the model's full_refresh config), and a mart
    that merges only in a daily build (meta rebuilt_unless_merging) is rebuilt in any other. -#}
{% macro should_full_refresh() -%}
    {%- set full_refresh = config.get('full_refresh') -%}
    {%- if full_refresh is none -%}
        {%- set full_refresh = flags.FULL_REFRESH -%}
    {%- endif -%}
    {%- if not full_refresh and (config.get('meta') or {}).get('rebuilt_unless_merging') -%}
        {%- set full_refresh = env_var('SOTELAKE_MERGE_CHANGES', '0') != '1' -%}
    {%- endif -%}
    {{ return(full_refresh) }}
{%- endmacro %}

{#- The mart's newest _published_at (of the rows that match ``where``): rows published after it
    are the changes it has not merged. -#}
{% macro newest_published(where='true') -%}
    (select coalesce(max(_published_at), timestamptz '1900-01-01') from {{ this }}
     where {{ where }})
{%- endmacro %}

{#- The pre-hook of a mart whose rows come one each from ``rows`` (a staging model with the
    mart's key ``key``): delete the rows that changed, so that the model adds them again as
    they are now, or not at all (a soft-deleted row). ``attributed_by``: the column of ``rows``
    naming the patient a row is attributed to, when it has one (a move changes the home
    municipality of all their rows). -#}
{% macro forget_changed_rows(key, rows, attributed_by=none) -%}
    {%- set since = newest_published() -%}
    delete from {{ this }}
    where {{ key }} in (
        select {{ key }} from {{ rows }} where _published_at > {{ since }}
        {%- if attributed_by %}
        union
        select {{ key }} from {{ rows }} where {{ attributed_by }} in (
            select patient_id from {{ ref('int_patients_attributed') }}
            where _published_at > {{ since }})
        {%- endif %}
    )
{%- endmacro %}

{#- fct_visits' pre-hook: a visit changed when the visit itself, its patient or its appointment
    (the booking time) did, since the table's newest unified row. The legacy and
    purchased-services visits, a few per cent of the rows, are deleted and added again whole on
    every build: their units, patients and statuses then need no tracking. -#}
{% macro forget_changed_visits() -%}
    {%- set visits = ref('stg_unified_record__visits') -%}
    {%- set since = newest_published("source_system = 'unified_record'") -%}
    delete from {{ this }}
    where source_system <> 'unified_record'
       or source_visit_id in (
           select visit_id from {{ visits }} where _published_at > {{ since }}
           union
           select visit_id from {{ visits }} where patient_id in (
               select patient_id from {{ ref('int_patients_attributed') }}
               where _published_at > {{ since }})
           union
           select visit_id from {{ visits }} where appointment_id in (
               select appointment_id from {{ ref('stg_unified_record__appointments') }}
               where _published_at > {{ since }})
       )
{%- endmacro %}
