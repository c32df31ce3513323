{{ config(pre_hook="{{ record_rebuild(changed_events(ref('stg_finance__ledger_postings'), 'posting_id', 'period_start', 'posting_id', 'period_start')) }}") }}

-- Ledger postings with the service class of their cost centre (steward-maintained mapping).
-- Accounts 4xxx are costs (positive), 3xxx revenues (negative); purchased services are the
-- postings produced as ostopalvelu or palveluseteli.
select
    postings.posting_id,
    postings.period_start,
    postings.posting_date,
    postings.cost_centre,
    mapping.service_class_code,
    postings.account,
    postings.account like '4%' as is_cost,
    postings.amount,
    postings.production,
    postings.production in ('ostopalvelu', 'palveluseteli') as is_purchased,
    postings._source_file as source_file,
    postings._published_at
from {{ ref('stg_finance__ledger_postings') }} as postings
left join {{ ref('stg_finance__cost_centres') }} as mapping
    on postings.cost_centre = mapping.cost_centre
