{#- The marts that merge a day's changes instead of being rebuilt (fct_visits,
    fct_home_care_visits, fct_appointment_slots). In a daily build (SOTELAKE_MERGE_CHANGES=1,
    set by the pipeline's build of what the day changed) such a mart is incremental: its
    pre-hook deletes the rows whose source rows changed since the mart's newest row, and the
    model adds every row the mart lacks (append, dbt_project.yml). Any other build, and the
    spark target (plain Parquet tables cannot delete), rebuild it whole: a changed project is
    a whole build, so no increment meets new columns. A change that left no row (a new patient
    without visits) is only looked at again. -#}

{% macro merged_or_rebuilt() -%}
    {{ return(incremental_or_table() if env_var('SOTELAKE_MERGE_CHANGES', '0') == '1'
              else 'table') }}
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
