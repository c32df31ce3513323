-- Service units of the county's record system (legacy units are mapped onto them), with the
-- organisation that runs them (dim_organisation).
select
    unit_id,
    unit_code,
    name_fi,
    name_sv,
    municipality_code,
    unit_type,
    specialty_code,
    service_code,
    cost_centre,
    '{{ var("county_code") }}' as organisation_code
from {{ ref('stg_unified_record__units') }}
