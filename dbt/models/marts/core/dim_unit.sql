select
    unit_id,
    unit_code,
    name_fi,
    name_sv,
    municipality_code,
    unit_type,
    specialty_code,
    service_code,
    cost_centre
from {{ ref('stg_unified_record__units') }}
