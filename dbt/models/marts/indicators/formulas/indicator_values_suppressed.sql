-- Every computed indicator value as it may be published (internal): small cells are suppressed
-- here for indicators whose catalogue entry says so: a numerator from 1 to
-- SOTELAKE_MIN_CELL_SIZE - 1 (default 5) withholds numerator and value (suppressed = true).
-- Every output takes its values from here (marts.indicator_values and its history).
{{ config(materialized='table', tags=['every_indicator']) }}

with computed as (
    select * from {{ ref('indicator_values_computed') }}
),

catalog as (
    select indicator_id, suppress_small_cells from {{ ref('indicator_definitions') }}
),

flagged as (
    select
        computed.*,
        coalesce(catalog.suppress_small_cells, true)
            and computed.numerator > 0
            and computed.numerator < {{ env_var('SOTELAKE_MIN_CELL_SIZE', '5') | int }} as suppressed
    from computed
    left join catalog on catalog.indicator_id = computed.indicator_id
)

select
    cast(indicator_id as {{ sql_type('varchar') }}) as indicator_id,
    cast(area_level as {{ sql_type('varchar') }}) as area_level,
    cast(area_code as {{ sql_type('varchar') }}) as area_code,
    cast(period_grain as {{ sql_type('varchar') }}) as period_grain,
    cast(period_start as date) as period_start,
    cast(breakdown as {{ sql_type('varchar') }}) as breakdown,
    cast(breakdown_code as {{ sql_type('varchar') }}) as breakdown_code,
    case when suppressed then null else numerator end as numerator,
    denominator,
    case when suppressed then null else value end as value,
    suppressed
from flagged
