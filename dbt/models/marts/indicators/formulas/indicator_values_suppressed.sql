{#- Every computed indicator value as it may be published (internal): the one place where cells
    are withheld (docs/privacy.md, disclosure control). Every output takes its values from here
    (marts.indicator_values, its history and revisions, and through them the packages, the gold
    zone, PostgreSQL and the reports). For the indicators whose catalogue entry says
    suppress_small_cells:

    primary    a cell whose numerator, denominator or (for a share, unit "% ...") complement
               (denominator - numerator) is from 1 to SOTELAKE_MIN_CELL_SIZE - 1 (default 5);
    secondary  cells withheld so that no primary cell can be worked out from what is published,
               exactly or to within SOTELAKE_DISCLOSURE_PROTECTION (default the minimum cell
               size), by adding up and subtracting over the hierarchies: municipalities sum to
               their county, months to the year (or the year is its November or December: a
               state on a day), breakdown classes to the total. Unless
               SOTELAKE_SECONDARY_SUPPRESSION=off (only to test the disclosure audit).

    A withheld cell publishes neither numerator, denominator nor value (suppressed = true,
    suppression_reason primary or secondary).

    Secondary suppression is a deterministic greedy pass, repeated (disclosure_rounds()). A
    relation (a total and its parts) gives a withheld cell away when it holds one withheld cell
    only, or when its total is published and its withheld parts, but the largest, add up to less
    than the protection (numerators, and complements of shares: what the withheld parts hide
    of each other), or when every part is withheld under a published total. Such a relation
    withholds one more part: the smallest that gives the missing protection alone, else the
    largest (ties by the value's key); with no part left, or none that hides anything (every
    published part zero, so that withheld parts would still be pinned to zero), its total. A withheld total puts its
    own relations to the same test in the next pass. And where the withheld parts of one
    relation have totals in another hierarchy some withheld, some published (a month's
    municipalities and their years), the published ones are withheld too: against the other
    totals they would pin the withheld ones.
    sotelake.publish.disclosure_audit checks the result by linear programming. -#}
{{ config(materialized='table', tags=['every_indicator']) }}

{%- set min_cell = env_var('SOTELAKE_MIN_CELL_SIZE', '5') | int %}
{%- set protection = env_var('SOTELAKE_DISCLOSURE_PROTECTION', min_cell | string) | int %}
{%- set secondary = env_var('SOTELAKE_SECONDARY_SUPPRESSION', 'on') | lower not in ('off', 'false', '0', 'no') %}
{%- set rounds = disclosure_rounds() if secondary else 0 %}
{%- set varchar = sql_type('varchar') %}

{%- set shared_ctes %}
computed as (
    select * from {{ ref('indicator_values_computed') }}
),

catalog as (
    select indicator_id, suppress_small_cells, additive, substring(unit, 1, 1) = '%' as is_share
    from {{ ref('indicator_definitions') }}
),

cells as (
    select
        computed.*,
        {{ value_key('computed.') }} as cell_key,
        coalesce(catalog.suppress_small_cells, true) as protected,
        coalesce(catalog.suppress_small_cells, true) and coalesce(catalog.additive, false) as in_relations,
        coalesce(catalog.is_share, false) as is_share,
        case when coalesce(catalog.is_share, false)
            then coalesce(computed.denominator, 0) - coalesce(computed.numerator, 0) else 0 end as complement
    from computed
    left join catalog on catalog.indicator_id = computed.indicator_id
),

primary_flagged as (
    select
        cells.*,
        protected and (
            (numerator > 0 and numerator < {{ min_cell }})
            or (denominator > 0 and denominator < {{ min_cell }})
            or (is_share and complement > 0 and complement < {{ min_cell }})
        ) as primary_suppressed
    from cells
),

{#- Every relation a published total has with its parts: (relation_key, cell_key, is_total). -#}
year_relations as (
    select * from {{ ref('indicator_year_relations') }}
),

relation_members as (
    -- municipalities sum to their county (its organiser on the period's first day)
    select
        concat_ws('|', 'area', cells.indicator_id, organisers.organiser_code, cells.period_grain,
                  cast(cells.period_start as {{ varchar }}), cells.breakdown_code) as relation_key,
        cells.cell_key,
        false as is_total
    from cells
    inner join {{ ref('dim_municipality') }} as organisers
        on organisers.municipality_code = cells.area_code
        and cells.period_start between organisers.valid_from and organisers.valid_to
    where cells.in_relations and cells.area_level = 'municipality'
    union all
    select
        concat_ws('|', 'area', indicator_id, area_code, period_grain,
                  cast(period_start as {{ varchar }}), breakdown_code),
        cell_key,
        true
    from cells
    where in_relations and area_level = 'county'
    union all
    -- months sum to the year, or the year is one of them
    select
        concat_ws('|', 'time', cells.indicator_id, cells.area_level, cells.area_code, cells.breakdown_code,
                  cast(date_trunc('year', cells.period_start) as {{ varchar }})),
        cells.cell_key,
        cells.period_grain = 'year'
    from cells
    inner join year_relations on year_relations.indicator_id = cells.indicator_id
    where cells.in_relations and cells.area_level in ('municipality', 'county') and (
        cells.period_grain = 'year'
        or year_relations.year_is = 'sum'
        or (year_relations.year_is = 'november' and extract(month from cells.period_start) = 11)
        or (year_relations.year_is = 'december' and extract(month from cells.period_start) = 12))
    union all
    -- breakdown classes sum to the total
    select
        concat_ws('|', 'breakdown', indicator_id, area_level, area_code, period_grain,
                  cast(period_start as {{ varchar }})),
        cell_key,
        breakdown_code = 'total'
    from cells
    where in_relations and breakdown <> 'none' and area_level in ('municipality', 'county')
),

relations as (
    -- only relations with a published total and at least one part constrain anything
    select relation_key
    from relation_members
    group by relation_key
    having sum(case when is_total then 1 else 0 end) = 1 and sum(case when is_total then 0 else 1 end) >= 1
),

members as (
    select relation_members.*
    from relation_members
    inner join relations on relations.relation_key = relation_members.relation_key
)
{%- endset %}

{%- set first_round %}
    select cell_key, numerator, complement, is_share, primary_suppressed as withheld
    from primary_flagged
    where in_relations
{%- endset %}

{#- Spark keeps each pass in a table (spark_suppression_rounds); a unit test, and the other
    engines, chain the passes as CTEs. #}
{%- set passes_in_tables = target.type == 'spark' and model.resource_type != 'unit_test' and rounds > 0 %}

with {{ shared_ctes }},
{% if passes_in_tables -%}
round_{{ rounds }} as (
    select * from {{ spark_suppression_rounds(shared_ctes, first_round, rounds, protection) }}
),
{%- else -%}
round_0 as (
    {{ first_round }}
),
{% for n in range(rounds) %}
{{ secondary_suppression_round(n, protection) }},
{% endfor %}
{%- endif %}
flagged as (
    select
        primary_flagged.*,
        primary_flagged.primary_suppressed or coalesce(final_round.withheld, false) as suppressed
    from primary_flagged
    left join round_{{ rounds }} as final_round on final_round.cell_key = primary_flagged.cell_key
)

select
    cast(indicator_id as {{ varchar }}) as indicator_id,
    cast(area_level as {{ varchar }}) as area_level,
    cast(area_code as {{ varchar }}) as area_code,
    cast(period_grain as {{ varchar }}) as period_grain,
    cast(period_start as date) as period_start,
    cast(breakdown as {{ varchar }}) as breakdown,
    cast(breakdown_code as {{ varchar }}) as breakdown_code,
    case when suppressed then null else numerator end as numerator,
    case when suppressed then null else denominator end as denominator,
    case when suppressed then null else value end as value,
    suppressed,
    cast(case
        when primary_suppressed then 'primary'
        when suppressed then 'secondary'
    end as {{ varchar }}) as suppression_reason
from flagged
