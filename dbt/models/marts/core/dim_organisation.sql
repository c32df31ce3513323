-- Organisations: the wellbeing county itself and the private providers it buys services from.
select
    county_code as organisation_code,
    'wellbeing_county' as organisation_type,
    name_fi,
    name_sv
from {{ ref('dim_wellbeing_county') }}
where county_code = '{{ var("county_code") }}'
union all
select distinct
    service_provider_ref,
    'service_provider',
    'Palveluntuottaja ' || replace(service_provider_ref, 'Organization/', ''),
    'Tjänsteproducent ' || replace(service_provider_ref, 'Organization/', '')
from {{ ref('stg_purchased_services__encounters') }}
where service_provider_ref is not null
