with source as (
    select * from {{ latest_load(source('unified_record', 'appointments')) }}
)

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
    updated_at,
    _load_id
from source
