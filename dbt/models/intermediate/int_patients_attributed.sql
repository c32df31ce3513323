-- The unified record system's patients with the pseudonym and home municipality that every
-- fact of that system is attributed to.
select patient_id, person_pseudonym, municipality_code as home_municipality_code, _published_at
from {{ ref('stg_unified_record__patients') }}
