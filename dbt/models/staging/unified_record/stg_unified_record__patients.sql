with source as (
    select * from {{ latest_load(source('unified_record', 'patients')) }}
)

select
    patient_id,
    person_pseudonym,
    person_birth_year as birth_year,
    person_sex as sex_code,
    municipality_code,
    coalesce(language, 'other') as language_code,
    updated_at,
    _load_id
from source
