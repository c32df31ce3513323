-- Visits with the conformed professional group and the patient's pseudonym and municipality of
-- residence. Visits of patients whose row was quarantined (invalid henkilötunnus) cannot be
-- attributed to a person or municipality and are left out; the test
-- stg_unified_record__visits.patient_id (relationships, warn) counts them.
with visits as (
    select * from {{ ref('stg_unified_record__visits') }}
),

patients as (
    select * from {{ ref('stg_unified_record__patients') }}
),

groups as (
    select * from {{ ref('professional_groups') }} where source_system = 'unified_record'
)

select
    visits.visit_id,
    'unified_record' as source_system,
    patients.person_pseudonym,
    patients.municipality_code as home_municipality_code,
    visits.unit_id,
    visits.appointment_id,
    visits.visit_start,
    visits.visit_date,
    groups.professional_group_code,
    visits.service_code,
    visits.urgency,
    visits.contact_type
from visits
inner join patients on visits.patient_id = patients.patient_id
left join groups on visits.professional_group_source_code = groups.source_code
