{{ config(materialized=incremental_or_table(), unique_key='legacy_visit_key', incremental_strategy='delete+insert') }}

-- The legacy system has no visit id: a visit is a person's contact with a profession at a
-- unit at a moment.
with changes as (
    select
        md5(concat_ws('|', person_pseudonym, kayntipvm, klo, toimipiste, ammatti, yhteystapa)) as legacy_visit_key,
        person_pseudonym,
        person_birth_year as birth_year,
        person_sex as sex_code,
        kunta as home_municipality_code,
        toimipiste as legacy_unit_code,
        {{ timestamp_at('kayntipvm', 'klo') }} as visit_start,
        kayntipvm as visit_date,
        ammatti as professional_group_source_code,
        yhteystapa as contact_type_source_code,
        case kiireellisyys when 'K' then 'urgent' when 'E' then 'non_urgent' end as urgency,
        kesto_h as duration_hours,
        diagnoosi as diagnosis_code,
        _source_file,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('legacy_record', 'visits')) }}
    where person_pseudonym is not null
)

{{ latest_versions('changes', 'legacy_visit_key') }}
