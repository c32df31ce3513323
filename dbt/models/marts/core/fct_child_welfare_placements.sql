select
    placements.placement_id,
    patients.person_pseudonym,
    patients.home_municipality_code,
    placements.unit_id,
    placements.placement_type,
    placements.start_date,
    placements.end_date
from {{ ref('stg_unified_record__child_welfare_placements') }} as placements
inner join {{ ref('int_patients_attributed') }} as patients using (patient_id)
where not placements.is_deleted
