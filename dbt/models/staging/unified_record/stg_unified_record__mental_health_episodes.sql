{{ config(materialized=incremental_or_table(), unique_key='episode_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        episode_id,
        patient_id,
        unit_id,
        new_loads.care_type as care_type_source_code,
        types.service_type_code as care_type_code,
        start_date,
        end_date,
        coalesce(is_deleted, false) as is_deleted,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'mental_health_episodes')) }}
    left join {{ ref('social_service_types') }} as types
        on types.source_system = 'unified_record' and types.source_code = new_loads.care_type
)

{{ latest_versions('changes', 'episode_id', 'updated_at') }}
