{{ config(materialized=incremental_or_table(), unique_key='episode_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        episode_id,
        patient_id,
        unit_id,
        specialty as specialty_code,
        admitted_at,
        discharged_at,
        admission_type,
        coalesce(is_deleted, false) as is_deleted,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'inpatient_episodes')) }}
)

{{ latest_versions('changes', 'episode_id', 'updated_at') }}
