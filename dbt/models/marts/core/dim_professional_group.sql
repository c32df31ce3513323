select distinct professional_group_code, name_fi, name_sv, name_en
from {{ ref('professional_groups') }}
