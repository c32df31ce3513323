-- The municipalities of residence over time of the unified record system's patients whose
-- henkilötunnus is invalid (int_patients_unidentified), as int_patient_residences has them for
-- everyone else (macros/residences.sql), without a pseudonym: their visits and inpatient
-- episodes count where they lived on the day too. A few patients: their own view, so that
-- their events do not compute everyone's residences.
{%- set patients -%}
    select patient_id, cast(null as {{ sql_type('varchar') }}) as person_pseudonym, municipality_code, _published_at
    from {{ ref('int_patients_unidentified') }}
{%- endset %}
{{ patient_residences(patients) }}
