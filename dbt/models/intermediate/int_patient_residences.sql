-- Each patient's municipalities of residence over time, without gaps or overlaps in what it
-- says: valid_from to valid_to, both days included, 9999-12-31 while it lasts. From the record
-- system's residence history (var residence_history: residence_table, the default), or derived
-- from the lake's versions of the patient rows (patient_versions: each load keeps the version
-- it extracted, as a dbt snapshot would; a move counts from the day the new version was
-- changed). The earliest residence reaches back to 1900-01-01, so an event before the history
-- begins counts where the person first lived; a patient without any residence lives in the
-- patient row's municipality throughout (macros/residences.sql; the patients whose
-- henkilötunnus is invalid have theirs in int_unidentified_patient_residences).
{%- set patients -%}
    select patient_id, person_pseudonym, municipality_code, _published_at
    from {{ ref('stg_unified_record__patients') }}
{%- endset %}
{{ patient_residences(patients) }}
