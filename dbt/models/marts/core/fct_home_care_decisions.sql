select
    decisions.decision_id,
    patients.person_pseudonym,
    patients.home_municipality_code,
    decisions.unit_id,
    decisions.service_type,
    decisions.start_date,
    decisions.end_date,
    decisions.visits_per_week
from {{ ref('stg_unified_record__home_care_decisions') }} as decisions
inner join {{ ref('int_patients_attributed') }} as patients using (patient_id)
where not decisions.is_deleted
