select service_class_code, name_fi, name_sv, name_en
from {{ ref('service_classes') }}
