{{ config(materialized=incremental_or_table(), unique_key='relationship_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        relationship_id,
        patient_id,
        unit_id,
        start_date,
        end_date,
        coalesce(is_deleted, false) as is_deleted,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'adult_social_work_clients')) }}
)

{{ latest_versions('changes', 'relationship_id', 'updated_at') }}
