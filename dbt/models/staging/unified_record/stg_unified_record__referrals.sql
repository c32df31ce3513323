{{ config(materialized=incremental_or_table(), unique_key='referral_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        referral_id,
        patient_id,
        referring_unit_id,
        specialty as specialty_code,
        referred_at,
        received_at,
        processed_at,
        status,
        coalesce(is_deleted, false) as is_deleted,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'referrals')) }}
)

{{ latest_versions('changes', 'referral_id', 'updated_at') }}
