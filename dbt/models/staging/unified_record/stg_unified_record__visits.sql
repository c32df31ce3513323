with source as (
    select * from {{ latest_load(source('unified_record', 'visits')) }}
)

select
    visit_id,
    patient_id,
    unit_id,
    appointment_id,
    visit_start,
    cast(visit_start as date) as visit_date,
    professional_group as professional_group_source_code,
    service_code,
    case urgency when 'kiireellinen' then 'urgent' when 'kiireeton' then 'non_urgent' end as urgency,
    contact_type,
    updated_at,
    _load_id
from source
