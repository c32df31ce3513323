{#- Merges a daily build's changes (macros/merge_changes.sql). -#}
{{ config(
    materialized=merged_or_rebuilt(),
    meta={'rebuilt_unless_merging': true},
    pre_hook="{{ forget_changed_rows('appointment_id', ref('stg_unified_record__appointments'))
                 if is_incremental() else '' }}",
) }}

-- depends_on: {{ ref('stg_unified_record__appointments') }} (the pre-hook reads it)
select * from {{ ref('int_appointment_slots_classified') }}
{%- if is_incremental() %}
-- the slots the pre-hook deleted, and any the table never had
where appointment_id not in (select appointment_id from {{ this }})
{%- endif %}
