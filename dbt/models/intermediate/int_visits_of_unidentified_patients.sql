{{ config(
    materialized='table',
    pre_hook="{{ record_rebuild(changed_unidentified_visit_days()) }}",
) }}

-- The unified record system's visits of its patients whose henkilötunnus is invalid
-- (int_patients_unidentified): the identifier is what is wrong, not the visit, so the visit
-- counts in the aggregates of the municipality where the patient lived on its day (the record
-- system's residence history, int_unidentified_patient_residences, as for everyone). No
-- person column: they are not linked to anyone, in this system or another (marts.fct_visits
-- holds the visits of identified people). The visit-count indicators add these rows to fct_visits'.
-- A table: small, rebuilt whole; its pre-hook records the first day that changed, so that the
-- indicators recompute from it in a daily build.
select
    'unified_record' as source_system,
    'U' || visits.visit_id as visit_key,
    residences.municipality_code as home_municipality_code,
    visits.unit_id,
    visits.visit_start,
    visits.visit_date,
    visits.service_code,
    visits.urgency,
    groups.professional_group_code,
    contact_types.contact_type_code,
    contact_types.is_remote,
    contact_types.is_digital,
    greatest(visits._published_at, patients._published_at) as _published_at
from {{ ref('stg_unified_record__visits') }} as visits
inner join {{ ref('int_patients_unidentified') }} as patients on patients.patient_id = visits.patient_id
left join {{ ref('int_unidentified_patient_residences') }} as residences
    on residences.patient_id = visits.patient_id
    and visits.visit_date between residences.valid_from and residences.valid_to
left join {{ ref('professional_groups') }} as groups
    on groups.source_system = 'unified_record'
    and groups.source_code = visits.professional_group_source_code
left join {{ ref('contact_types') }} as contact_types
    on contact_types.source_system = 'unified_record'
    and contact_types.source_code = visits.contact_type
where not visits.is_deleted
