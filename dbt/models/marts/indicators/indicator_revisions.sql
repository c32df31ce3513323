{#- Every change to a published value of a final period (DESIGN.md: nothing that is published
    changes silently): the value's keys, the old and the new numerator, denominator and value
    (null where suppressed: what indicator_values withholds stays withheld), the run and time,
    and the cause the pipeline can name: the source rows whose day falls in the period that were
    added, changed or deleted since the previous publication, counted per source table. A value
    that is no longer published is a revision to nothing. Never rebuilt (full_refresh=false). -#}
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
{%- if var('residence_history', 'residence_table') != 'residence_table' %}
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
    cast(coalesce(causes.cause,
        case when revisions.old_suppressed <> revisions.new_suppressed then
            'no source row of the period changed: secondary suppression withholds or publishes it '
            || 'as other values of its area, year or breakdown changed'
        else
            'no source row of the period changed: the population, reference data or the definition did'
        end)
        as {{ sql_type('varchar') }}) as cause,
    cast(coalesce(causes.changed_rows, 0) as bigint) as changed_rows,
    cast('{{ pipeline_run_id() }}' as {{ sql_type('varchar') }}) as revised_run,
    {{ now }} as revised_at
from revisions
left join causes on causes.value_key = revisions.value_key
