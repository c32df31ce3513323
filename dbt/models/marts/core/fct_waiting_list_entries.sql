-- Specialist care's waiting list (hoitojono): from when a patient was placed on it to the
-- treatment (still waiting when treated_date is null).
select
    entries.entry_id,
    patients.person_pseudonym,
    patients.home_municipality_code,
    entries.referral_id,
    entries.specialty_code,
    cast(entries.placed_at as date) as placed_date,
    cast(entries.treated_at as date) as treated_date
from {{ ref('stg_unified_record__waiting_list_entries') }} as entries
inner join {{ ref('int_patients_attributed') }} as patients using (patient_id)
where not entries.is_deleted
