{{ config(materialized=incremental_or_table(), unique_key='patient_ref', incremental_strategy='delete+insert') }}

with changes as (
    select
        'Patient/' || id as patient_ref,
        person_pseudonym,
        person_birth_year as birth_year,
        person_sex as sex_code,
        municipality_code,
        gender,
        birth_date,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('purchased_services', 'patients')) }}
)

{{ latest_versions('changes', 'patient_ref') }}
