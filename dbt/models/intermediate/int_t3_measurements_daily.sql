-- T3 measurements: on every working day d (at 00:00) and for every unit and professional group
-- with a calendar, the days from d to the third slot that is open (created_at <= d) and not yet
-- booked (booked_at is null or after d), starting on d or later. No third free slot within 182
-- days counts as 182 days (THL's value for a waiting list).
{% set cap_days = 182 %}
{#- The windows the third free slot is looked for in, one pass each (see below). -#}
{% set windows = [4, 14, cap_days] %}
with slots as (
    select * from {{ ref('int_appointment_slots_classified') }}
),

-- The days that have slots: a window's slots are found through its days, by date (an equality
-- join, which engines hash; a range of slot dates is a nested loop in DuckDB, twice as slow).
slot_dates as (
    select distinct slot_date from slots
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
        -- the periods this build computes (macros/history.sql)
        and date_day >= {{ indicator_periods_from() }}
),

-- The free slots of a day, ranked, looked for in passes of growing windows, because the join
-- of every day with every slot of the next {{ cap_days }} days is large: first within the next
-- {{ windows[0] }} days, then, only for the days and calendars that did not find three there,
-- within {{ windows[1] }}, then within {{ cap_days }}. Where the third free slot usually is near,
-- the first pass does nearly all the work; where it is far, the last does. The result is the
-- same as one pass over {{ cap_days }} days.
{% for window in windows %}
{%- set i = loop.index %}
pass{{ i }}_ranked as (
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
    inner join slot_dates
        on slot_dates.slot_date >= measurement_days.measured_on
        and slot_dates.slot_date < measurement_days.measured_on + {{ window }}
    inner join slots
        on slots.slot_date = slot_dates.slot_date
        and slots.slot_start >= measurement_days.measured_on
        and slots.created_at <= measurement_days.measured_on
        and (slots.booked_at is null or slots.booked_at > measurement_days.measured_on)
    {%- if i > 1 %}
    inner join unresolved{{ i - 1 }} as unresolved
        on unresolved.measured_on = measurement_days.measured_on
        and unresolved.unit_id = slots.unit_id
        and unresolved.professional_group_code = slots.professional_group_code
    {%- endif %}
),
{% if not loop.last %}
unresolved{{ i }} as (
    {%- if i == 1 %}
    select measurement_days.measured_on, calendars.unit_id, calendars.professional_group_code
    from measurement_days
    inner join calendars on measurement_days.measured_on >= calendars.first_day
    {%- else %}
    select * from unresolved{{ i - 1 }}
    {%- endif %}
    except
    select measured_on, unit_id, professional_group_code from pass{{ i }}_ranked where free_rank = 3
),
{% endif %}
{%- endfor %}
third_free as (
    {%- for window in windows %}
    select measured_on, unit_id, professional_group_code, slot_date
    from pass{{ loop.index }}_ranked where free_rank = 3
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    measurement_days.measured_on,
    calendars.unit_id,
    calendars.professional_group_code,
    coalesce({{ days_between('measurement_days.measured_on', 'third.slot_date') }}, {{ cap_days }}) as days_to_third_free
from measurement_days
inner join calendars on measurement_days.measured_on >= calendars.first_day
left join third_free as third
    on third.measured_on = measurement_days.measured_on
    and third.unit_id = calendars.unit_id
    and third.professional_group_code = calendars.professional_group_code
