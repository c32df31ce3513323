{{ config(pre_hook="{{ record_rebuild(changed_waiting_days()) }}") }}

-- depends_on: {{ ref('stg_unified_record__patients') }} (the pre-hook reads it)

-- Specialist care's waiting list (hoitojono): from when a patient was placed on it to the
-- treatment (still waiting when treated_date is null). home_municipality_code: where the patient
-- lived when placed; an indicator measured on a day counts them where they lived that day.
select
    entries.entry_id,
    patients.person_pseudonym,
    residences.municipality_code as home_municipality_code,
    entries.referral_id,
    entries.specialty_code,
    cast(entries.placed_at as date) as placed_date,
    cast(entries.treated_at as date) as treated_date,
    greatest(entries._published_at, patients._published_at,
             coalesce(residences._published_at, entries._published_at)) as _published_at
from {{ ref('stg_unified_record__waiting_list_entries') }} as entries
inner join {{ ref('stg_unified_record__patients') }} as patients using (patient_id)
{{ residence_on('residences', 'patients.person_pseudonym', 'cast(entries.placed_at as date)') }}
where not entries.is_deleted
