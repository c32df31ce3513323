-- digital_contacts_share: of primary care contacts (health stations, in person and remote),
-- the share (%) that were digital (real-time remote or e-services).
with contacts as (
    select
        visits.home_municipality_code as municipality_code,
        cast(date_trunc('month', visits.visit_date) as date) as period_start,
        'total' as breakdown_code,
        count(*) filter (where visits.is_digital) as numerator,
        count(*) as denominator
    from {{ visits_counted() }} as visits
    inner join {{ ref('dim_unit') }} as units on units.unit_id = visits.unit_id
    where units.unit_type = 'health_station'
    group by 1, 2, 3
),

{{ municipal_indicator('digital_contacts_share', 'contacts', 100, denominator='events') }}
