-- Inpatient episodes (hoitojaksot) of specialist care, attributed to the patient's home
-- municipality; soft-deleted rows and patients without a valid henkilötunnus left out.
select
    episodes.episode_id,
    patients.person_pseudonym,
    patients.home_municipality_code,
    episodes.unit_id,
    episodes.specialty_code,
    episodes.admitted_at,
    cast(episodes.admitted_at as date) as admitted_date,
    episodes.discharged_at,
    {{ days_between('episodes.admitted_at', 'episodes.discharged_at') }} as length_of_stay_days,
    episodes.admission_type
from {{ ref('stg_unified_record__inpatient_episodes') }} as episodes
inner join {{ ref('int_patients_attributed') }} as patients using (patient_id)
where not episodes.is_deleted
