-- T3 measurements: on every working day d (at 00:00) and for every unit and professional group
-- with a calendar, the days from d to the third slot that is open (created_at <= d) and not yet
-- booked (booked_at is null or after d), starting on d or later. No third free slot within 182
-- days counts as 182 days (THL's value for a waiting list).
{% set cap_days = 182 %}
with slots as (
    select * from {{ ref('int_appointment_slots_classified') }}
),

-- Measure until the last change seen in the calendar (its extraction).
activity as (
    select cast(max(greatest(created_at, coalesce(booked_at, created_at))) as date) as last_day
    from slots
),

-- A unit's calendar is measured from its first slot (units that came from a legacy system
-- have no calendar before their cut-over).
calendars as (
    select unit_id, professional_group_code, min(slot_date) as first_day
    from slots
    group by unit_id, professional_group_code
),

measurement_days as (
    select date_day as measured_on
    from {{ ref('int_days_classified') }}, activity
    where is_working_day and date_day <= activity.last_day
        and date_day >= (select min(first_day) from calendars)
),

free_slots_ranked as (
    select
        measurement_days.measured_on,
        slots.unit_id,
        slots.professional_group_code,
        slots.slot_date,
        row_number() over (
            partition by measurement_days.measured_on, slots.unit_id, slots.professional_group_code
            order by slots.slot_start, slots.appointment_id
        ) as free_rank
    from measurement_days
    inner join slots
        on slots.slot_start >= measurement_days.measured_on
        and slots.slot_date < measurement_days.measured_on + {{ cap_days }}
        and slots.created_at <= measurement_days.measured_on
        and (slots.booked_at is null or slots.booked_at > measurement_days.measured_on)
)

select
    measurement_days.measured_on,
    calendars.unit_id,
    calendars.professional_group_code,
    coalesce({{ days_between('measurement_days.measured_on', 'third.slot_date') }}, {{ cap_days }}) as days_to_third_free
from measurement_days
inner join calendars on measurement_days.measured_on >= calendars.first_day
left join free_slots_ranked as third
    on third.measured_on = measurement_days.measured_on
    and third.unit_id = calendars.unit_id
    and third.professional_group_code = calendars.professional_group_code
    and third.free_rank = 3
