select specialty_code, name_fi, name_sv, name_en from {{ ref('specialties') }}
