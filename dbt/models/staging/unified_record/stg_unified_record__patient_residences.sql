{#- The residence history of the record system (config/sources.yml); a county whose source has
    none sets the var residence_history to patient_versions, and the history is derived from the
    lake's versions of the patient rows instead (int_patient_residences). -#}
{{ config(
    enabled=residences_from_table(),
    materialized=incremental_or_table(), unique_key='residence_id', incremental_strategy='delete+insert',
) }}

with changes as (
    select
        residence_id,
        patient_id,
        municipality_code,
        valid_from,
        valid_to,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'patient_residences')) }}
)

{{ latest_versions('changes', 'residence_id', 'updated_at') }}
