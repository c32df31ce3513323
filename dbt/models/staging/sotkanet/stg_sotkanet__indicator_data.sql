with source as (
    select * from {{ latest_load(source('sotkanet', 'indicator_data')) }}
)

select
    indicator as sotkanet_id,
    region as region_id,
    year,
    gender,
    value,
    abs_value,
    _load_id
from source
