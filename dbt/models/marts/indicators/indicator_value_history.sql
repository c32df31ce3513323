{#- Every published version of every indicator value (DESIGN.md: history). Each build adds a
    version for each value that is new or differs from its open version, and closes the version
    it replaces, or a value no longer published (post-hook); valid_from and valid_to are the
    builds' times, valid_from_run and valid_to_run their runs, definition_version the version of
    the formula that computed it (macros/history.sql). Never rebuilt: a whole build
    (--full-refresh) keeps it (full_refresh=false). On Spark (plain Parquet tables cannot be
    updated) it holds the current versions only. -#}
{{ config(
    tags=['every_indicator'],
    materialized=incremental_or_table(),
    full_refresh=false,
    post_hook="{{ close_replaced_versions() }}",
) }}

with current_values as (
    select *, {{ value_key() }} as value_key from {{ ref('indicator_values_suppressed') }}
),

{% if is_incremental() -%}
open_versions as (
    select * from {{ this }} where valid_to is null
),
{%- endif %}

changed as (
    select current_values.*
    from current_values
    {%- if is_incremental() %}
    left join open_versions on open_versions.value_key = current_values.value_key
    where open_versions.value_key is null
        or open_versions.suppressed <> current_values.suppressed
        or {{ differs('open_versions.numerator', 'current_values.numerator') }}
        or {{ differs('open_versions.denominator', 'current_values.denominator') }}
        or {{ differs('open_versions.value', 'current_values.value') }}
    {%- endif %}
)

select
    cast(value_key as {{ sql_type('varchar') }}) as value_key,
    indicator_id,
    area_level,
    area_code,
    period_grain,
    period_start,
    breakdown,
    breakdown_code,
    numerator,
    denominator,
    value,
    suppressed,
    suppression_reason,
    cast({{ period_status('period_grain', 'period_start') }} as {{ sql_type('varchar') }}) as period_status,
    cast('{{ pipeline_run_id() }}' as {{ sql_type('varchar') }}) as valid_from_run,
    cast(null as {{ sql_type('varchar') }}) as valid_to_run,
    cast('{{ run_started_at.isoformat() }}' as {{ sql_type('timestamptz') }}) as valid_from,
    cast(null as {{ sql_type('timestamptz') }}) as valid_to,
    {{ definition_version('indicator_id') }} as definition_version
from changed
