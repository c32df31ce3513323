{#- How many passes of secondary suppression indicator_values_suppressed makes: each pass
    withholds at most one more cell per relation that still gives a withheld cell away; a chain
    of withheld totals (municipality -> county, month -> year, class -> total, and back) needs a
    pass per step. The disclosure audit (tests/publish/test_disclosure.py) checks that this is enough. -#}
{% macro disclosure_rounds() -%}
    {{ return(env_var('SOTELAKE_DISCLOSURE_ROUNDS', '10') | int) }}
{%- endmacro %}


{#- One pass of secondary suppression (indicator_values_suppressed): the CTEs from
    relation_state_<n> to round_<n+1>, which read the CTEs members and round_<n> (cell_key,
    numerator, complement, is_share, withheld). -#}
{% macro secondary_suppression_round(n, protection) -%}
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
)
{%- endmacro %}

{#- On Spark, each pass's state is a table: a chain of passes as CTEs that read the one before
    several times is inlined by Spark's analyzer into a plan that grows by some eight times a
    pass (ten passes exhaust the driver's memory). ``shared_ctes``: the model's CTEs up to
    members; ``first_round``: the query of round_0. Returns the relation of the last pass. -#}
{% macro spark_suppression_rounds(shared_ctes, first_round, rounds, protection) -%}
    {%- set tables = [] -%}
    {%- for n in range(rounds + 1) -%}
        {%- do tables.append(api.Relation.create(schema='intermediate',
            identifier='indicator_values_suppression_round_' ~ n)) -%}
    {%- endfor -%}
    {#- only when the model runs: not when dbt compiles it (docs, a unit test's compile) -#}
    {%- if execute and flags.WHICH in ('run', 'build') -%}
        {%- do run_query('create schema if not exists intermediate') -%}
        {%- for n in range(rounds + 1) -%}
            {%- do run_query('drop table if exists ' ~ tables[n]) -%}
            {%- set query -%}
            create table {{ tables[n] }} using parquet as
            with {{ shared_ctes }},
            {% if n == 0 -%}
            round_0 as ({{ first_round }})
            {%- else -%}
            round_{{ n - 1 }} as (select * from {{ tables[n - 1] }}),
            {{ secondary_suppression_round(n - 1, protection) }}
            {%- endif %}
            select * from round_{{ n }}
            {%- endset -%}
            {%- do run_query(query) -%}
            {%- if n > 0 %}{% do run_query('drop table if exists ' ~ tables[n - 1]) %}{% endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(tables[rounds]) }}
{%- endmacro %}
