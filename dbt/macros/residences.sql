{#- The municipalities of residence over time of ``patients`` (a query of patient_id,
    person_pseudonym, municipality_code, _published_at): from the record system's residence
    history (var residence_history: residence_table, the default), or derived from the lake's
    versions of the patient rows (patient_versions), without gaps or overlaps in what it says;
    the earliest residence reaches back to 1900-01-01, a patient without any lives in the
    patient row's municipality throughout (int_patient_residences says more). The patients
    are read first, so a few patients' residences cost little. -#}
{% macro patient_residences(patients) -%}
    {%- set from_table = residences_from_table() %}
    with patients as (
        {{ patients }}
    ),

    recorded as (
        {%- if from_table %}
        select patient_id, municipality_code, valid_from, valid_to, 'residence_table' as residence_source,
               _published_at
        from {{ ref('stg_unified_record__patient_residences') }}
        where patient_id in (select patient_id from patients)
        {%- else %}
        -- every extracted version, the newest of each day; a run of versions with the same
        -- municipality is one residence
        select patient_id, municipality_code, valid_from, cast(null as date) as valid_to,
               'patient_versions' as residence_source, _published_at
        from (
            select
                patient_id,
                municipality_code,
                cast(updated_at as date) as valid_from,
                lag(municipality_code) over (partition by patient_id order by cast(updated_at as date)) as previous_code,
                coalesce(_published_at, _extracted_at) as _published_at
            from (
                select *, row_number() over (
                    partition by patient_id, cast(updated_at as date)
                    order by updated_at desc, _extracted_at desc) as newest_of_day
                from {{ source('unified_record', 'patients') }}
                where patient_id in (select patient_id from patients)
            ) as versions
            where newest_of_day = 1
        ) as changes
        where previous_code is null or previous_code <> municipality_code
        {%- endif %}
    ),

    residences as (
        select * from recorded
        union all
        select patient_id, municipality_code, date '1900-01-01', cast(null as date), 'patient_row', _published_at
        from patients
        where patient_id not in (select patient_id from recorded)
    ),

    ordered as (
        select
            patient_id,
            municipality_code,
            case when row_number() over by_start = 1 then date '1900-01-01' else valid_from end as valid_from,
            -- a residence ends at the latest the day before the next one begins
            least(
                coalesce(valid_to, date '9999-12-31'),
                coalesce(cast(lead(valid_from) over by_start - interval '1 day' as date), date '9999-12-31')
            ) as valid_to,
            residence_source,
            _published_at
        from residences
        window by_start as (partition by patient_id order by valid_from, valid_to)
    )

    select
        ordered.patient_id,
        patients.person_pseudonym,
        ordered.municipality_code,
        cast(ordered.valid_from as date) as valid_from,
        cast(ordered.valid_to as date) as valid_to,
        ordered.residence_source,
        ordered._published_at
    from ordered
    inner join patients using (patient_id)
    where ordered.valid_to >= ordered.valid_from
{%- endmacro %}

{#- Whether the residences come from the record system's residence table (var residence_history:
    residence_table, the default) rather than from the lake's versions of the patient rows. -#}
{% macro residences_from_table() -%}
    {{ return(var('residence_history', 'residence_table') == 'residence_table') }}
{%- endmacro %}
