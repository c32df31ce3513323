{{ config(pre_hook="{{ record_rebuild(changed_stay_days(ref('stg_unified_record__disability_service_decisions'), 'decision_id', ['service_type_code', 'unit_id'])) }}") }}

-- depends_on: {{ ref('stg_unified_record__patients') }} (the pre-hook reads it)

-- Decisions on disability services, one service type each; home_municipality_code: where the
-- person lived when it began (an indicator measured on a day counts them where they lived that
-- day: dim_person_residence).
select
    decisions.decision_id,
    patients.person_pseudonym,
    residences.municipality_code as home_municipality_code,
    decisions.service_type_code,
    decisions.unit_id,
    decisions.start_date,
    decisions.end_date,
    greatest(decisions._published_at, patients._published_at,
             coalesce(residences._published_at, decisions._published_at)) as _published_at
from {{ ref('stg_unified_record__disability_service_decisions') }} as decisions
inner join {{ ref('stg_unified_record__patients') }} as patients using (patient_id)
{{ residence_on('residences', 'patients.person_pseudonym', 'decisions.start_date') }}
where not decisions.is_deleted
