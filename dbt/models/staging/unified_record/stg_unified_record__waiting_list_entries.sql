{{ config(materialized=incremental_or_table(), unique_key='entry_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        entry_id,
        patient_id,
        referral_id,
        specialty as specialty_code,
        placed_at,
        treated_at,
        coalesce(is_deleted, false) as is_deleted,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'waiting_list')) }}
)

{{ latest_versions('changes', 'entry_id', 'updated_at') }}
