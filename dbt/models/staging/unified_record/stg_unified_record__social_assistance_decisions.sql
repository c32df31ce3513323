{{ config(materialized=incremental_or_table(), unique_key='decision_id', incremental_strategy='delete+insert') }}

with changes as (
    select
        decision_id,
        patient_id,
        unit_id,
        decision_date,
        new_loads.assistance_type as service_type_source_code,
        types.service_type_code,
        benefit_month,
        outcome = 'myonteinen' as is_granted,
        amount_eur,
        coalesce(is_deleted, false) as is_deleted,
        updated_at,
        _load_id,
        _extracted_at,
        coalesce(_published_at, _extracted_at) as _published_at
    from {{ new_loads(source('unified_record', 'social_assistance_decisions')) }}
    left join {{ ref('social_service_types') }} as types
        on types.source_system = 'unified_record' and types.source_code = new_loads.assistance_type
)

{{ latest_versions('changes', 'decision_id', 'updated_at') }}
