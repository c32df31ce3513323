{#- Built by key, as fct_visits (macros/history.sql). -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='home_care_visit_id',
    incremental_strategy='delete+insert',
    meta={'day_column': 'visit_date'},
    pre_hook=[
        "{{ record_rebuild(changed_home_care_visit_days()) }}",
        "{{ forget_changed_keys(changed_home_care_visit_keys()) }}",
    ],
) }}

-- depends_on: {{ ref('stg_unified_record__patients') }} (the pre-hook reads it)

-- Visits of regular home care, in the municipality where the client lived on the visit's day.
select
    visits.home_care_visit_id,
    patients.person_pseudonym,
    residences.municipality_code as home_municipality_code,
    visits.unit_id,
    visits.decision_id,
    visits.visit_start,
    visits.visit_date,
    visits.duration_min,
    greatest(visits._published_at, patients._published_at,
             coalesce(residences._published_at, visits._published_at)) as _published_at
-- the visits rebuilt, chosen before the joins (DuckDB would join all of them first)
from (
    select * from {{ ref('stg_unified_record__home_care_visits') }}
    where not is_deleted and {{ rebuilt_keys('home_care_visit_id', changed_home_care_visit_keys()) }}
) as visits
inner join {{ ref('stg_unified_record__patients') }} as patients using (patient_id)
{{ residence_on('residences', 'patients.person_pseudonym', 'visits.visit_date') }}
