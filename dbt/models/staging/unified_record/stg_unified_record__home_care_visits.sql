{{ config(materialized=incremental_or_table(), unique_key='home_care_visit_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        visit_id as home_care_visit_id,
        patient_id,
        unit_id,
        decision_id,
        visit_start,
        cast(visit_start as date) as visit_date,
        duration_min,
        coalesce(is_deleted, false) as is_deleted,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'home_care_visits')) }}
)

{{ latest_versions('changes', 'home_care_visit_id', 'updated_at') }}
