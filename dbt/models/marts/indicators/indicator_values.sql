{{ config(tags=['every_indicator']) }}

-- Public interface: every indicator value, one long table (DESIGN.md), so BI needs one query:
-- the values as published by this build (indicators.indicator_values_suppressed: small cells
-- and the cells that would give them away withheld), with the period's status (preliminary until closed for
-- SOTELAKE_PERIOD_CLOSE_DAYS days, then final) and when each value was first published
-- (marts.indicator_value_history), and the sources it reads that this build held back (its values
-- are those of the last build that had them).
{%- set held_back = held_back_sources() %}
{%- set behind = {} %}
{%- for indicator, sources in indicator_sources().items() %}
    {%- set late = sources | select('in', held_back) | list %}
    {%- if late %}{% do behind.update({indicator: late | join(', ')}) %}{% endif %}
{%- endfor %}
with published as (
    select * from {{ ref('indicator_values_suppressed') }}
),

first_published as (
    select value_key, min(valid_from) as first_published_at
    from {{ ref('indicator_value_history') }}
    group by value_key
)

select
    published.indicator_id,
    published.area_level,
    published.area_code,
    published.period_grain,
    published.period_start,
    published.breakdown,
    published.breakdown_code,
    published.numerator,
    published.denominator,
    published.value,
    published.suppressed,
    published.suppression_reason,
    cast({{ period_status('published.period_grain', 'published.period_start') }} as {{ sql_type('varchar') }}) as period_status,
    first_published.first_published_at,
    cast(
        {%- if behind %}
        case published.indicator_id
            {%- for indicator, sources in behind.items() %}
            when '{{ indicator }}' then '{{ sources }}'
            {%- endfor %}
        end
        {%- else %} null
        {%- endif %} as {{ sql_type('varchar') }}) as sources_behind,
    cast('{{ pipeline_run_id() }}' as {{ sql_type('varchar') }}) as run_id
from published
left join first_published on first_published.value_key = {{ value_key('published.') }}
