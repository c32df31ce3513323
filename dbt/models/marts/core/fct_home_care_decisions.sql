{{ config(pre_hook="{{ record_rebuild(changed_stay_days(ref('stg_unified_record__home_care_decisions'), 'decision_id', ['service_type', 'unit_id', 'visits_per_week'])) }}") }}

-- depends_on: {{ ref('stg_unified_record__patients') }} (the pre-hook reads it)

-- Decisions on regular home care; home_municipality_code: where the person lived when it began
-- (an indicator measured on a day counts them where they lived that day: dim_person_residence).
select
    decisions.decision_id,
    patients.person_pseudonym,
    residences.municipality_code as home_municipality_code,
    decisions.service_type,
    decisions.unit_id,
    decisions.visits_per_week,
    decisions.start_date,
    decisions.end_date,
    greatest(decisions._published_at, patients._published_at,
             coalesce(residences._published_at, decisions._published_at)) as _published_at
from {{ ref('stg_unified_record__home_care_decisions') }} as decisions
inner join {{ ref('stg_unified_record__patients') }} as patients using (patient_id)
{{ residence_on('residences', 'patients.person_pseudonym', 'decisions.start_date') }}
where not decisions.is_deleted
