-- Ledger postings with the service class of their cost centre (steward-maintained mapping).
select
    postings.posting_id,
    postings.period_start,
    postings.posting_date,
    postings.cost_centre,
    mapping.service_class_code,
    postings.account,
    postings.amount,
    postings.production,
    postings._source_file as source_file
from {{ ref('stg_finance__ledger_postings') }} as postings
left join {{ ref('stg_finance__cost_centres') }} as mapping
    on postings.cost_centre = mapping.cost_centre
