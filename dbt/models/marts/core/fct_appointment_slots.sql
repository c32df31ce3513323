{#- Built by day (macros/history.sql): a build replaces the slots from the first day its changes
    touch (a slot's day, or the day it was opened or booked on, whichever is first). -#}
{{ config(
    materialized=incremental_or_table(),
    meta={'day_column': 'slot_date'},
    pre_hook=[
        "{{ record_rebuild(changed_slot_days()) }}",
        "{{ forget_rebuilt_days() }}",
    ],
) }}

-- depends_on: {{ ref('stg_unified_record__appointments') }} (the pre-hook reads it)
select * from {{ ref('int_appointment_slots_classified') }}
where {{ rebuilt_days('slot_date') }}
