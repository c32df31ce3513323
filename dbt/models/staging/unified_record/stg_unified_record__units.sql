with source as (
    select * from {{ latest_load(source('unified_record', 'units')) }}
)

select
    unit_id,
    unit_code,
    name_fi,
    name_sv,
    municipality_code,
    unit_type,
    specialty as specialty_code,
    service_code,
    cost_centre,
    updated_at,
    _load_id
from source
