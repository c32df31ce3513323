select distinct contact_type_code, name_fi, name_sv, name_en, is_remote, is_digital
from {{ ref('contact_types') }}
