{{ config(pre_hook="{{ record_rebuild(changed_residence_days()) }}") }}

-- Public interface: where each pseudonymous person lived, effective-dated (valid_from to
-- valid_to, both days included; 9999-12-31 while it lasts), as the unified record system knows
-- it (intermediate.int_patient_residences). Every people-based fact counts an event in the
-- municipality of residence on the event's day, from this table. A build records the first day
-- on which someone's residence changed (macros/history.sql), so the facts rebuild from it.
select
    person_pseudonym,
    municipality_code,
    valid_from,
    valid_to,
    valid_to = date '9999-12-31' as is_current,
    residence_source,
    _published_at
from {{ ref('int_patient_residences') }}
