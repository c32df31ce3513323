{{ config(materialized=incremental_or_table(), unique_key='posting_id', incremental_strategy='delete+insert') }}

-- Monthly files arrive once; a corrected re-delivery of a file replaces its postings by id.
with changes as (
    select
        posting_id,
        {{ month_start_of('period') }} as period_start,
        posting_date,
        cost_centre,
        account,
        amount,
        coalesce(production, 'oma') as production,
        description,
        _source_file,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('finance', 'ledger_postings')) }}
)

{{ latest_versions('changes', 'posting_id') }}
