{{ config(tags=['every_indicator']) }}

-- Public interface: the national comparison. For the catalogue's indicators that have a
-- Sotkanet id, THL's Sotkanet values (the sotkanet source: what the county's analyst
-- downloaded) of the whole country, every wellbeing services county and the municipalities,
-- each beside the value this project publishes for the same area and year (the county's own
-- and its municipalities'; withheld values stay withheld). Sotkanet's regions are placed by
-- their category: MAA the country (area_code FI), HYVINVOINTIALUE a county (matched by its
-- Finnish name: Sotkanet's county codes are not the project's), KUNTA a municipality (by its
-- code). Only the total of both sexes is compared.
with catalogue as (
    select indicator_id, sotkanet_id
    from {{ ref('indicator_definitions') }}
    where sotkanet_id is not null
),

sotkanet as (
    select
        data.sotkanet_id,
        data.year,
        data.value,
        data.abs_value,
        regions.region_category,
        regions.region_code,
        regions.region_name_fi
    from {{ ref('stg_sotkanet__indicator_data') }} as data
    inner join {{ ref('stg_sotkanet__regions') }} as regions on regions.region_id = data.region_id
    where data.gender = 'total' and regions.region_category in ('MAA', 'HYVINVOINTIALUE', 'KUNTA')
),

placed as (
    select
        sotkanet.*,
        case sotkanet.region_category
            when 'MAA' then 'country'
            when 'HYVINVOINTIALUE' then 'county'
            else 'municipality'
        end as area_level,
        case sotkanet.region_category
            when 'MAA' then 'FI'
            when 'HYVINVOINTIALUE' then counties.wellbeing_county
            else sotkanet.region_code
        end as area_code
    from sotkanet
    left join {{ ref('wellbeing_counties') }} as counties
        on sotkanet.region_category = 'HYVINVOINTIALUE' and counties.name_fi = sotkanet.region_name_fi
),

own as (
    select indicator_id, area_level, area_code, period_start, value, suppressed
    from {{ ref('indicator_values') }}
    where period_grain = 'year' and breakdown_code = 'total'
        and area_level in ('county', 'municipality')
),

own_areas as (
    select distinct area_level, area_code from own
)

select
    cast(catalogue.indicator_id as {{ sql_type('varchar') }}) as indicator_id,
    cast(placed.sotkanet_id as integer) as sotkanet_id,
    cast(placed.year as integer) as year,
    cast(placed.area_level as {{ sql_type('varchar') }}) as area_level,
    cast(placed.area_code as {{ sql_type('varchar') }}) as area_code,
    cast(placed.region_name_fi as {{ sql_type('varchar') }}) as area_name_fi,
    cast(case
        when placed.area_level = 'country' then 'country'
        when own_areas.area_code is not null then 'own'
        else 'other'
    end as {{ sql_type('varchar') }}) as comparison,
    cast(placed.value as {{ sql_type('float8') }}) as sotkanet_value,
    cast(placed.abs_value as {{ sql_type('float8') }}) as sotkanet_numerator,
    cast(own.value as {{ sql_type('float8') }}) as own_value,
    own.suppressed as own_suppressed
from placed
inner join catalogue on catalogue.sotkanet_id = placed.sotkanet_id
left join own_areas
    on own_areas.area_level = placed.area_level and own_areas.area_code = placed.area_code
left join own
    on own.indicator_id = catalogue.indicator_id
    and own.area_level = placed.area_level
    and own.area_code = placed.area_code
    and own.period_start = make_date(cast(placed.year as integer), 1, 1)
