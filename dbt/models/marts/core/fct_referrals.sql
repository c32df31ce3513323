{{ config(pre_hook="{{ record_rebuild(changed_referral_days()) }}") }}

-- depends_on: {{ ref('stg_unified_record__patients') }} (the pre-hook reads it)

-- Referrals to specialist care, in the municipality where the patient lived when referred.
select
    referrals.referral_id,
    patients.person_pseudonym,
    residences.municipality_code as home_municipality_code,
    referrals.specialty_code,
    referrals.referred_at,
    referrals.received_at,
    referrals.processed_at,
    {{ days_between('referrals.received_at', 'referrals.processed_at') }} as processing_days,
    referrals.status,
    greatest(referrals._published_at, patients._published_at,
             coalesce(residences._published_at, referrals._published_at)) as _published_at
from {{ ref('stg_unified_record__referrals') }} as referrals
inner join {{ ref('stg_unified_record__patients') }} as patients using (patient_id)
{{ residence_on('residences', 'patients.person_pseudonym', 'cast(referrals.referred_at as date)') }}
where not referrals.is_deleted
