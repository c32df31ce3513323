{#- Every change to a published value of a final period (DESIGN.md: nothing that is published
    changes silently): the value's keys, the old and the new numerator, denominator and value
    (null where suppressed: what indicator_values withholds stays withheld), the run and time,
    and the causes the pipeline can name, since the previous publication: the source rows whose
    day falls in the period that were added, changed or deleted, counted per source table; the
    population of the period's year in the value's area (the snapshot population_versions), for
    the indicators that read it; the indicator's formula (its definition_version). A value that
    is no longer published is a revision to nothing. Never rebuilt (full_refresh=false). -#}
{{ config(materialized=incremental_or_table(), full_refresh=false, tags=['every_indicator']) }}

{%- set now = "cast('" ~ run_started_at.isoformat() ~ "' as " ~ sql_type('timestamptz') ~ ")" %}
{%- set sources = [
    ('unified_record.visits', 'stg_unified_record__visits', 'visit_date', 'is_deleted'),
    ('unified_record.appointments', 'stg_unified_record__appointments', 'slot_start', 'is_deleted'),
    ('unified_record.patient_residences', 'stg_unified_record__patient_residences', 'valid_from', 'false'),
    ('unified_record.home_care_visits', 'stg_unified_record__home_care_visits', 'visit_date', 'is_deleted'),
    ('unified_record.home_care_decisions', 'stg_unified_record__home_care_decisions', 'start_date', 'is_deleted'),
    ('unified_record.inpatient_episodes', 'stg_unified_record__inpatient_episodes', 'admitted_at', 'is_deleted'),
    ('unified_record.waiting_list', 'stg_unified_record__waiting_list_entries', 'placed_at', 'is_deleted'),
    ('unified_record.round_the_clock_care', 'stg_unified_record__round_the_clock_stays', 'start_date', 'is_deleted'),
    ('unified_record.child_welfare_placements', 'stg_unified_record__child_welfare_placements', 'start_date', 'is_deleted'),
    ('unified_record.disability_service_decisions', 'stg_unified_record__disability_service_decisions', 'start_date', 'is_deleted'),
    ('unified_record.adult_social_work_clients', 'stg_unified_record__adult_social_work_clients', 'start_date', 'is_deleted'),
    ('unified_record.social_assistance_decisions', 'stg_unified_record__social_assistance_decisions', 'benefit_month', 'is_deleted'),
    ('unified_record.mental_health_episodes', 'stg_unified_record__mental_health_episodes', 'start_date', 'is_deleted'),
    ('legacy_record.visits', 'stg_legacy_record__visits', 'visit_date', 'false'),
    ('purchased_services.encounters', 'stg_purchased_services__encounters', 'visit_start', 'false'),
    ('finance.ledger_postings', 'stg_finance__ledger_postings', 'period_start', 'false'),
    ('finance.budget', 'stg_finance__budget_lines', 'month_start', 'false'),
    ('hr.staff_months', 'stg_hr__staff_months', 'month_start', 'false'),
] %}
{%- set population_readers = [] %}
{%- for indicator, read in indicator_sources().items() if 'population' in read %}
    {%- do population_readers.append(indicator) %}
{%- endfor %}
{%- if not residences_from_table() %}
{%- set sources = sources | rejectattr('0', 'equalto', 'unified_record.patient_residences') | list %}
{%- endif %}

with history as (
    select * from {{ ref('indicator_value_history') }}
),

replaced as (
    select * from history where valid_to = {{ now }}
),

new_versions as (
    select * from history where valid_from = {{ now }}
),

previous_publication as (
    select coalesce(max(valid_from), cast('1900-01-01' as {{ sql_type('timestamptz') }})) as published_at
    from history where valid_from < {{ now }}
),

source_changes as (
    {%- for name, model, day, deleted in sources %}
    select
        '{{ name }}' as source_table,
        cast(date_trunc('month', {{ day }}) as date) as month_start,
        count(*) as changed_rows,
        sum(case when {{ deleted }} then 1 else 0 end) as deleted_rows
    from {{ ref(model) }}
    where _published_at > (select published_at from previous_publication)
    group by 1, 2
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

revisions as (
    select
        replaced.value_key,
        replaced.indicator_id,
        replaced.area_level,
        replaced.area_code,
        replaced.period_grain,
        replaced.period_start,
        replaced.breakdown,
        replaced.breakdown_code,
        replaced.numerator as old_numerator,
        replaced.denominator as old_denominator,
        replaced.value as old_value,
        replaced.suppressed as old_suppressed,
        replaced.definition_version as old_definition_version,
        new_versions.numerator as new_numerator,
        new_versions.denominator as new_denominator,
        new_versions.value as new_value,
        new_versions.suppressed as new_suppressed
    from replaced
    left join new_versions on new_versions.value_key = replaced.value_key
    where {{ period_status('replaced.period_grain', 'replaced.period_start') }} = 'final'
),

causes as (
    select
        revisions.value_key,
        sum(source_changes.changed_rows) as changed_rows,
        {{ dbt.listagg(
            "source_changes.source_table || ': ' || cast(source_changes.changed_rows as " ~ sql_type('varchar') ~ ") || ' rows added or changed'"
            ~ " || case when source_changes.deleted_rows > 0 then ' (' || cast(source_changes.deleted_rows as " ~ sql_type('varchar') ~ ") || ' deleted)' else '' end",
            "'; '",
            "order by source_changes.source_table") }} as cause
    from revisions
    inner join source_changes
        on source_changes.month_start >= revisions.period_start
        and source_changes.month_start < cast(revisions.period_start
            + case when revisions.period_grain = 'year' then interval '1 year' else interval '1 month' end as date)
    group by revisions.value_key
),

{#- The population rows recorded since the previous publication (a new version of a row, or a
    new row), but not the snapshot's first recording of the table, which is no change. Not on
    Spark, which keeps no snapshot. #}
population_changes as (
    {%- if target.type != 'spark' %}
    select year, municipality_code, count(*) as changed_rows
    from {{ ref('population_versions') }}
    where recorded_at > (select published_at from previous_publication)
        and recorded_at <= {{ now }}
        and recorded_at > (select min(recorded_at) from {{ ref('population_versions') }})
    group by 1, 2
    {%- else %}
    select cast(null as integer) as year, cast(null as {{ sql_type('varchar') }}) as municipality_code,
        cast(null as bigint) as changed_rows
    where 1 = 0
    {%- endif %}
),

population_causes as (
    select
        revisions.value_key,
        'population.residents: ' || cast(sum(population_changes.changed_rows) as {{ sql_type('varchar') }})
            || ' rows of ' || cast(min(population_changes.year) as {{ sql_type('varchar') }})
            || ' changed' as cause
    from revisions
    inner join population_changes
        on population_changes.year = {{ year_of('revisions.period_start') }}
        and (revisions.area_level = 'county'
            or (revisions.area_level = 'municipality'
                and population_changes.municipality_code = revisions.area_code))
    where revisions.indicator_id in (
        {%- for indicator in population_readers %}'{{ indicator }}'{% if not loop.last %}, {% endif %}{% else %}''{% endfor %})
    group by revisions.value_key
)

select
    revisions.value_key,
    revisions.indicator_id,
    revisions.area_level,
    revisions.area_code,
    revisions.period_grain,
    revisions.period_start,
    revisions.breakdown,
    revisions.breakdown_code,
    revisions.old_numerator,
    revisions.old_denominator,
    revisions.old_value,
    revisions.old_suppressed,
    revisions.new_numerator,
    revisions.new_denominator,
    revisions.new_value,
    revisions.new_suppressed,
    cast(coalesce(
        nullif(concat_ws('; ',
            causes.cause,
            population_causes.cause,
            case when revisions.old_definition_version <> {{ definition_version('revisions.indicator_id') }}
                then 'the definition changed: formulas/ind_' || revisions.indicator_id || '.sql' end), ''),
        case when revisions.old_suppressed <> revisions.new_suppressed then
            'no source row, population or formula of the period changed: secondary suppression '
            || 'withholds or publishes it as other values of its area, year or breakdown changed'
        else
            'no source row, population or formula of the period changed: reference data (units, '
            || 'cost centres) or a macro the formulas share did'
        end)
        as {{ sql_type('varchar') }}) as cause,
    cast(coalesce(causes.changed_rows, 0) as bigint) as changed_rows,
    cast('{{ pipeline_run_id() }}' as {{ sql_type('varchar') }}) as revised_run,
    {{ now }} as revised_at
from revisions
left join causes on causes.value_key = revisions.value_key
left join population_causes on population_causes.value_key = revisions.value_key
