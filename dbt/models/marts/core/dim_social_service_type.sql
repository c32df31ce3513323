-- The service types of disability services and the types of social assistance, with their
-- names (the breakdowns of their indicators).
select distinct service_type_code, service_area, name_fi, name_sv, name_en
from {{ ref('social_service_types') }}
