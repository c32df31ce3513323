{#- History (DESIGN.md): events count where the person lived on the event's day, and a build
    rebuilds the periods its changes touched, nothing else.

    Every fact records, as the build reaches it, the first day its changes touch: the days of
    the rows that changed since the fact's newest row (as they are now, and as the fact has them),
    and the first day on which any person's residence changed. The record is a row of the table
    intermediate.rebuilds (model, invocation_id, rebuilt_from), one per fact per dbt invocation:
    null when nothing touched it, 1900-01-01 when the fact is built whole. The large facts of
    events are incremental: fct_appointment_slots deletes its rows from that day on and adds
    them again (delete+insert by day); fct_visits and fct_home_care_visits their changed rows
    (forget_changed_keys, below). The indicator
    formulas compute the years from the earliest day any fact recorded (indicator_periods_from),
    and indicator_values_computed replaces those years. A build that refreshes everything
    (dbt build --full-refresh: the pipeline's whole build) records 1900-01-01 everywhere.
    Spark builds everything whole (plain Parquet tables cannot delete) and records nothing. -#}

{% macro rebuilds_table() -%}
    intermediate.rebuilds
{%- endmacro %}

{#- on-run-start: the table of records, created once. -#}
{% macro create_rebuilds_table() -%}
    {%- if target.type != 'spark' -%}
    create schema if not exists intermediate;
    create table if not exists {{ rebuilds_table() }} (
        model {{ sql_type('varchar') }},
        invocation_id {{ sql_type('varchar') }},
        rebuilt_from date,
        recorded_at timestamp with time zone
    )
    {%- endif -%}
{%- endmacro %}

{#- Whether the model has a previous state that this build changes (not a first or whole build). -#}
{% macro has_previous_state() -%}
    {{ return(execute and not should_full_refresh() and load_relation(this) is not none) }}
{%- endmacro %}

{#- Pre-hook of a fact: record the first day the changes touch. ``changed_days``: a query of a
    column ``day`` (the days touched; none: nothing changed). -#}
{% macro record_rebuild(changed_days) -%}
    {%- if target.type == 'spark' -%}
    select 1
    {%- else -%}
    insert into {{ rebuilds_table() }} (model, invocation_id, rebuilt_from, recorded_at)
    select '{{ this.identifier }}', '{{ invocation_id }}',
        {% if has_previous_state() -%}
        (select min(cast(day as date)) from ({{ changed_days }}) as changed)
        {%- else -%}
        date '1900-01-01'
        {%- endif %},
        current_timestamp
    {%- endif -%}
{%- endmacro %}

{#- The first day a model rebuilt in this build (null: nothing). -#}
{% macro rebuilt_from(model=none) -%}
    (select max(rebuilt_from) from {{ rebuilds_table() }}
     where model = '{{ model or this.identifier }}' and invocation_id = '{{ invocation_id }}')
{%- endmacro %}

{#- Pre-hook of an incremental fact (after record_rebuild): forget its rows from that day (of
    its column meta.day_column, which the marts' checks read too). -#}
{% macro forget_rebuilt_days() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ model.config.meta.day_column }} >= {{ rebuilt_from() }}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- In an incremental fact's query: only the rows of the days it rebuilds. -#}
{% macro rebuilt_days(day_expression) -%}
    {%- if is_incremental() -%}
    {{ day_expression }} >= {{ rebuilt_from() }}
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{#- fct_visits and fct_home_care_visits are replaced by key instead (delete+insert on their
    unique_key): the pre-hook deletes the rows ``changed_keys`` names (a query of a column
    ``key``: macros/changed_days.sql) and the build adds them again as they are now. A
    correction two months back then costs its own row, not the two months of every visit
    since. The fact still records the first day its changes touch (record_rebuild): the
    indicators' periods and the marts' checks read that. -#}
{% macro forget_changed_keys(changed_keys) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ model.config.unique_key }} in (select key from ({{ changed_keys }}) as changed)
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- In such a fact's query: only the rows whose key ``changed_keys`` names. Read after the
    pre-hook's delete, its newest row may be older, which names more keys, never fewer: those
    rows are replaced as delete+insert does, not doubled. -#}
{% macro rebuilt_keys(key_expression, changed_keys) -%}
    {%- if is_incremental() -%}
    {{ key_expression }} in (select key from ({{ changed_keys }}) as changed)
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{#- The fact's newest row: what changed after it is what the build has not seen. -#}
{% macro newest_row() -%}
    (select coalesce(max(_published_at), cast('1900-01-01' as {{ sql_type('timestamptz') }})) from {{ this }})
{%- endmacro %}

{#- The days of the rows of ``rows`` that changed since the fact's newest row (for rows whose
    day is part of their key: a change touches its own day only). -#}
{% macro changed_rows(rows, day) -%}
    select {{ day }} as day from {{ rows }} where _published_at > {{ newest_row() }}
{%- endmacro %}

{#- The days of the rows of ``rows`` that changed since the fact's newest row, as ``rows`` has
    them now (``day``) and as the fact has them (``fact_day`` of the fact's rows whose
    ``fact_key`` is a changed row's ``key``). -#}
{% macro changed_events(rows, key, day, fact_key, fact_day) -%}
    select {{ day }} as day from {{ rows }} where _published_at > {{ newest_row() }}
    union all
    select {{ fact_day }} from {{ this }} where {{ fact_key }} in (
        select {{ key }} from {{ rows }} where _published_at > {{ newest_row() }})
{%- endmacro %}

{#- The first day a change of ``rows`` makes a difference, for facts that last from ``start``
    to ``end`` (a stay, a decision in force, a place on a waiting list; end null: it lasts): a
    new or removed row from its start; a row whose start or ``compared`` columns changed from
    the earlier start; a row whose end alone changed from the day after the earlier end.
    ``current``: a query of the rows as the fact would have them (its column names; deleted rows
    left out), keyed by ``key`` as ``rows`` is; ``as_before``: the fact's rows in the same shape
    (default: the fact itself). The query's column ``day`` is followed by the key. -#}
{% macro changed_intervals(rows, key, current, start, end, compared=[], as_before=none) -%}
    {%- set open_end = "cast('9999-12-31' as date)" -%}
    {%- set changed_keys -%}
        select {{ key }} from {{ rows }} where _published_at > {{ newest_row() }}
    {%- endset -%}
    select case
        when old.{{ key }} is null then new.{{ start }}
        when new.{{ key }} is null then old.{{ start }}
        when old.{{ start }} <> new.{{ start }}
            {%- for column in compared %} or old.{{ column }} is distinct from new.{{ column }}{% endfor %}
            then least(old.{{ start }}, new.{{ start }})
        else cast(least(coalesce(old.{{ end }}, {{ open_end }}), coalesce(new.{{ end }}, {{ open_end }}))
                  + interval '1 day' as date)
    end as day,
    coalesce(new.{{ key }}, old.{{ key }}) as {{ key }}
    from (select * from ({{ current }}) as rows_now where {{ key }} in ({{ changed_keys }})) as new
    full outer join (
        select * from {{ as_before or this }} as fact_rows where {{ key }} in ({{ changed_keys }})
    ) as old on old.{{ key }} = new.{{ key }}
    where old.{{ key }} is null or new.{{ key }} is null or old.{{ start }} <> new.{{ start }}
        or old.{{ end }} is distinct from new.{{ end }}
        {%- for column in compared %} or old.{{ column }} is distinct from new.{{ column }}{% endfor %}
{%- endmacro %}

{#- The days of ``events`` (rows with patient_id and the column ``day``) of patients whose
    pseudonym the fact has not seen: a patient new to the record system with events from
    before, or one whose henkilötunnus was corrected out of quarantine. -#}
{% macro events_of_new_persons(events, day) -%}
    select {{ day }} as day from {{ events }} where patient_id in (
        select patient_id from {{ ref('stg_unified_record__patients') }} as patients
        where _published_at > {{ newest_row() }}
            and person_pseudonym is not null
            and not exists (
                select 1 from {{ this }} as fact where fact.person_pseudonym = patients.person_pseudonym))
{%- endmacro %}

{#- The first day on which someone's residence changed in this build (dim_person_residence). -#}
{% macro residence_changes() -%}
    select {{ rebuilt_from('dim_person_residence') }} as day
{%- endmacro %}

{#- A join of the person's residence on the event's day: ``alias``.municipality_code. -#}
{% macro residence_on(alias, person, day) -%}
    left join {{ ref('dim_person_residence') }} as {{ alias }}
        on {{ alias }}.person_pseudonym = {{ person }}
        and {{ day }} between {{ alias }}.valid_from and {{ alias }}.valid_to
{%- endmacro %}

{#- The first day of the indicators' periods this build computes: the first day of the year of
    the earliest day any fact rebuilt (1900-01-01 in a whole build; 9999-12-31 when no fact
    changed), as indicator_values_computed recorded it as it began. The formulas (views) compute
    only the periods from it; a unit test of a formula, and Spark, all. -#}
{% macro indicator_periods_from() -%}
    {%- if model.resource_type == 'unit_test' or target.type == 'spark' -%}
    date '1900-01-01'
    {%- else -%}
    (select coalesce(max(rebuilt_from), date '1900-01-01') from (
        select rebuilt_from from {{ rebuilds_table() }} where model = 'indicator_values_computed'
        order by recorded_at desc limit 1) as newest)
    {%- endif -%}
{%- endmacro %}

{#- indicator_values_computed's pre-hook: record the first day of its periods (the earliest of
    the facts' changes, and of the periods an earlier build kept back, below). An indicator may
    look up to two days past an event (a return to emergency within 48 hours counts for the
    first visit), so a change on the first two days of a year computes the year before too. -#}
{% macro record_indicator_periods() -%}
    {%- if target.type == 'spark' -%}
    select 1
    {%- else -%}
    insert into {{ rebuilds_table() }} (model, invocation_id, rebuilt_from, recorded_at)
    select '{{ this.identifier }}', '{{ invocation_id }}',
        {% if has_previous_state() -%}
        (select case when min(day) is null then cast('9999-12-31' as date) else
                cast(date_trunc('year', greatest(min(day), date '1900-01-01')) as date)
            end
         from (
            select cast(rebuilt_from - interval '2 days' as date) as day from {{ rebuilds_table() }}
            where invocation_id = '{{ invocation_id }}' and model <> '{{ this.identifier }}'
                and model <> 'indicator_values_kept_back'
            union all
            select {{ kept_back_from() }}
         ) as changed)
        {%- else -%}
        date '1900-01-01'
        {%- endif %},
        current_timestamp
    {%- endif -%}
{%- endmacro %}

{#- Indicators whose formula reads a source this build holds back keep the values of the last
    build that had it (DESIGN.md: nothing published is lost or changed silently): in a build
    with a previous state, indicator_values_computed neither forgets nor computes them again,
    even when their other sources changed (a cost per visit: the ledger held back, the visits
    not). The ids of those indicators. -#}
{% macro indicators_kept_back() -%}
    {%- set held_back = held_back_sources() -%}
    {%- set kept = [] -%}
    {%- if held_back and is_incremental() -%}
        {%- for indicator, sources in indicator_sources().items() -%}
            {%- if sources | select('in', held_back) | list %}{% do kept.append(indicator) %}{% endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(kept | sort) }}
{%- endmacro %}

{#- The first day of the periods a build kept back (indicators_kept_back) that no build has computed
    again since: the next build that holds nothing back computes from there (null: none). -#}
{% macro kept_back_from() -%}
    (select rebuilt_from from (
        select rebuilt_from from {{ rebuilds_table() }} where model = 'indicator_values_kept_back'
        order by recorded_at desc limit 1) as latest)
{%- endmacro %}

{#- indicator_values_computed's pre-hooks, after record_indicator_periods: forget the values of
    the periods the build computes, but those of the indicators it keeps back; and record from
    which day those must be computed again (the earliest of this build's periods and any still
    pending), or that nothing is pending. -#}
{% macro forget_computed_periods() -%}
    {%- if is_incremental() -%}
    {%- set kept = indicators_kept_back() -%}
    delete from {{ this }} where period_start >= {{ indicator_periods_from() }}
    {%- if kept %} and indicator_id not in ('{{ kept | join("', '") }}'){% endif %}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{% macro record_kept_back_periods() -%}
    {%- if target.type != 'spark' -%}
    insert into {{ rebuilds_table() }} (model, invocation_id, rebuilt_from, recorded_at)
    select 'indicator_values_kept_back', '{{ invocation_id }}',
        {% if indicators_kept_back() -%}
        (select min(day) from (
            select {{ indicator_periods_from() }} as day
            union all
            select {{ kept_back_from() }}) as pending)
        {%- else -%}
        cast(null as date)
        {%- endif %},
        current_timestamp
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}

{#- Published values' status (DESIGN.md): a period is preliminary until it has been closed for
    SOTELAKE_PERIOD_CLOSE_DAYS days (default 45) after its end, then final; as of the run's
    load date (SOTELAKE_LOAD_DATE, set by the pipeline; the day of the build without it). Both
    are read as the model runs, so that dbt does not parse the project again for them. -#}
{% macro period_status(period_grain, period_start) -%}
    {%- set close_days = env_var('SOTELAKE_PERIOD_CLOSE_DAYS', '45') if execute else '45' -%}
    case
        when cast(
            case when {{ period_grain }} = 'year'
                 then cast({{ period_start }} + interval '1 year' as date)
                 else cast({{ period_start }} + interval '1 month' as date) end
            + interval '{{ close_days | int }} days' as date) <= {{ pipeline_load_date() }}
        then 'final'
        else 'preliminary'
    end
{%- endmacro %}

{% macro pipeline_load_date() -%}
    {%- set day = env_var('SOTELAKE_LOAD_DATE', '') if execute else '' -%}
    {%- if day -%}
    cast('{{ day }}' as date)
    {%- else -%}
    current_date
    {%- endif -%}
{%- endmacro %}

{#- What names a published value (indicator_value_history.value_key). -#}
{% macro value_key(prefix='') -%}
    concat_ws('|', {{ prefix }}indicator_id, {{ prefix }}area_level, {{ prefix }}area_code,
              {{ prefix }}period_grain, cast({{ prefix }}period_start as {{ sql_type('varchar') }}),
              {{ prefix }}breakdown, {{ prefix }}breakdown_code)
{%- endmacro %}

{#- Two published numbers differ (a relative 1e-9: a sum of floats added in another order is
    the same value). -#}
{% macro differs(a, b) -%}
    (({{ a }} is null) <> ({{ b }} is null)
     or abs({{ a }} - {{ b }}) > 1e-9 * greatest(abs({{ a }}), abs({{ b }}), 1))
{%- endmacro %}

{#- indicator_value_history's post-hook: the versions this build replaced, or whose value is no
    longer published, end when this build's began. -#}
{% macro close_replaced_versions() -%}
    {%- if target.type == 'spark' or not is_incremental() -%}
    select 1
    {%- else -%}
    {%- set now = "cast('" ~ run_started_at.isoformat() ~ "' as " ~ sql_type('timestamptz') ~ ")" -%}
    update {{ this }}
    set valid_to = {{ now }}, valid_to_run = '{{ pipeline_run_id() }}'
    where valid_to is null and valid_from < {{ now }}
        and (value_key in (select value_key from {{ this }} where valid_from = {{ now }})
             or value_key not in (
                 select {{ value_key() }} from {{ ref('indicator_values_suppressed') }}))
    {%- endif -%}
{%- endmacro %}

{#- The source systems each indicator's formula reads (ind_<indicator id>, through every model
    between), from dbt's own graph: indicator id -> sorted source names (none in a unit test,
    which has no graph). -#}
{% macro indicator_sources() -%}
    {%- set found = {} -%}
    {%- if execute and graph.get('nodes') -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name.startswith('ind_') -%}
        {%- set seen = namespace(frontier=node.depends_on.nodes, sources=[]) -%}
        {%- for _ in range(20) if seen.frontier -%}
            {%- set upstream = [] -%}
            {%- for id in seen.frontier -%}
                {%- if id.startswith('source.') -%}
                    {%- do seen.sources.append(graph.sources[id].source_name) -%}
                {%- elif id in graph.nodes -%}
                    {%- do upstream.extend(graph.nodes[id].depends_on.nodes) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- set seen.frontier = upstream | unique | list -%}
        {%- endfor -%}
        {%- do found.update({node.name[4:]: seen.sources | unique | sort | list}) -%}
    {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}

{#- The version of each indicator's definition: the checksum dbt's graph keeps of its formula's
    file (formulas/ind_<indicator id>.sql), shortened; as SQL, a case on `indicator_id` (null
    in a unit test, which has no graph). A change to a macro the formula calls is not seen. -#}
{% macro definition_version(indicator_id) -%}
    {%- set versions = {} -%}
    {%- if execute and graph.get('nodes') -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name.startswith('ind_') -%}
        {%- do versions.update({node.name[4:]: node.checksum.checksum[:16]}) -%}
    {%- endfor -%}
    {%- endif -%}
    cast(
    {%- if versions %} case {{ indicator_id }}
        {%- for indicator, version in versions | dictsort %}
        when '{{ indicator }}' then '{{ version }}'
        {%- endfor %}
    end
    {%- else %} null
    {%- endif %} as {{ sql_type('varchar') }})
{%- endmacro %}

{#- The sources held back from this build (SOTELAKE_HELD_BACK, comma separated, set by the
    pipeline; read as the model runs). -#}
{% macro held_back_sources() -%}
    {%- set listed = env_var('SOTELAKE_HELD_BACK', '') if execute else '' -%}
    {{ return(listed.split(',') | reject('equalto', '') | list) }}
{%- endmacro %}
