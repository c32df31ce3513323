with source as (
    select * from {{ latest_load(source('finance', 'cost_centres')) }}
)

select
    cost_centre,
    service_class_code,
    valid_from,
    _load_id
from source
