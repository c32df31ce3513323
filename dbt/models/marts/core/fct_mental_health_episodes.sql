{{ config(pre_hook="{{ record_rebuild(changed_stay_days(ref('stg_unified_record__mental_health_episodes'), 'episode_id', ['care_type_code', 'unit_id'])) }}") }}

-- depends_on: {{ ref('stg_unified_record__patients') }} (the pre-hook reads it)

-- Episodes of outpatient care of mental health and substance abuse services, one care type
-- each; home_municipality_code: where the person lived when it began (an indicator measured on
-- a day counts them where they lived that day: dim_person_residence). Their visits are in
-- fct_visits (units of type mental_health).
select
    episodes.episode_id,
    patients.person_pseudonym,
    residences.municipality_code as home_municipality_code,
    episodes.care_type_code,
    episodes.unit_id,
    episodes.start_date,
    episodes.end_date,
    greatest(episodes._published_at, patients._published_at,
             coalesce(residences._published_at, episodes._published_at)) as _published_at
from {{ ref('stg_unified_record__mental_health_episodes') }} as episodes
inner join {{ ref('stg_unified_record__patients') }} as patients using (patient_id)
{{ residence_on('residences', 'patients.person_pseudonym', 'episodes.start_date') }}
where not episodes.is_deleted
