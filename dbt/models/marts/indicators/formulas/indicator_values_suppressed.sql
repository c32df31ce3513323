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

with computed as (
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
),

round_0 as (
    select cell_key, numerator, complement, is_share, primary_suppressed as withheld
    from primary_flagged
    where in_relations
),
{% for n in range(rounds) %}
{#- Pass {{ n + 1 }}: the relations that still give a withheld cell away, and the cell each withholds. #}
relation_state_{{ n }} as (
    select
        members.relation_key,
        sum(case when state.withheld then 1 else 0 end) as withheld_cells,
        max(case when state.withheld and members.is_total then 1 else 0 end) as total_withheld,
        sum(case when not state.withheld and not members.is_total then 1 else 0 end) as published_parts,
        -- what the withheld parts hide of each other: their sum but the largest
        sum(case when state.withheld and not members.is_total then state.numerator else 0 end)
            - max(case when state.withheld and not members.is_total then state.numerator else 0 end)
            as withheld_numerator,
        sum(case when state.withheld and not members.is_total then state.complement else 0 end)
            - max(case when state.withheld and not members.is_total then state.complement else 0 end)
            as withheld_complement,
        max(case when state.is_share then 1 else 0 end) as is_share
    from members
    inner join round_{{ n }} as state on state.cell_key = members.cell_key
    group by members.relation_key
),

revealing_{{ n }} as (
    select
        relation_key,
        greatest({{ protection }} - withheld_numerator, 0) as numerator_needed,
        case when is_share = 1 then greatest({{ protection }} - withheld_complement, 0) else 0 end as complement_needed
    from relation_state_{{ n }}
    where withheld_cells = 1
        or (withheld_cells > 0 and total_withheld = 0 and (
            withheld_numerator < {{ protection }}
            or (is_share = 1 and withheld_complement < {{ protection }})
            -- every part withheld: the total would be a margin that pins them across the
            -- other hierarchy (a month's municipalities against their years)
            or published_parts = 0))
),

candidates_{{ n }} as (
    select
        relation_key,
        cell_key,
        row_number() over (
            partition by relation_key
            order by
                -- a part, unless no published part hides anything (all zero: their withheld
                -- like would still be pinned to zero), when the total goes first
                case when not is_total then 1 when no_part_helps then 0 else 2 end,
                case when numerator >= numerator_needed
                    and complement >= complement_needed then 0 else 1 end,
                case when numerator >= numerator_needed
                    and complement >= complement_needed then numerator
                    else -numerator end,
                cell_key
        ) as preference
    from (
        select
            revealing.relation_key,
            revealing.numerator_needed,
            revealing.complement_needed,
            members.is_total,
            state.cell_key,
            state.numerator,
            state.complement,
            (revealing.numerator_needed > 0 and coalesce(max(case when not members.is_total
                then state.numerator end) over (partition by revealing.relation_key), 0) <= 0)
            or (revealing.complement_needed > 0 and coalesce(max(case when not members.is_total
                then state.complement end) over (partition by revealing.relation_key), 0) <= 0)
                as no_part_helps
        from revealing_{{ n }} as revealing
        inner join members on members.relation_key = revealing.relation_key
        inner join round_{{ n }} as state on state.cell_key = members.cell_key
        where not state.withheld
    ) as published_members
),

{#- Withheld parts of one relation whose totals in another hierarchy are some withheld, some
    published (a month's municipalities, one with its year withheld, one with its year
    published): the published totals would pin the withheld one (the year's sum against the
    months'), so they are withheld too. #}
crossing_totals_{{ n }} as (
    select
        parts.relation_key,
        split_part(other.relation_key, '|', 1) as hierarchy,
        totals.cell_key as total_key,
        total_state.withheld as total_withheld
    from members as parts
    inner join round_{{ n }} as part_state on part_state.cell_key = parts.cell_key
    inner join members as other
        on other.cell_key = parts.cell_key
        and not other.is_total
        and other.relation_key <> parts.relation_key
    inner join members as totals on totals.relation_key = other.relation_key and totals.is_total
    inner join round_{{ n }} as total_state on total_state.cell_key = totals.cell_key
    where not parts.is_total and part_state.withheld
),

pinning_totals_{{ n }} as (
    select crossing.total_key
    from crossing_totals_{{ n }} as crossing
    inner join (
        select relation_key, hierarchy
        from crossing_totals_{{ n }}
        group by relation_key, hierarchy
        having max(case when total_withheld then 1 else 0 end) = 1
            and min(case when total_withheld then 1 else 0 end) = 0
    ) as mixed on mixed.relation_key = crossing.relation_key and mixed.hierarchy = crossing.hierarchy
    where not crossing.total_withheld
),

withheld_now_{{ n }} as (
    select cell_key from candidates_{{ n }} where preference = 1
    union
    select total_key from pinning_totals_{{ n }}
),

round_{{ n + 1 }} as (
    select
        state.cell_key, state.numerator, state.complement, state.is_share,
        state.withheld or withheld_now.cell_key is not null as withheld
    from round_{{ n }} as state
    left join withheld_now_{{ n }} as withheld_now on withheld_now.cell_key = state.cell_key
),
{% endfor %}

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
