{{ config(materialized=incremental_or_table(), unique_key='appointment_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        appointment_id,
        unit_id,
        professional_group as professional_group_source_code,
        slot_start,
        created_at,
        booked_at,
        patient_id,
        case urgency when 'kiireellinen' then 'urgent' when 'kiireeton' then 'non_urgent' end as urgency,
        status,
        coalesce(is_deleted, false) as is_deleted,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'appointments')) }}
)

{{ latest_versions('changes', 'appointment_id', 'updated_at') }}
