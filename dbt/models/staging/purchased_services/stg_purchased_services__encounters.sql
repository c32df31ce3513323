{{ config(materialized=incremental_or_table(), unique_key='encounter_id', incremental_strategy='delete+insert') }}

-- FHIR date-times carry their offset; the warehouse keeps Finnish local time.
with changes as (
    select
        id as encounter_id,
        patient_ref,
        status,
        class_code,
        service_code,
        {{ local_time('period_start', 'Europe/Helsinki') }} as visit_start,
        {{ local_time('period_end', 'Europe/Helsinki') }} as visit_end,
        service_provider_ref,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('purchased_services', 'encounters')) }}
)

{{ latest_versions('changes', 'encounter_id') }}
