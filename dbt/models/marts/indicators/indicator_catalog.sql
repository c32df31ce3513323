-- The indicator catalogue (seeds/indicator_definitions.csv is the single source of definitions).
select
    cast(indicator_id as {{ sql_type('varchar') }}) as indicator_id,
    cast(name_fi as {{ sql_type('varchar') }}) as name_fi,
    cast(name_sv as {{ sql_type('varchar') }}) as name_sv,
    cast(name_en as {{ sql_type('varchar') }}) as name_en,
    cast(definition_fi as {{ sql_type('varchar') }}) as definition_fi,
    cast(definition_sv as {{ sql_type('varchar') }}) as definition_sv,
    cast(definition_en as {{ sql_type('varchar') }}) as definition_en,
    cast(numerator as {{ sql_type('varchar') }}) as numerator,
    cast(denominator as {{ sql_type('varchar') }}) as denominator,
    cast(unit as {{ sql_type('varchar') }}) as unit,
    cast(unit_fi as {{ sql_type('varchar') }}) as unit_fi,
    cast(unit_sv as {{ sql_type('varchar') }}) as unit_sv,
    cast(grain as {{ sql_type('varchar') }}) as grain,
    cast(breakdown as {{ sql_type('varchar') }}) as breakdown,
    cast(direction as {{ sql_type('varchar') }}) as direction,
    cast(sotkanet_id as integer) as sotkanet_id,
    cast(suppress_small_cells as boolean) as suppress_small_cells,
    cast(decimals as integer) as decimals,
    cast(additive as boolean) as additive
from {{ ref('indicator_definitions') }}
