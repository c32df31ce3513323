{{ config(materialized=incremental_or_table(), unique_key='visit_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        visit_id,
        patient_id,
        unit_id,
        appointment_id,
        visit_start,
        cast(visit_start as date) as visit_date,
        professional_group as professional_group_source_code,
        service_code,
        specialty as specialty_code,
        case urgency when 'kiireellinen' then 'urgent' when 'kiireeton' then 'non_urgent' end as urgency,
        contact_type,
        professional_id,
        coalesce(is_deleted, false) as is_deleted,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'visits')) }}
)

{{ latest_versions('changes', 'visit_id', 'updated_at') }}
