-- The appointment calendar (soft-deleted slots left out) with the conformed professional group.
with slots as (
    select * from {{ ref('stg_unified_record__appointments') }} where not is_deleted
),

groups as (
    select * from {{ ref('professional_groups') }} where source_system = 'unified_record'
)

select
    slots.appointment_id,
    'unified_record' as source_system,
    slots.unit_id,
    groups.professional_group_code,
    slots.slot_start,
    cast(slots.slot_start as date) as slot_date,
    slots.created_at,
    slots.booked_at,
    slots.status,
    slots._published_at
from slots
left join groups on slots.professional_group_source_code = groups.source_code
