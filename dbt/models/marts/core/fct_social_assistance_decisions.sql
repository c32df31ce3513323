{{ config(pre_hook="{{ record_rebuild(changed_social_assistance_days()) }}") }}

-- depends_on: {{ ref('stg_unified_record__patients') }} (the pre-hook reads it)

-- Decisions on supplementary and preventive social assistance (toimeentulotuki), granted or
-- refused, by the month the assistance is for (benefit_month, its first day: the day the
-- decision counts on), in the municipality where the person lived on that day.
select
    decisions.decision_id,
    patients.person_pseudonym,
    residences.municipality_code as home_municipality_code,
    decisions.service_type_code as assistance_type_code,
    decisions.unit_id,
    decisions.decision_date,
    decisions.benefit_month,
    decisions.is_granted,
    decisions.amount_eur,
    greatest(decisions._published_at, patients._published_at,
             coalesce(residences._published_at, decisions._published_at)) as _published_at
from {{ ref('stg_unified_record__social_assistance_decisions') }} as decisions
inner join {{ ref('stg_unified_record__patients') }} as patients using (patient_id)
{{ residence_on('residences', 'patients.person_pseudonym', 'decisions.benefit_month') }}
where not decisions.is_deleted
