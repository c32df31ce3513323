{{ config(materialized=incremental_or_table(), unique_key='stay_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        stay_id,
        patient_id,
        unit_id,
        care_type,
        start_date,
        end_date,
        coalesce(is_deleted, false) as is_deleted,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'round_the_clock_care')) }}
)

{{ latest_versions('changes', 'stay_id', 'updated_at') }}
