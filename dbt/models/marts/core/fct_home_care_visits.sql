{#- Merges a daily build's changes (macros/merge_changes.sql). -#}
{{ config(
    materialized=merged_or_rebuilt(),
    meta={'rebuilt_unless_merging': true},
    pre_hook="{{ forget_changed_rows('home_care_visit_id',
                 ref('stg_unified_record__home_care_visits'), attributed_by='patient_id')
                 if is_incremental() else '' }}",
) }}

select
    visits.home_care_visit_id,
    patients.person_pseudonym,
    patients.home_municipality_code,
    visits.unit_id,
    visits.decision_id,
    visits.visit_start,
    visits.visit_date,
    visits.duration_min,
    greatest(visits._published_at, patients._published_at) as _published_at
from (
    select * from {{ ref('stg_unified_record__home_care_visits') }}
    where not is_deleted
    {%- if is_incremental() %}
        -- the visits the pre-hook deleted, and any the table never had
        and home_care_visit_id not in (select home_care_visit_id from {{ this }})
    {%- endif %}
) as visits
inner join {{ ref('int_patients_attributed') }} as patients using (patient_id)
