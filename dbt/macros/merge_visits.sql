{#- fct_visits in a daily build (its pre-hook): delete what the visits' sources changed since the
    table's newest unified row, so that the model adds them again as they are now, or not at all
    (a soft-deleted visit, a visit of a patient no longer known). Changed since then: a visit
    itself, its patient (a move changes the home municipality of every visit of theirs), or its
    appointment (the booking time). The legacy and purchased-services visits, a few per cent
    of the rows, are deleted and added again whole on every build: their units, patients and
    statuses then need no tracking. Rows published after the newest row are never missed; a
    change that left no row (a new patient without visits) is only looked at again. -#}
{% macro forget_changed_visits() -%}
    {%- set visits = ref('stg_unified_record__visits') -%}
    {%- set since -%}
        (select coalesce(max(_published_at), timestamptz '1900-01-01') from {{ this }}
         where source_system = 'unified_record')
    {%- endset -%}
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
