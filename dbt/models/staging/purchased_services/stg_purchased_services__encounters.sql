{{ config(materialized='incremental', unique_key='encounter_id', incremental_strategy='delete+insert') }}

-- FHIR date-times carry their offset; the warehouse keeps Finnish local time.
with changes as (
    select
        id as encounter_id,
        patient_ref,
        status,
        class_code,
        service_code,
        timezone('Europe/Helsinki', cast(period_start as timestamptz)) as visit_start,
        timezone('Europe/Helsinki', cast(period_end as timestamptz)) as visit_end,
        service_provider_ref,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('purchased_services', 'encounters')) }}
)

{{ latest_versions('changes', 'encounter_id') }}
