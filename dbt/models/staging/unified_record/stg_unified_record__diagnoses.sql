{{ config(materialized=incremental_or_table(), unique_key='diagnosis_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        diagnosis_id,
        visit_id,
        episode_id,
        code_system,
        upper(replace(code, '.', '')) as code,
        code as code_as_recorded,
        coalesce(is_primary, true) as is_primary,
        coalesce(is_deleted, false) as is_deleted,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'diagnoses')) }}
)

{{ latest_versions('changes', 'diagnosis_id', 'updated_at') }}
