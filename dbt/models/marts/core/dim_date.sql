select * from {{ ref('int_days_classified') }}
