{{ config(
    materialized='table',
    pre_hook="{{ record_rebuild(changed_unidentified_episode_days()) }}",
) }}

-- The unified record system's inpatient episodes of its patients whose henkilötunnus is
-- invalid (int_patients_unidentified), as int_visits_of_unidentified_patients is for visits:
-- they count in the municipality where the patient lived on the day of admission, linked to
-- no one (no person column; marts.fct_inpatient_episodes holds identified people's). The
-- episode indicator adds these rows to the fact's. A table: small, rebuilt whole; its
-- pre-hook records the first day that changed.
select
    episodes.episode_id,
    residences.municipality_code as home_municipality_code,
    episodes.unit_id,
    episodes.specialty_code,
    episodes.admitted_at,
    cast(episodes.admitted_at as date) as admitted_date,
    episodes.admission_type,
    greatest(episodes._published_at, patients._published_at) as _published_at
from {{ ref('stg_unified_record__inpatient_episodes') }} as episodes
inner join {{ ref('int_patients_unidentified') }} as patients on patients.patient_id = episodes.patient_id
left join {{ ref('int_unidentified_patient_residences') }} as residences
    on residences.patient_id = episodes.patient_id
    and cast(episodes.admitted_at as date) between residences.valid_from and residences.valid_to
where not episodes.is_deleted
