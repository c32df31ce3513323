{#- Built by key (macros/history.sql): a build replaces the visits its changes name: visits
    added, changed or deleted in any record system, bookings, and every visit of a person who
    moved or whose patient row changed (changed_visit_keys). It records the first day those
    touch (changed_visit_days), from which the indicators compute. -#}
{{ config(
    materialized=incremental_or_table(),
    unique_key='visit_key',
    incremental_strategy='delete+insert',
    meta={'day_column': 'visit_date'},
    pre_hook=[
        "{{ record_rebuild(changed_visit_days()) }}",
        "{{ forget_changed_keys(changed_visit_keys()) }}",
    ],
) }}

-- depends_on: {{ ref('stg_unified_record__patients') }} (the pre-hook reads it)

-- Visits and contacts of every source in one conformed shape, the source kept: the unified
-- record system (soft-deleted rows left out), the legacy system of the municipalities before
-- their cut-over, and the purchased services' FHIR encounters. Codes are mapped to conformed
-- ones (seeds professional_groups, contact_types, legacy_units). A person known to both
-- systems has one pseudonym. A visit counts in the municipality where the person lived on its
-- day (dim_person_residence); a person the unified record system does not know, in the
-- municipality the visit's own system recorded.
-- Unified visits of a quarantined patient (invalid henkilötunnus) cannot be attributed to a
-- person and are left out here (the relationships test on stg_unified_record__visits counts
-- them); the visit indicators count them, unlinked, from int_visits_of_unidentified_patients.
with unified as (
    select
        'unified_record' as source_system,
        'U' || visits.visit_id as visit_key,
        visits.visit_id as source_visit_id,
        patients.person_pseudonym,
        cast(null as {{ sql_type('varchar') }}) as recorded_municipality_code,
        visits.unit_id,
        visits.appointment_id,
        visits.visit_start,
        visits.visit_date,
        visits.professional_group_source_code,
        visits.service_code,
        visits.specialty_code,
        visits.urgency,
        visits.contact_type as contact_type_source_code,
        appointments.booked_at,
        visits.professional_id,
        greatest(
            visits._published_at,
            patients._published_at,
            coalesce(appointments._published_at, visits._published_at)
        ) as _published_at
    -- the visits rebuilt, chosen before the joins (DuckDB would join all of them first)
    from (
        select * from {{ ref('stg_unified_record__visits') }}
        where not is_deleted and {{ rebuilt_keys('visit_id', changed_visit_keys('U')) }}
    ) as visits
    inner join {{ ref('stg_unified_record__patients') }} as patients
        on visits.patient_id = patients.patient_id
    left join {{ ref('stg_unified_record__appointments') }} as appointments
        on visits.appointment_id = appointments.appointment_id
),

legacy as (
    select
        'legacy_record' as source_system,
        'L' || legacy.legacy_visit_key as visit_key,
        null::bigint as source_visit_id,
        legacy.person_pseudonym,
        legacy.home_municipality_code as recorded_municipality_code,
        units.unit_id,
        null::bigint as appointment_id,
        legacy.visit_start,
        legacy.visit_date,
        legacy.professional_group_source_code,
        'T11' as service_code,
        cast(null as {{ sql_type('varchar') }}) as specialty_code,
        legacy.urgency,
        legacy.contact_type_source_code,
        null::timestamp as booked_at,
        cast(null as {{ sql_type('varchar') }}) as professional_id,  -- the legacy files have none
        legacy._published_at
    from {{ ref('stg_legacy_record__visits') }} as legacy
    left join {{ ref('legacy_units') }} as legacy_units
        on legacy.legacy_unit_code = legacy_units.legacy_unit_code
    left join {{ ref('stg_unified_record__units') }} as units
        on legacy_units.unit_code = units.unit_code
    where {{ rebuilt_keys('legacy.legacy_visit_key', changed_visit_keys('L')) }}
),

-- Visits bought from a private provider with service vouchers (FHIR Encounters).
purchased as (
    select
        'purchased_services' as source_system,
        'P' || encounters.encounter_id as visit_key,
        null::bigint as source_visit_id,
        patients.person_pseudonym,
        patients.municipality_code as recorded_municipality_code,
        null::bigint as unit_id,
        null::bigint as appointment_id,
        encounters.visit_start,
        cast(encounters.visit_start as date) as visit_date,
        'LK' as professional_group_source_code,  -- the provider's service voucher visits
        encounters.service_code,
        cast(null as {{ sql_type('varchar') }}) as specialty_code,
        'non_urgent' as urgency,
        encounters.class_code as contact_type_source_code,
        null::timestamp as booked_at,
        cast(null as {{ sql_type('varchar') }}) as professional_id,  -- the provider's own staff
        greatest(encounters._published_at, patients._published_at) as _published_at
    from (
        select * from {{ ref('stg_purchased_services__encounters') }}
        where status = 'finished' and {{ rebuilt_keys('encounter_id', changed_visit_keys('P')) }}
    ) as encounters
    inner join {{ ref('stg_purchased_services__patients') }} as patients
        on encounters.patient_ref = patients.patient_ref
    where patients.person_pseudonym is not null
),

unioned as (
    select * from unified
    union all
    select * from legacy
    union all
    select * from purchased
)

select
    unioned.source_system,
    unioned.visit_key,
    unioned.source_visit_id,
    unioned.person_pseudonym,
    coalesce(residences.municipality_code, unioned.recorded_municipality_code) as home_municipality_code,
    unioned.unit_id,
    unioned.appointment_id,
    unioned.visit_start,
    unioned.visit_date,
    unioned.service_code,
    unioned.specialty_code,
    unioned.urgency,
    unioned.booked_at,
    groups.professional_group_code,
    contact_types.contact_type_code,
    contact_types.is_remote,
    contact_types.is_digital,
    greatest(unioned._published_at, coalesce(residences._published_at, unioned._published_at)) as _published_at,
    -- last: added after the others (an incremental table gains it at the end)
    unioned.professional_id
from unioned
{{ residence_on('residences', 'unioned.person_pseudonym', 'unioned.visit_date') }}
left join {{ ref('professional_groups') }} as groups
    on groups.source_system = unioned.source_system
    and groups.source_code = unioned.professional_group_source_code
left join {{ ref('contact_types') }} as contact_types
    on contact_types.source_system = unioned.source_system
    and contact_types.source_code = unioned.contact_type_source_code
