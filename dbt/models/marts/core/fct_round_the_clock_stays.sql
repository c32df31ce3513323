select
    stays.stay_id,
    patients.person_pseudonym,
    patients.home_municipality_code,
    stays.unit_id,
    stays.care_type,
    stays.start_date,
    stays.end_date
from {{ ref('stg_unified_record__round_the_clock_stays') }} as stays
inner join {{ ref('int_patients_attributed') }} as patients using (patient_id)
where not stays.is_deleted
