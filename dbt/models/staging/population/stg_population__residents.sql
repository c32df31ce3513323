with source as (
    select * from {{ latest_load(source('population', 'residents')) }}
)

select
    year,
    municipality_code,
    age,
    sex as sex_code,
    residents,
    _load_id
from source
