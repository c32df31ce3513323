{{ config(pre_hook="{{ record_rebuild(changed_stay_days(ref('stg_unified_record__child_welfare_placements'), 'placement_id', ['placement_type', 'unit_id'])) }}") }}

-- depends_on: {{ ref('stg_unified_record__patients') }} (the pre-hook reads it)

-- Child-welfare placements outside the home; home_municipality_code: where the person lived when it began
-- (an indicator measured on a day counts them where they lived that day: dim_person_residence).
select
    placements.placement_id,
    patients.person_pseudonym,
    residences.municipality_code as home_municipality_code,
    placements.placement_type,
    placements.unit_id,
    placements.start_date,
    placements.end_date,
    greatest(placements._published_at, patients._published_at,
             coalesce(residences._published_at, placements._published_at)) as _published_at
from {{ ref('stg_unified_record__child_welfare_placements') }} as placements
inner join {{ ref('stg_unified_record__patients') }} as patients using (patient_id)
{{ residence_on('residences', 'patients.person_pseudonym', 'placements.start_date') }}
where not placements.is_deleted
