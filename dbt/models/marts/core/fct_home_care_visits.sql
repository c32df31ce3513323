select
    visits.home_care_visit_id,
    patients.person_pseudonym,
    patients.home_municipality_code,
    visits.unit_id,
    visits.decision_id,
    visits.visit_start,
    visits.visit_date,
    visits.duration_min
from {{ ref('stg_unified_record__home_care_visits') }} as visits
inner join {{ ref('int_patients_attributed') }} as patients using (patient_id)
where not visits.is_deleted
