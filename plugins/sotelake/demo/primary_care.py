"""Primary care: health stations, their non-urgent appointment calendar, visits and contacts.

- in-person visits at the health station: urgent ones (same day, no booking) and non-urgent
  ones booked into the calendar, which also holds no-shows and slots nobody booked;
- remote contacts: phone (R50), real-time remote (R52) and non-real-time digital (R56);
- primary care emergency (päivystys) visits at the county's joint emergency unit, any day.

The calendar continues ``FUTURE_DAYS`` past the period, as it stands at extraction: slots booked
by then are ``booked``, the others ``free``. T3 is measured from it.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from sotelake import finnish_calendar
from sotelake.demo import codes
from sotelake.demo.world import Columns, World, at_time, rates_by_age

FUTURE_DAYS = 120
CALENDAR_OPENS_DAYS = 150  # slots are opened this many days before they start
RESIDENTS_PER_HEALTH_STATION = 25_000  # of the real 2020 population

# Visits per resident per year by age (upper bound of the age band), roughly Finland's.
PHYSICIAN_RATE = [(6, 1.2), (17, 0.55), (64, 0.85), (74, 1.5), (200, 2.2)]
NURSE_RATE = [(6, 2.6), (17, 0.9), (64, 1.3), (74, 2.4), (200, 4.0)]
URGENT_SHARE = {codes.PHYSICIAN: 0.45, codes.NURSE: 0.30}
NO_SHOW_SHARE = 0.03
NEVER_BOOKED_SHARE = 0.03
SLOT_MINUTES = {codes.PHYSICIAN: 20, codes.NURSE: 30}
BASE_LEAD_DAYS = {codes.PHYSICIAN: (3, 18), codes.NURSE: (1, 9)}
SEASON = {6: 1.3, 7: 1.7, 8: 1.2, 12: 1.2}
# Remote contacts per resident per year: (professional group, contact type, rate).
REMOTE_RATES = [
    (codes.PHYSICIAN, codes.CONTACT_PHONE, 0.30),
    (codes.NURSE, codes.CONTACT_PHONE, 0.80),
    (codes.NURSE, codes.CONTACT_DIGITAL, 0.35),
    (codes.PHYSICIAN, codes.CONTACT_VIDEO, 0.05),
]
EMERGENCY_RATE = [(6, 0.35), (17, 0.2), (64, 0.2), (74, 0.3), (200, 0.5)]


def add_units(world: World) -> None:
    """Health stations (one per started 25 000 residents of 2020) and the emergency unit."""
    for m in world.municipalities:
        count = max(1, round(m.population_2020 / RESIDENTS_PER_HEALTH_STATION))
        for k in range(1, count + 1):
            suffix = f" {k}" if count > 1 else ""
            world.add_unit(
                code=f"{world.county}-TK-{m.code}-{k:02d}",
                name_fi=f"Terveysasema {m.name_fi}{suffix}",
                name_sv=f"Hälsostation {m.name_sv}{suffix}",
                municipality=m.code,
                unit_type="health_station",
                specialty=None,
                service_code=codes.SERVICE_PRIMARY_CARE,
                cost_centre=codes.health_station_cost_centre(m.code, k),
            )
    biggest = max(world.municipalities, key=lambda m: m.population_2020)
    world.add_unit(
        code=f"{world.county}-PTHPAIV-01",
        name_fi=f"Yhteispäivystys, perusterveydenhuolto ({biggest.name_fi})",
        name_sv=f"Samjour, primärvård ({biggest.name_sv})",
        municipality=biggest.code,
        unit_type="primary_emergency",
        specialty=None,
        service_code=codes.SERVICE_PRIMARY_CARE,
        cost_centre=codes.cost_centre("PAIVYSTYS", 1),
    )


def _own_health_station(world: World) -> np.ndarray:
    stations = world.units_of("health_station")
    person_unit = np.empty(len(world.residents), dtype=np.int64)
    for m in world.municipalities:
        ids = [u.unit_id for u in stations if u.municipality == m.code]
        members = np.flatnonzero(world.residents.municipality == m.code)
        person_unit[members] = world.rng.choice(ids, size=len(members))
    return person_unit


def generate(world: World) -> tuple[Columns, list[Columns]]:
    """The appointment calendar and the primary care visit parts (person indices, not ids)."""
    rng, n = world.rng, len(world.residents)
    person_unit = _own_health_station(world)
    period_days = finnish_calendar.working_days(world.period_start, world.period_end)
    future_days = finnish_calendar.working_days(
        world.period_end + timedelta(days=1), world.period_end + timedelta(days=FUTURE_DAYS)
    )
    unit_count = len(world.units) + 1
    base_lead = {g: rng.uniform(lo, hi, size=unit_count) for g, (lo, hi) in BASE_LEAD_DAYS.items()}
    station_ids = np.array([u.unit_id for u in world.units_of("health_station")])
    station_weight = np.bincount(person_unit, minlength=unit_count)[station_ids] / n

    visit_parts, slot_parts = [], []
    for group, rate_table in ((codes.PHYSICIAN, PHYSICIAN_RATE), (codes.NURSE, NURSE_RATE)):
        rate = rates_by_age(world.age, rate_table)
        for days, fraction, in_period in (
            (period_days, world.years, True),
            (future_days, FUTURE_DAYS / 365.0, False),
        ):
            person = np.repeat(np.arange(n), rng.poisson(rate * fraction))
            day = days[rng.integers(0, len(days), size=len(person))]
            alive = world.born_by(person, day)
            person, day = person[alive], day[alive]
            urgent = rng.random(len(person)) < URGENT_SHARE[group]
            if in_period:
                visit_parts.append(
                    dict(
                        person=person[urgent],
                        unit=person_unit[person[urgent]],
                        group=group,
                        start=at_time(day[urgent], rng),
                        urgency=codes.URGENT,
                        contact_type=codes.CONTACT_AT_RECEPTION,
                    )
                )
            booked = ~urgent
            extra = rng.random(int(booked.sum())) < NO_SHOW_SHARE
            free = rng.integers(0, len(days), size=int(booked.sum() * NEVER_BOOKED_SHARE))
            slot_parts.append(
                dict(
                    group=group,
                    person=np.r_[person[booked], person[booked][extra], np.full(len(free), -1)],
                    unit=np.r_[
                        person_unit[person[booked]],
                        person_unit[person[booked][extra]],
                        rng.choice(station_ids, size=len(free), p=station_weight),
                    ],
                    day=np.r_[day[booked], day[booked][extra], days[free]],
                    status=np.r_[
                        np.full(int(booked.sum()), "attended" if in_period else "booked"),
                        np.full(int(extra.sum()), "no_show" if in_period else "booked"),
                        np.full(len(free), "free"),
                    ].astype(object),
                )
            )
    appointments = _calendar(world, slot_parts, base_lead)
    attended = appointments["status"] == "attended"
    visit_parts.append(
        dict(
            person=appointments["person"][attended],
            unit=appointments["unit_id"][attended],
            group=appointments["professional_group"][attended],
            start=appointments["slot_start"][attended],
            urgency=codes.NON_URGENT,
            contact_type=codes.CONTACT_AT_RECEPTION,
            appointment=appointments["appointment_id"][attended],
        )
    )
    visit_parts += _remote_contacts(world, person_unit)
    visit_parts.append(_emergency_visits(world))
    for part in visit_parts:
        part.setdefault("service_code", codes.SERVICE_PRIMARY_CARE)
    return appointments, visit_parts


def _calendar(world: World, slot_parts: list[dict], base_lead: dict) -> Columns:
    """Order slots within unit, group and day, give each a start time and booking time."""
    rng = world.rng
    slots = {
        k: np.concatenate([p[k] for p in slot_parts]) for k in ("person", "unit", "day", "status")
    }
    slots["group"] = np.concatenate([np.full(len(p["person"]), p["group"]) for p in slot_parts])
    m = len(slots["person"])
    order = np.lexsort((rng.random(m), slots["day"], slots["unit"], slots["group"]))
    slots = {k: v[order] for k, v in slots.items()}
    key = np.char.add(slots["group"].astype(str), slots["unit"].astype(str))
    day_key = slots["day"].astype(np.int64)
    new_run = np.r_[True, (key[1:] != key[:-1]) | (day_key[1:] != day_key[:-1])]
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(m), 0))
    index_in_day = np.arange(m) - run_start
    minutes = np.array([SLOT_MINUTES[g] for g in slots["group"]])
    slot_start = slots["day"].astype("datetime64[s]") + (
        8 * 60 + (index_in_day * minutes) % (8 * 60)
    ).astype("timedelta64[m]")
    created_at = (slots["day"] - CALENDAR_OPENS_DAYS).astype("datetime64[s]") + np.timedelta64(
        7, "h"
    )
    month = slots["day"].astype("datetime64[M]").astype(int) % 12 + 1
    season = np.array([SEASON.get(mo, 1.0) for mo in month])
    unit_lead = np.where(
        slots["group"] == codes.PHYSICIAN,
        base_lead[codes.PHYSICIAN][slots["unit"]],
        base_lead[codes.NURSE][slots["unit"]],
    )
    # days from booking to the slot: a gamma spread around the unit's typical lead (a cancelled
    # slot is rebooked at short notice, some book weeks ahead); about 60 % wait over 7 days
    lead_days = np.floor(rng.gamma(2.0, unit_lead * season / 2.0)).astype(int)
    lead_days = np.minimum(lead_days, CALENDAR_OPENS_DAYS - 1)
    booked_at = slot_start - (lead_days * 86400 + rng.integers(0, 8 * 3600, size=m)).astype(
        "timedelta64[s]"
    )
    booked_at = np.maximum(booked_at, created_at + np.timedelta64(1, "h"))
    is_booked = slots["status"] != "free"
    not_yet = is_booked & (booked_at >= world.extraction_moment)
    slots["status"][not_yet] = "free"
    is_booked &= ~not_yet
    slots["person"][~is_booked] = -1
    chrono = np.lexsort((slots["unit"], slot_start))
    appointment_id = np.empty(m, dtype=np.int64)
    appointment_id[chrono] = np.arange(1, m + 1)
    attended = slots["status"] == "attended"
    updated = np.where(is_booked, booked_at, created_at)
    updated = np.where(attended, slot_start + np.timedelta64(2, "h"), updated)
    return {
        "appointment_id": appointment_id,
        "unit_id": slots["unit"],
        "professional_group": slots["group"],
        "slot_start": slot_start,
        "created_at": created_at,
        "booked_at": np.where(is_booked, booked_at, np.datetime64("NaT")),
        "person": slots["person"],
        "urgency": np.full(m, codes.NON_URGENT),
        "status": slots["status"],
        "updated_at": updated,
    }


def _remote_contacts(world: World, person_unit: np.ndarray) -> list[dict]:
    rng, n, parts = world.rng, len(world.residents), []
    days = finnish_calendar.working_days(world.period_start, world.period_end)
    for group, contact_type, rate in REMOTE_RATES:
        person = np.repeat(np.arange(n), rng.poisson(rate * world.years, size=n))
        day = days[rng.integers(0, len(days), size=len(person))]
        keep = world.born_by(person, day)
        person, day = person[keep], day[keep]
        parts.append(
            dict(
                person=person,
                unit=person_unit[person],
                group=group,
                start=at_time(day, rng),
                urgency=codes.NON_URGENT,
                contact_type=contact_type,
            )
        )
    return parts


def _emergency_visits(world: World) -> dict:
    rng, n = world.rng, len(world.residents)
    rate = rates_by_age(world.age, EMERGENCY_RATE)
    person = np.repeat(np.arange(n), rng.poisson(rate * world.years))
    day = world.random_days(len(person))
    keep = world.born_by(person, day)
    person, day = person[keep], day[keep]
    unit = world.units_of("primary_emergency")[0].unit_id
    group = np.where(rng.random(len(person)) < 0.7, codes.PHYSICIAN, codes.NURSE)
    return dict(
        person=person,
        unit=np.full(len(person), unit),
        group=group,
        start=at_time(day, rng, 0, 24),
        urgency=codes.URGENT,
        contact_type=codes.CONTACT_AT_RECEPTION,
    )
