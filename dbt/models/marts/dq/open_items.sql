-- Every open item: a load that failed, a batch a critical expectation rejected, a delivered
-- file set aside, a delivery that is late. An item stays open until a later load, a replay or a
-- re-delivery resolves it, or a steward dismisses it with a reason (`sotelake dismiss`); the
-- lake keeps them all, closed ones too (sotelake.lake.open_items). age_days: since it opened,
-- as of this build.
{{ config(materialized='table') }}

select
    item_id,
    kind,
    source,
    table_name,
    load_date,
    load_id,
    files,
    detail,
    action,
    opened_at,
    last_seen_at,
    cast({{ dbt.datediff("cast(opened_at as date)", "current_date", "day") }} as integer) as age_days
from {{ source('lake_dq', 'items') }}
where status = 'open'
