{{ config(pre_hook="{{ record_rebuild(changed_stay_days(ref('stg_unified_record__adult_social_work_clients'), 'relationship_id', ['unit_id'])) }}") }}

-- depends_on: {{ ref('stg_unified_record__patients') }} (the pre-hook reads it)

-- Client relationships of adult social work (asiakkuudet); home_municipality_code: where the
-- person lived when it began (an indicator measured on a day counts them where they lived that
-- day: dim_person_residence).
select
    clients.relationship_id,
    patients.person_pseudonym,
    residences.municipality_code as home_municipality_code,
    clients.unit_id,
    clients.start_date,
    clients.end_date,
    greatest(clients._published_at, patients._published_at,
             coalesce(residences._published_at, clients._published_at)) as _published_at
from {{ ref('stg_unified_record__adult_social_work_clients') }} as clients
inner join {{ ref('stg_unified_record__patients') }} as patients using (patient_id)
{{ residence_on('residences', 'patients.person_pseudonym', 'clients.start_date') }}
where not clients.is_deleted
