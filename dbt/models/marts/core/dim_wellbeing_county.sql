select
    wellbeing_county as county_code,
    name_fi,
    name_sv,
    short_name_fi,
    short_name_sv
from {{ ref('wellbeing_counties') }}
