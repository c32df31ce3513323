select * from {{ ref('int_appointment_slots_classified') }}
