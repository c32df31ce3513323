select
    referrals.referral_id,
    patients.person_pseudonym,
    patients.home_municipality_code,
    referrals.specialty_code,
    referrals.referred_at,
    referrals.received_at,
    referrals.processed_at,
    {{ days_between('referrals.received_at', 'referrals.processed_at') }} as processing_days,
    referrals.status
from {{ ref('stg_unified_record__referrals') }} as referrals
inner join {{ ref('int_patients_attributed') }} as patients using (patient_id)
where not referrals.is_deleted
