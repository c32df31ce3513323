{{ config(materialized=incremental_or_table(), unique_key='decision_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        decision_id,
        patient_id,
        unit_id,
        service_type,
        start_date,
        end_date,
        visits_per_week,
        coalesce(is_deleted, false) as is_deleted,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'home_care_decisions')) }}
)

{{ latest_versions('changes', 'decision_id', 'updated_at') }}
