with source as (
    select * from {{ latest_load(source('finance', 'ledger_postings')) }}
)

select
    posting_id,
    cast(strptime(period, '%Y-%m') as date) as period_start,
    posting_date,
    cost_centre,
    account,
    amount,
    description,
    _source_file,
    _load_id
from source
