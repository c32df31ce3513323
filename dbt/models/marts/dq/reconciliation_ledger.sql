-- Reconciliation of the ledger: per month and cost centre, the ledger as delivered (the latest
-- version of each posting in the raw zone) equals the cost facts in the warehouse.
with ledger_delivered as (
    select period_start, cost_centre, amount
    from (
        select {{ month_start_of('period') }} as period_start, cost_centre, amount,
               row_number() over (partition by posting_id order by _extracted_at desc) as version
        from {{ source('finance', 'ledger_postings') }}
    ) as versions
    where version = 1
),

checks as (
    select
        'ledger_totals' as check_name,
        coalesce(d.period_start, w.period_start) || ' ' || coalesce(d.cost_centre, w.cost_centre) as scope,
        coalesce(d.amount, 0) as expected,
        coalesce(w.amount, 0) as actual
    from (select period_start, cost_centre, cast(sum(amount) as {{ sql_type('float8') }}) as amount from ledger_delivered group by 1, 2) as d
    full outer join (
        select period_start, cost_centre, cast(sum(amount) as {{ sql_type('float8') }}) as amount
        from {{ ref('fct_ledger_postings') }} group by 1, 2
    ) as w
        on d.period_start = w.period_start and d.cost_centre = w.cost_centre
)

{{ reconciliation_result('checks') }}
