{{ config(materialized=incremental_or_table(), unique_key='patient_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        patient_id,
        person_pseudonym,
        person_birth_year as birth_year,
        person_sex as sex_code,
        municipality_code,
        coalesce(language, 'other') as language_code,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'patients')) }}
)

{{ latest_versions('changes', 'patient_id', 'updated_at') }}
