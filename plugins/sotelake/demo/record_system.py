"""The unified client/patient record system (asiakas- ja potilastietojärjestelmä) as SQLite.

Tables, as a county's system would hold them:

- ``patients``: one row per person, with henkilötunnus, name, address and phone (the pipeline
  keeps none of those but a pseudonym), municipality of residence and language.
- ``units``: health stations (terveysasema) of primary care, with their cost centre.
- ``appointments``: the appointment calendar, one row per non-urgent slot, booked or free, with
  when the slot was opened and when it was booked (the inputs of T3).
- ``visits``: realised contacts with professional group, service, urgency and contact type.

The calendar continues ``FUTURE_DAYS`` past the period end, as it stands at extraction time
(the day after the period): slots booked by then are ``booked``, the rest are ``free``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from sotelake.demo import codes, workdays
from sotelake.demo.geography import Municipality
from sotelake.demo.population import FIRST_NAMES_FI, FIRST_NAMES_SV, LAST_NAMES, Residents

FUTURE_DAYS = 120  # how far past the extraction day the calendar is open
CALENDAR_OPENS_DAYS = 150  # slots are opened this many days before they start
RESIDENTS_PER_HEALTH_STATION = 25_000  # of the real 2020 population

# Visits per resident per year by age group (upper bounds of age), roughly Finland's primary care.
PHYSICIAN_RATE = [(6, 1.2), (17, 0.55), (64, 0.85), (74, 1.5), (200, 2.2)]
NURSE_RATE = [(6, 2.6), (17, 0.9), (64, 1.3), (74, 2.4), (200, 4.0)]
URGENT_SHARE = {codes.PHYSICIAN: 0.45, codes.NURSE: 0.30}
NO_SHOW_SHARE = 0.03  # booked, but the patient did not come
NEVER_BOOKED_SHARE = 0.03  # opened slots nobody booked
SLOT_MINUTES = {codes.PHYSICIAN: 20, codes.NURSE: 30}
# Booking lead time (days before the slot) by unit: a minimum that varies by unit and season,
# plus a geometric tail. Summer holidays lengthen waits.
BASE_LEAD_DAYS = {codes.PHYSICIAN: (4, 26), codes.NURSE: (1, 9)}
SEASON = {6: 1.3, 7: 1.7, 8: 1.2, 12: 1.2}

SCHEMA = """
create table units (
    unit_id integer primary key, unit_code text not null, name_fi text not null,
    name_sv text not null, municipality_code text not null, service_code text not null,
    cost_centre text not null, updated_at text not null);
create table patients (
    patient_id integer primary key, hetu text, first_name text, last_name text,
    street_address text, phone text, municipality_code text not null, language text not null,
    updated_at text not null);
create table appointments (
    appointment_id integer primary key, unit_id integer not null, professional_group text not null,
    slot_start text not null, created_at text not null, booked_at text, patient_id integer,
    urgency text not null, status text not null, updated_at text not null);
create table visits (
    visit_id integer primary key, patient_id integer not null, unit_id integer not null,
    appointment_id integer, visit_start text not null, professional_group text not null,
    service_code text not null, urgency text not null, contact_type text not null,
    updated_at text not null);
"""


@dataclass(frozen=True)
class Unit:
    unit_id: int
    code: str
    name_fi: str
    name_sv: str
    municipality: str
    cost_centre: str


def health_stations(county: str, municipalities: list[Municipality]) -> list[Unit]:
    """Health stations by municipality: one per started 25 000 residents (real 2020 figures).

    The unit list does not depend on the demo scale, so cost centres stay the same.
    """
    units = []
    for m in municipalities:
        count = max(1, round(m.population_2020 / RESIDENTS_PER_HEALTH_STATION))
        for k in range(1, count + 1):
            suffix_fi = f" {k}" if count > 1 else ""
            units.append(
                Unit(
                    unit_id=len(units) + 1,
                    code=f"{county}-TK-{m.code}-{k:02d}",
                    name_fi=f"Terveysasema {m.name_fi}{suffix_fi}",
                    name_sv=f"Hälsostation {m.name_sv}{suffix_fi}",
                    municipality=m.code,
                    cost_centre=codes.health_station_cost_centre(m.code, k),
                )
            )
    return units


def _rates(age: np.ndarray, table: list[tuple[int, float]]) -> np.ndarray:
    bounds = np.array([b for b, _ in table])
    values = np.array([v for _, v in table])
    return values[np.searchsorted(bounds, age)]


def _ts(values: np.ndarray) -> list[str]:
    """datetime64[s] to 'YYYY-MM-DD HH:MM:SS' strings, as the record system stores them."""
    return [str(v).replace("T", " ") for v in values.astype("datetime64[s]")]


def generate_record_system(
    rng: np.random.Generator,
    county: str,
    municipalities: list[Municipality],
    residents: Residents,
    period_start: date,
    period_end: date,
    path: Path,
) -> dict[str, int]:
    """Write the record system to ``path`` (SQLite) and return the row count of each table."""
    units = health_stations(county, municipalities)
    n = len(residents)
    extraction_moment = np.datetime64(datetime.combine(period_end + timedelta(days=1), time()), "s")

    # Residents go to a health station of their own municipality.
    unit_ids_by_municipality = {
        m.code: [u.unit_id for u in units if u.municipality == m.code] for m in municipalities
    }
    person_unit = np.empty(n, dtype=np.int64)
    for code, ids in unit_ids_by_municipality.items():
        members = np.flatnonzero(residents.municipality == code)
        person_unit[members] = rng.choice(ids, size=len(members))
    patient_ids = 100_000 + rng.permutation(n) * 7 + rng.integers(0, 7, size=n)
    age = residents.age_at(period_end)

    period_days = workdays.working_days(period_start, period_end)
    future_days = workdays.working_days(
        period_end + timedelta(days=1), period_end + timedelta(days=FUTURE_DAYS)
    )
    year_fraction = ((period_end - period_start).days + 1) / 365.0
    future_fraction = FUTURE_DAYS / 365.0
    base_lead = {
        group: rng.uniform(low, high, size=len(units) + 1)
        for group, (low, high) in BASE_LEAD_DAYS.items()
    }

    visit_parts, slot_parts = [], []
    for group, rate_table in ((codes.PHYSICIAN, PHYSICIAN_RATE), (codes.NURSE, NURSE_RATE)):
        rate = _rates(age, rate_table)
        # Contacts in the period; appointments booked into the future part of the calendar.
        for days, fraction, in_period in (
            (period_days, year_fraction, True),
            (future_days, future_fraction, False),
        ):
            counts = rng.poisson(rate * fraction)
            person = np.repeat(np.arange(n), counts)
            day = days[rng.integers(0, len(days), size=len(person))]
            alive = day >= residents.birth_date[person]  # no contacts before birth
            person, day = person[alive], day[alive]
            urgent = rng.random(len(person)) < URGENT_SHARE[group]
            if in_period:
                minutes = rng.integers(8 * 60, 16 * 60, size=int(urgent.sum()))
                visit_parts.append(
                    dict(
                        person=person[urgent],
                        unit=person_unit[person[urgent]],
                        group=group,
                        start=day[urgent].astype("datetime64[s]")
                        + minutes.astype("timedelta64[m]"),
                        urgency=codes.URGENT,
                        appointment=None,
                    )
                )
            booked = ~urgent
            # Some booked patients do not come; some opened slots are never booked.
            extra = rng.random(int(booked.sum())) < NO_SHOW_SHARE
            free = rng.integers(0, len(days), size=int(booked.sum() * NEVER_BOOKED_SHARE))
            free_units = rng.choice(
                np.array([u.unit_id for u in units]),
                size=len(free),
                p=np.bincount(person_unit, minlength=len(units) + 1)[1:] / n,
            )
            slot_parts.append(
                dict(
                    group=group,
                    person=np.r_[person[booked], person[booked][extra], np.full(len(free), -1)],
                    unit=np.r_[
                        person_unit[person[booked]], person_unit[person[booked][extra]], free_units
                    ],
                    day=np.r_[day[booked], day[booked][extra], days[free]],
                    status=np.r_[
                        np.full(int(booked.sum()), "attended" if in_period else "booked"),
                        np.full(int(extra.sum()), "no_show" if in_period else "booked"),
                        np.full(len(free), "free"),
                    ].astype(object),
                )
            )

    # The calendar: order slots within a unit, group and day; give each a start time.
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
        (8 * 60) + (index_in_day * minutes) % (8 * 60)
    ).astype("timedelta64[m]")
    created_at = (slots["day"] - CALENDAR_OPENS_DAYS).astype("datetime64[s]") + np.timedelta64(
        7, "h"
    )

    # Booking time: unit- and season-dependent minimum lead plus a geometric tail.
    month = slots["day"].astype("datetime64[M]").astype(int) % 12 + 1
    season = np.array([SEASON.get(mo, 1.0) for mo in month])
    unit_lead = np.where(
        slots["group"] == codes.PHYSICIAN,
        base_lead[codes.PHYSICIAN][slots["unit"]],
        base_lead[codes.NURSE][slots["unit"]],
    )
    lead_days = (
        np.floor(unit_lead * season).astype(int) + rng.geometric(1 / (1 + unit_lead / 2)) - 1
    )
    lead_days = np.minimum(lead_days, CALENDAR_OPENS_DAYS - 1)
    booked_at = slot_start - (lead_days * 86400 + rng.integers(0, 8 * 3600, size=m)).astype(
        "timedelta64[s]"
    )
    booked_at = np.maximum(booked_at, created_at + np.timedelta64(1, "h"))
    is_booked = slots["status"] != "free"
    # Future slots not booked by the extraction moment are still free.
    not_yet = is_booked & (booked_at >= extraction_moment)
    slots["status"][not_yet] = "free"
    is_booked &= ~not_yet
    slots["person"][~is_booked] = -1

    chrono = np.lexsort((slots["unit"], slot_start))
    appointment_id = np.empty(m, dtype=np.int64)
    appointment_id[chrono] = np.arange(1, m + 1)
    attended = slots["status"] == "attended"
    visit_parts.append(
        dict(
            person=slots["person"][attended],
            unit=slots["unit"][attended],
            group=slots["group"][attended],
            start=slot_start[attended],
            urgency=codes.NON_URGENT,
            appointment=appointment_id[attended],
        )
    )
    appointment_updated = np.where(is_booked, booked_at, created_at)
    appointment_updated = np.where(
        attended, slot_start + np.timedelta64(2, "h"), appointment_updated
    )

    visits = {
        "person": np.concatenate([p["person"] for p in visit_parts]),
        "unit": np.concatenate([p["unit"] for p in visit_parts]),
        "group": np.concatenate(
            [np.broadcast_to(np.asarray(p["group"]), len(p["person"])) for p in visit_parts]
        ),
        "start": np.concatenate([p["start"] for p in visit_parts]),
        "urgency": np.concatenate([np.full(len(p["person"]), p["urgency"]) for p in visit_parts]),
        "appointment": np.concatenate(
            [
                p["appointment"] if p["appointment"] is not None else np.full(len(p["person"]), -1)
                for p in visit_parts
            ]
        ),
    }
    vorder = np.lexsort((visits["unit"], visits["start"]))
    visits = {k: v[vorder] for k, v in visits.items()}
    v = len(visits["person"])

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    unit_updated = f"{period_start - timedelta(days=400)} 09:00:00"
    con.executemany(
        "insert into units values (?,?,?,?,?,?,?,?)",
        [
            (
                u.unit_id,
                u.code,
                u.name_fi,
                u.name_sv,
                u.municipality,
                codes.SERVICE_PRIMARY_CARE,
                u.cost_centre,
                unit_updated,
            )
            for u in units
        ],
    )
    first = np.where(
        residents.language == "sv",
        rng.choice(FIRST_NAMES_SV, size=n),
        rng.choice(FIRST_NAMES_FI, size=n),
    )
    last = rng.choice(LAST_NAMES, size=n)
    street = rng.integers(1, 120, size=n)
    phone = rng.integers(1_000_000, 9_999_999, size=n)
    patient_updated = _ts(
        np.datetime64(period_start, "s") - rng.integers(0, 2000, size=n).astype("timedelta64[D]")
    )
    con.executemany(
        "insert into patients values (?,?,?,?,?,?,?,?,?)",
        zip(
            patient_ids.tolist(),
            residents.hetu.tolist(),
            first.tolist(),
            last.tolist(),
            [f"Kyläkatu {s}" for s in street.tolist()],
            [f"040 {p}" for p in phone.tolist()],
            residents.municipality.tolist(),
            residents.language.tolist(),
            patient_updated,
            strict=True,
        ),
    )
    slot_patient = np.where(slots["person"] >= 0, patient_ids[np.maximum(slots["person"], 0)], -1)
    con.executemany(
        "insert into appointments values (?,?,?,?,?,?,?,?,?,?)",
        zip(
            appointment_id.tolist(),
            slots["unit"].tolist(),
            slots["group"].tolist(),
            _ts(slot_start),
            _ts(created_at),
            [b if ok else None for b, ok in zip(_ts(booked_at), is_booked.tolist(), strict=True)],
            [p if p >= 0 else None for p in slot_patient.tolist()],
            [codes.NON_URGENT] * m,
            slots["status"].tolist(),
            _ts(appointment_updated),
            strict=True,
        ),
    )
    visit_patient = patient_ids[visits["person"]]
    con.executemany(
        "insert into visits values (?,?,?,?,?,?,?,?,?,?)",
        zip(
            range(1, v + 1),
            visit_patient.tolist(),
            visits["unit"].tolist(),
            [a if a >= 0 else None for a in visits["appointment"].tolist()],
            _ts(visits["start"]),
            visits["group"].tolist(),
            [codes.SERVICE_PRIMARY_CARE] * v,
            visits["urgency"].tolist(),
            [codes.CONTACT_AT_RECEPTION] * v,
            _ts(visits["start"] + np.timedelta64(3, "h")),
            strict=True,
        ),
    )
    con.commit()
    con.close()
    return {"patients": n, "units": len(units), "appointments": m, "visits": v}
