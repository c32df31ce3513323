"""The unified client/patient record system (asiakas- ja potilastietojärjestelmä) as SQLite.

It holds what a county's unified system (like Apotti or Aster) would: patients (with
henkilötunnus, name, address, phone) and their municipalities of residence over time (as the
population information system reports them: from and to a day, the last day included), units,
the primary care appointment calendar, visits and
contacts of primary and specialist care, diagnoses (ICD-10, ICPC-2), referrals and the waiting
list of specialist care, inpatient episodes, regular home care (decisions and visits),
round-the-clock care, child-welfare placements, disability services decisions, client
relationships of adult social work, decisions on social assistance, visits of oral health care
and of mental health and substance abuse services, and episodes of mental health and substance
abuse outpatient care. Event tables carry
``updated_at`` and a soft-delete flag ``is_deleted``; ``demo/changes.py`` changes rows after
the fact.

Municipalities still on a legacy system until a cut-over date (demo/legacy_system.py) have
their primary care before the cut-over there, not here.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from sotelake.demo import (
    codes,
    oral_and_mental_health,
    primary_care,
    professionals,
    social_care,
    social_services,
    specialist_care,
)
from sotelake.demo.population import FIRST_NAMES_FI, FIRST_NAMES_SV, LAST_NAMES
from sotelake.demo.world import Columns, World, dates, timestamps

SCHEMA = """
create table units (
    unit_id integer primary key, unit_code text not null, name_fi text not null,
    name_sv text not null, municipality_code text not null, unit_type text not null,
    specialty text, service_code text not null, cost_centre text not null,
    updated_at text not null);
create table patients (
    patient_id integer primary key, hetu text, first_name text, last_name text,
    street_address text, phone text, municipality_code text not null, language text not null,
    updated_at text not null);
create table patient_residences (
    residence_id integer primary key, patient_id integer not null,
    municipality_code text not null, valid_from text not null, valid_to text,
    updated_at text not null);
create table appointments (
    appointment_id integer primary key, unit_id integer not null, professional_group text not null,
    slot_start text not null, created_at text not null, booked_at text, patient_id integer,
    urgency text not null, status text not null, is_deleted integer not null default 0,
    updated_at text not null);
create table visits (
    visit_id integer primary key, patient_id integer not null, unit_id integer not null,
    appointment_id integer, visit_start text not null, professional_group text not null,
    service_code text not null, specialty text, urgency text not null, contact_type text not null,
    is_deleted integer not null default 0, updated_at text not null, professional_id text);
create table diagnoses (
    diagnosis_id integer primary key, visit_id integer, episode_id integer,
    code_system text not null, code text not null, is_primary integer not null,
    is_deleted integer not null default 0, updated_at text not null);
create table referrals (
    referral_id integer primary key, patient_id integer not null, referring_unit_id integer,
    specialty text not null, referred_at text not null, received_at text, processed_at text,
    status text not null, is_deleted integer not null default 0, updated_at text not null);
create table waiting_list (
    entry_id integer primary key, patient_id integer not null, referral_id integer,
    specialty text not null, placed_at text not null, treated_at text,
    is_deleted integer not null default 0, updated_at text not null);
create table inpatient_episodes (
    episode_id integer primary key, patient_id integer not null, unit_id integer not null,
    specialty text not null, admitted_at text not null, discharged_at text,
    admission_type text not null, is_deleted integer not null default 0, updated_at text not null);
create table home_care_decisions (
    decision_id integer primary key, patient_id integer not null, unit_id integer not null,
    service_type text not null, start_date text not null, end_date text,
    visits_per_week integer, is_deleted integer not null default 0, updated_at text not null);
create table home_care_visits (
    visit_id integer primary key, patient_id integer not null, unit_id integer not null,
    decision_id integer, visit_start text not null, duration_min integer,
    is_deleted integer not null default 0, updated_at text not null);
create table round_the_clock_care (
    stay_id integer primary key, patient_id integer not null, unit_id integer not null,
    care_type text not null, start_date text not null, end_date text,
    is_deleted integer not null default 0, updated_at text not null);
create table child_welfare_placements (
    placement_id integer primary key, patient_id integer not null, unit_id integer not null,
    placement_type text not null, start_date text not null, end_date text,
    is_deleted integer not null default 0, updated_at text not null);
create table disability_service_decisions (
    decision_id integer primary key, patient_id integer not null, unit_id integer not null,
    service_type text not null, start_date text not null, end_date text,
    is_deleted integer not null default 0, updated_at text not null);
create table adult_social_work_clients (
    relationship_id integer primary key, patient_id integer not null, unit_id integer not null,
    start_date text not null, end_date text,
    is_deleted integer not null default 0, updated_at text not null);
create table social_assistance_decisions (
    decision_id integer primary key, patient_id integer not null, unit_id integer not null,
    decision_date text not null, assistance_type text not null, benefit_month text not null,
    outcome text not null, amount_eur real not null,
    is_deleted integer not null default 0, updated_at text not null);
create table mental_health_episodes (
    episode_id integer primary key, patient_id integer not null, unit_id integer not null,
    care_type text not null, start_date text not null, end_date text,
    is_deleted integer not null default 0, updated_at text not null);
"""
PERSON_COLUMNS = {"person": "patient_id"}


def _concat_visits(parts: list[dict]) -> Columns:
    n = [len(p["person"]) for p in parts]

    def column(name, default=None):
        return np.concatenate(
            [
                np.broadcast_to(np.asarray(p.get(name, default), dtype=object), (k,))
                if np.ndim(p.get(name, default)) == 0
                else np.asarray(p[name], dtype=object)
                for p, k in zip(parts, n, strict=True)
            ]
        )

    visits = {
        "person": np.concatenate([p["person"] for p in parts]).astype(np.int64),
        "unit_id": np.concatenate([np.asarray(p["unit"]) for p in parts]).astype(np.int64),
        "start": np.concatenate([p["start"] for p in parts]).astype("datetime64[s]"),
        "professional_group": column("group"),
        "service_code": column("service_code"),
        "specialty": column("specialty"),
        "urgency": column("urgency"),
        "contact_type": column("contact_type"),
        "appointment_id": np.concatenate(
            [
                np.asarray(p["appointment"], dtype=np.int64)
                if "appointment" in p
                else np.full(k, -1, dtype=np.int64)
                for p, k in zip(parts, n, strict=True)
            ]
        ),
    }
    order = np.lexsort((visits["unit_id"], visits["start"]))
    visits = {k: v[order] for k, v in visits.items()}
    visits["visit_id"] = np.arange(1, len(order) + 1)
    return visits


def _split_legacy(
    world: World, visits: Columns, appointments: Columns, legacy: set[str], cutover: date
) -> tuple[Columns, Columns, Columns]:
    """Primary care of the legacy municipalities before the cut-over leaves the unified system."""
    cut = np.datetime64(cutover, "s")
    unit_municipality = {u.unit_id: u.municipality for u in world.units}
    station = {u.unit_id for u in world.units_of("health_station")}
    in_legacy = np.array(
        [unit_municipality[u] in legacy and u in station for u in visits["unit_id"]]
    )
    moved = in_legacy & (visits["start"] < cut)
    legacy_visits = {k: v[moved] for k, v in visits.items()}
    visits = {k: v[~moved] for k, v in visits.items()}
    slot_legacy = np.array([unit_municipality[u] in legacy for u in appointments["unit_id"]])
    keep = ~(slot_legacy & (appointments["slot_start"] < cut))
    return visits, {k: v[keep] for k, v in appointments.items()}, legacy_visits


def _diagnoses(world: World, visits: Columns, episodes: Columns) -> Columns:
    """A primary diagnosis for most physician visits and every inpatient episode."""
    rng = world.rng
    in_person = visits["contact_type"] == codes.CONTACT_AT_RECEPTION
    physician = (visits["professional_group"] == codes.PHYSICIAN) & in_person
    nurse = (visits["professional_group"] == codes.NURSE) & in_person
    coded_physician = np.flatnonzero(physician & (rng.random(len(physician)) < 0.9))
    coded_nurse = np.flatnonzero(nurse & (rng.random(len(nurse)) < 0.6))
    e = len(episodes["episode_id"])
    visit_ids = np.r_[
        visits["visit_id"][coded_physician], visits["visit_id"][coded_nurse], np.full(e, -1)
    ]
    episode_ids = np.r_[
        np.full(len(coded_physician) + len(coded_nurse), -1), episodes["episode_id"]
    ]
    system = np.r_[
        np.full(len(coded_physician), "ICD-10"),
        np.full(len(coded_nurse), "ICPC-2"),
        np.full(e, "ICD-10"),
    ]
    code = np.r_[
        rng.choice(codes.ICD10, size=len(coded_physician)),
        rng.choice(codes.ICPC2, size=len(coded_nurse)),
        rng.choice(codes.ICD10, size=e),
    ]
    when = np.r_[
        visits["start"][coded_physician], visits["start"][coded_nurse], episodes["admitted_at"]
    ] + np.timedelta64(1, "h")
    return {
        "diagnosis_id": np.arange(1, len(code) + 1),
        "visit_id": visit_ids,
        "episode_id": episode_ids,
        "code_system": system,
        "code": code,
        "is_primary": np.ones(len(code), dtype=np.int64),
        "updated_at": when,
    }


def _optional_ints(values: np.ndarray) -> list[int | None]:
    return [v if v >= 0 else None for v in values.tolist()]


def _insert(con: sqlite3.Connection, table: str, columns: dict[str, list]) -> int:
    names = list(columns)
    rows = zip(*(columns[n] for n in names), strict=True)
    con.executemany(
        f"insert into {table} ({', '.join(names)}) values ({', '.join('?' * len(names))})", rows
    )
    return len(columns[names[0]])


def _as_sql(world: World, table: Columns, ids: str) -> dict[str, list]:
    """Generator columns to SQLite values: persons to patient ids, times to text."""
    out: dict[str, list] = {}
    for name, values in table.items():
        if name == "person":
            out["patient_id"] = _optional_ints(
                np.where(values >= 0, world.patient_ids[np.maximum(values, 0)], -1)
            )
        elif isinstance(values, np.ndarray) and values.dtype.kind == "M":
            out[name] = (
                timestamps(values) if values.dtype == np.dtype("datetime64[s]") else dates(values)
            )
        elif name in ("appointment_id", "visit_id", "episode_id", "decision_id") and name != ids:
            out[name] = _optional_ints(np.asarray(values))
        else:
            out[name] = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return out


def _updated(values: np.ndarray, extraction: np.datetime64) -> np.ndarray:
    """Rows were last changed when their last event happened (never after extraction)."""
    return np.minimum(
        values.astype("datetime64[s]") + np.timedelta64(3, "h"), extraction - np.timedelta64(1, "s")
    )


def generate_record_system(
    world: World,
    path: Path,
    legacy: set[str],
    cutover: date,
    social_rng: np.random.Generator,
    health_rng: np.random.Generator,
    professional_rng: np.random.Generator,
) -> tuple[dict, Columns]:
    """Write the record system to ``path``; return row counts and the legacy visits.
    ``social_rng`` draws the disability services and adult social work, ``health_rng`` oral
    health and mental health and substance abuse services, ``professional_rng`` the visits'
    professionals and the return visits to emergency (each its own generator)."""
    primary_care.add_units(world)
    specialist_care.add_units(world)
    social_care.add_units(world)
    appointments, parts = primary_care.generate(world)
    specialist, specialist_parts = specialist_care.generate(world)
    social = social_care.generate(world)
    # units added after the others drew their rows (primary care draws per unit), so that
    # adding them left those rows as they were
    social_services.add_units(world)
    social |= social_services.generate(world, social_rng)
    oral_and_mental_health.add_units(world)
    health_visits, episodes = oral_and_mental_health.generate(world, health_rng)
    social["mental_health_episodes"] = episodes
    visits = _concat_visits(parts + specialist_parts)
    visits, appointments, legacy_visits = _split_legacy(
        world, visits, appointments, legacy, cutover
    )
    diagnoses = _diagnoses(world, visits, specialist["inpatient_episodes"])
    # drawn last, from their own generator: the other rows stay as they were
    visits["professional_id"] = professionals.assign(world, visits, professional_rng)
    returns = professionals.emergency_returns(
        world, visits, int(visits["visit_id"].max()) + 1, professional_rng
    )
    visits = {k: np.concatenate([v, returns[k]]) for k, v in visits.items()}
    extraction = world.extraction_moment

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    rows: dict[str, int] = {}
    unit_updated = f"{world.period_start.replace(year=world.period_start.year - 1)} 09:00:00"
    rows["units"] = _insert(
        con,
        "units",
        {
            "unit_id": [u.unit_id for u in world.units],
            "unit_code": [u.code for u in world.units],
            "name_fi": [u.name_fi for u in world.units],
            "name_sv": [u.name_sv for u in world.units],
            "municipality_code": [u.municipality for u in world.units],
            "unit_type": [u.unit_type for u in world.units],
            "specialty": [u.specialty for u in world.units],
            "service_code": [u.service_code for u in world.units],
            "cost_centre": [u.cost_centre for u in world.units],
            "updated_at": [unit_updated] * len(world.units),
        },
    )
    rows["patients"] = _insert(con, "patients", _patients(world))
    rows["patient_residences"] = _insert(con, "patient_residences", _residences(world))
    appointments["updated_at"] = np.minimum(
        appointments.pop("updated_at"), extraction - np.timedelta64(1, "s")
    )
    rows["appointments"] = _insert(
        con, "appointments", _as_sql(world, appointments, "appointment_id")
    )
    visit_table = {
        "visit_id": visits["visit_id"],
        "person": visits["person"],
        "unit_id": visits["unit_id"],
        "appointment_id": visits["appointment_id"],
        "visit_start": visits["start"],
        "professional_group": visits["professional_group"],
        "service_code": visits["service_code"],
        "specialty": visits["specialty"],
        "urgency": visits["urgency"],
        "contact_type": visits["contact_type"],
        "updated_at": _updated(visits["start"], extraction),
        "professional_id": visits["professional_id"],
    }
    rows["visits"] = _insert(con, "visits", _as_sql(world, visit_table, "visit_id"))
    # oral health and mental health and substance abuse visits follow the others' ids
    first = int(visits["visit_id"].max(initial=0)) + 1
    health_table = {
        "visit_id": np.arange(first, first + len(health_visits["person"])),
        "person": health_visits["person"],
        "unit_id": health_visits["unit_id"],
        "visit_start": health_visits["start"],
        "professional_group": health_visits["professional_group"],
        "service_code": health_visits["service_code"],
        "urgency": health_visits["urgency"],
        "contact_type": health_visits["contact_type"],
        "updated_at": _updated(health_visits["start"], extraction),
        "professional_id": professionals.assign(world, health_visits, health_rng),
    }
    rows["visits"] += _insert(con, "visits", _as_sql(world, health_table, "visit_id"))
    diagnoses["updated_at"] = _updated(diagnoses["updated_at"], extraction)
    rows["diagnoses"] = _insert(con, "diagnoses", _as_sql(world, diagnoses, "diagnosis_id"))
    last_change = {
        "referrals": ("processed_at", "received_at"),
        "waiting_list": ("treated_at", "placed_at"),
        "inpatient_episodes": ("discharged_at", "admitted_at"),
    }
    for table, columns in specialist.items():
        latest, fallback = last_change[table]
        when = np.where(np.isnat(columns[latest]), columns[fallback], columns[latest])
        columns["updated_at"] = _updated(when, extraction)
        rows[table] = _insert(con, table, _as_sql(world, columns, next(iter(columns))))
    starts = {
        "home_care_decisions": "start_date",
        "home_care_visits": "visit_start",
        "round_the_clock_care": "start_date",
        "child_welfare_placements": "start_date",
        "disability_service_decisions": "start_date",
        "adult_social_work_clients": "start_date",
        "social_assistance_decisions": "decision_date",
        "mental_health_episodes": "start_date",
    }
    for table, columns in social.items():
        when = columns[starts[table]].astype("datetime64[s]")
        if "end_date" in columns:
            ends = columns["end_date"].astype("datetime64[s]")
            when = np.where(np.isnat(ends), when, ends)
        columns["updated_at"] = _updated(when, extraction)
        rows[table] = _insert(con, table, _as_sql(world, columns, next(iter(columns))))
    # a record system's change tracking: incremental loads ask for the rows changed in a window
    for table in rows:
        con.execute(f"create index {table}_updated_at on {table} (updated_at)")
    con.commit()
    con.close()
    return rows, legacy_visits


def _patients(world: World) -> dict[str, list]:
    rng, r = world.rng, world.residents
    n = len(r)
    first = np.where(
        r.language == "sv", rng.choice(FIRST_NAMES_SV, size=n), rng.choice(FIRST_NAMES_FI, size=n)
    )
    updated = np.datetime64(world.period_start, "s") - rng.integers(0, 2000, size=n).astype(
        "timedelta64[D]"
    )
    # a patient who moved was updated when the record system learned of the move
    updated = np.where(np.isnat(r.moved_on), updated, _learned(world, np.arange(n)))
    return {
        "patient_id": world.patient_ids.tolist(),
        "hetu": r.hetu.tolist(),
        "first_name": first.tolist(),
        "last_name": rng.choice(LAST_NAMES, size=n).tolist(),
        "street_address": [f"Kyläkatu {s}" for s in rng.integers(1, 120, size=n).tolist()],
        "phone": [f"040 {p}" for p in rng.integers(1_000_000, 9_999_999, size=n).tolist()],
        "municipality_code": r.municipality.tolist(),
        "language": r.language.tolist(),
        "updated_at": timestamps(updated),
    }


def _learned(world: World, person: np.ndarray) -> np.ndarray:
    """When the record system learned of each person's move: its day at 10:00, or up to two
    weeks later (from the population information system), before the extraction."""
    moved = world.residents.moved_on[person].astype("datetime64[s]")
    lag = (np.arange(len(person)) * 7919 % 15).astype("timedelta64[D]")  # 0 to 14 days
    return np.minimum(
        moved + lag + np.timedelta64(10, "h"), world.extraction_moment - np.timedelta64(1, "s")
    )


def _residences(world: World) -> dict[str, list]:
    """Each patient's municipalities of residence: since a day before the period (or their
    birth), and for those who moved during it, the municipality before and the one after."""
    r = world.residents
    n = len(r)
    since = np.maximum(
        np.datetime64(world.period_start, "D")
        - (np.arange(n) * 104729 % 9000 + 1).astype("timedelta64[D]"),
        r.birth_date.astype("datetime64[D]"),
    )
    moved = np.flatnonzero(~np.isnat(r.moved_on))
    learned = timestamps(_learned(world, moved))
    first_updated = f"{world.period_start - timedelta(days=1)} 09:00:00"
    patient = world.patient_ids.tolist()
    columns: dict[str, list] = {
        k: [] for k in ("patient_id", "municipality_code", "valid_from", "valid_to", "updated_at")
    }

    def add(person: int, municipality: str, valid_from, valid_to, updated: str) -> None:
        columns["patient_id"].append(patient[person])
        columns["municipality_code"].append(municipality)
        columns["valid_from"].append(str(valid_from))
        columns["valid_to"].append(None if valid_to is None else str(valid_to))
        columns["updated_at"].append(updated)

    moves = dict(zip(moved.tolist(), learned, strict=True))
    for person in range(n):
        first = since[person].astype(object)
        if person in moves:
            day = r.moved_on[person].astype(object)
            add(person, r.previous_municipality[person], first, day - timedelta(1), moves[person])
            add(person, r.municipality[person], day, None, moves[person])
        else:
            add(person, r.municipality[person], first, None, first_updated)
    return {"residence_id": list(range(1, len(columns["patient_id"]) + 1)), **columns}
