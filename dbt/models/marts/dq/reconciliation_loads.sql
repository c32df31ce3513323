-- Reconciliation of loads: per load, the rows extracted (counted while reading the source)
-- equal the rows now in the raw zone + quarantine + rejected zone for that load (counted from
-- the lake's files). Depends on nothing but the lake, so it runs even when sources are held
-- back.
with audit as (
    select * from {{ source('lake_dq', 'load_audit') }}
),

raw_rows as (
    {{ lake_file_counts('raw/*/*/*/*.parquet', '_load_id') }}
),

quarantined as (
    select load_id, count(*) as rows from {{ source('lake_dq', 'quarantine') }} group by 1
),

rejected as (
    {{ lake_file_counts('rejected/*/*/*/*.parquet', '_load_id') }}
),

checks as (
    select
        'load_rows' as check_name,
        audit.source || '.' || audit.table_name || ' ' || audit.load_date as scope,
        cast(audit.extracted as {{ sql_type('float8') }}) as expected,
        cast(coalesce(raw_rows.rows, 0) + coalesce(quarantined.rows, 0) + coalesce(rejected.rows, 0) as {{ sql_type('float8') }}) as actual
    from audit
    left join raw_rows on raw_rows.load_id = audit.load_id
    left join quarantined on quarantined.load_id = audit.load_id
    left join rejected on rejected.load_id = audit.load_id
)

{{ reconciliation_result('checks') }}
