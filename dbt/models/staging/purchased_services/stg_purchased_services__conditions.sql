{{ config(materialized=incremental_or_table(), unique_key='condition_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        id as condition_id,
        patient_ref,
        encounter_ref,
        case code_system when 'http://hl7.org/fhir/sid/icd-10' then 'ICD-10' else code_system end as code_system,
        upper(replace(code, '.', '')) as code,
        code as code_as_recorded,
        recorded_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('purchased_services', 'conditions')) }}
)

{{ latest_versions('changes', 'condition_id') }}
