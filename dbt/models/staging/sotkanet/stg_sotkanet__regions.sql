with source as (
    select * from {{ latest_load(source('sotkanet', 'regions')) }}
)

select
    id as region_id,
    code as region_code,
    category as region_category,
    title_fi as region_name_fi,
    _load_id
from source
