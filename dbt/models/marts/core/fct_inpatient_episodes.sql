{{ config(pre_hook="{{ record_rebuild(changed_episode_days()) }}") }}

-- depends_on: {{ ref('stg_unified_record__patients') }} (the pre-hook reads it)

-- Inpatient episodes (hoitojaksot) of specialist care, in the municipality where the patient
-- lived on the day of admission; soft-deleted rows and patients without a valid henkilötunnus
-- left out.
select
    episodes.episode_id,
    patients.person_pseudonym,
    residences.municipality_code as home_municipality_code,
    episodes.unit_id,
    episodes.specialty_code,
    episodes.admitted_at,
    cast(episodes.admitted_at as date) as admitted_date,
    episodes.discharged_at,
    {{ days_between('episodes.admitted_at', 'episodes.discharged_at') }} as length_of_stay_days,
    episodes.admission_type,
    greatest(episodes._published_at, patients._published_at,
             coalesce(residences._published_at, episodes._published_at)) as _published_at
from {{ ref('stg_unified_record__inpatient_episodes') }} as episodes
inner join {{ ref('stg_unified_record__patients') }} as patients using (patient_id)
{{ residence_on('residences', 'patients.person_pseudonym', 'cast(episodes.admitted_at as date)') }}
where not episodes.is_deleted
