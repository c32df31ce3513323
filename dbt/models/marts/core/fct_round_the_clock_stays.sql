{{ config(pre_hook="{{ record_rebuild(changed_stay_days(ref('stg_unified_record__round_the_clock_stays'), 'stay_id', ['care_type', 'unit_id'])) }}") }}

-- depends_on: {{ ref('stg_unified_record__patients') }} (the pre-hook reads it)

-- Round-the-clock care stays; home_municipality_code: where the person lived when it began
-- (an indicator measured on a day counts them where they lived that day: dim_person_residence).
select
    stays.stay_id,
    patients.person_pseudonym,
    residences.municipality_code as home_municipality_code,
    stays.care_type,
    stays.unit_id,
    stays.start_date,
    stays.end_date,
    greatest(stays._published_at, patients._published_at,
             coalesce(residences._published_at, stays._published_at)) as _published_at
from {{ ref('stg_unified_record__round_the_clock_stays') }} as stays
inner join {{ ref('stg_unified_record__patients') }} as patients using (patient_id)
{{ residence_on('residences', 'patients.person_pseudonym', 'stays.start_date') }}
where not stays.is_deleted
