{{ config(pre_hook="{{ record_rebuild(changed_rows(ref('stg_hr__staff_months'), 'month_start')) }}") }}

-- HR by cost centre and month: person-years (htv, full-time equivalents of the month) and
-- sick-leave days.
select
    staff.month_start,
    staff.cost_centre,
    mapping.service_class_code,
    staff.person_years,
    staff.sick_leave_days,
    staff._published_at
from {{ ref('stg_hr__staff_months') }} as staff
left join {{ ref('stg_finance__cost_centres') }} as mapping using (cost_centre)
