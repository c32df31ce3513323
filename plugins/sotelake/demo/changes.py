"""Time passes in the demo county: one day of new, changed and soft-deleted rows.

``advance(data_dir, day)`` changes the record system as a working day would: new visits and
contacts, appointments booked into free slots, corrections of earlier visits and diagnoses,
visits soft-deleted as entered by mistake (every new visit names its professional: a
physician's patient mostly sees their own doctor), patients moving to another municipality (a new
residence from the day of the move, which may be days before the record system learns of it),
new and ended disability services decisions and client relationships of adult social work,
the day's decisions on social assistance, and the day's oral health visits and mental health and
substance abuse visits with new and ended episodes of their outpatient care (drawn with a
generator of their own; the corrections and deletions pick from the other visits, as before
these services were added). Every
changed row gets ``updated_at`` on that day, so an incremental load of the day finds exactly
these rows. Deterministic from the demo seed and the day.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from sotelake import finnish_calendar
from sotelake.demo import codes, professionals

NEW_CONTACTS_PER_RESIDENT_DAY = 4.5 / 365
BOOKINGS_PER_RESIDENT_DAY = 1.5 / 365
CORRECTED_SHARE = 0.002  # of the visits of the last 60 days
DELETED_SHARE = 0.0005
MOVING_SHARE = 0.0003  # of patients, per day
NEW_DISABILITY_DECISIONS_PER_RESIDENT_DAY = 3.5 / 1000 / 365
ENDED_DISABILITY_SHARE = 0.0004  # of the decisions in force, per day
NEW_SOCIAL_WORK_CLIENTS_PER_RESIDENT_DAY = 10 / 1000 / 365
ENDED_SOCIAL_WORK_SHARE = 0.002  # of the client relationships in force, per day
SOCIAL_ASSISTANCE_DECISIONS_PER_RESIDENT_DAY = 42 / 1000 / 365
ORAL_VISITS_PER_RESIDENT_DAY = 0.8 / 250  # on a working day
NEW_EPISODES_PER_RESIDENT_DAY = 20 / 1000 / 365
ENDED_EPISODE_SHARE = 0.003  # of the episodes in force, per day
EPISODE_VISITS_PER_DAY = 10 / 250  # of an episode in force, on a working day


def _at(
    day: date, rng: np.random.Generator, size: int, first_hour: int = 8, last_hour: int = 16
) -> list[str]:
    base = datetime.combine(day, datetime.min.time())
    minutes = rng.integers(first_hour * 60, last_hour * 60, size=size).tolist()
    return [f"{base + timedelta(minutes=m):%Y-%m-%d %H:%M:%S}" for m in minutes]


def _professionals(
    con: sqlite3.Connection, visits: list[tuple[int, int, str]], manifest: dict, day: date
) -> list[str]:
    """The professional of each new (patient, unit, professional group) visit: for a physician
    at a health station the patient's own doctor (their most frequent physician there so far) or
    second doctor as often as demo/professionals.py draws them, else one of the unit's staff of
    the group. From a generator of its own, so that the day's other changes stay as they were."""
    rng = np.random.default_rng([manifest["spec"]["seed"], day.toordinal(), 22])
    staff: dict[tuple[int, str], list[str]] = {}
    for unit, group, who_saw in con.execute(
        "select distinct unit_id, professional_group, professional_id from visits "
        "where professional_id is not null order by 1, 2, 3"
    ):
        staff.setdefault((unit, group), []).append(who_saw)
    seen: dict[tuple[int, int], list[str]] = {}
    patients = sorted({patient for patient, _, _ in visits})
    if patients:
        for patient, unit, who_saw, _ in con.execute(
            "select patient_id, unit_id, professional_id, count(*) from visits "
            f"where professional_group = ? and professional_id is not null "
            f"and patient_id in ({','.join('?' * len(patients))}) "
            "group by 1, 2, 3 order by 1, 2, 4 desc, 3",
            [codes.PHYSICIAN, *patients],
        ):
            seen.setdefault((patient, unit), []).append(who_saw)
    out = []
    for patient, unit, group in visits:
        roster = staff.get((unit, group)) or [professionals.professional_id(group, unit, 0)]
        doctors = seen.get((patient, unit), []) if group == codes.PHYSICIAN else []
        u = rng.random()
        if doctors and u < professionals.OWN_DOCTOR_SHARE:
            out.append(doctors[0])
        elif len(doctors) > 1 and u < professionals.OWN_DOCTOR_SHARE + (
            professionals.SECOND_DOCTOR_SHARE
        ):
            out.append(doctors[1])
        else:
            out.append(roster[int(rng.integers(0, len(roster)))])
    return out


def advance(data_dir: Path, day: date) -> dict[str, int]:
    """Apply the changes of ``day`` to the record system; return how many rows of each kind."""
    manifest_path = data_dir / "sources" / "demo_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    rng = np.random.default_rng([manifest["spec"]["seed"], day.toordinal()])
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    patients = con.execute("select patient_id, municipality_code from patients").fetchall()
    stations = dict(
        con.execute(
            "select municipality_code, min(unit_id) from units where unit_type = 'health_station' "
            "group by municipality_code"
        ).fetchall()
    )
    municipalities = sorted(stations)
    n = len(patients)
    counts: dict[str, int] = {}

    # New contacts of the day (urgent visits and remote contacts at the own health station)
    k = rng.poisson(n * NEW_CONTACTS_PER_RESIDENT_DAY)
    who = rng.integers(0, n, size=k)
    next_id = con.execute("select coalesce(max(visit_id), 0) + 1 from visits").fetchone()[0]
    contact = rng.choice(
        [codes.CONTACT_AT_RECEPTION, codes.CONTACT_PHONE, codes.CONTACT_DIGITAL],
        size=k,
        p=[0.5, 0.35, 0.15],
    )
    group = rng.choice([codes.PHYSICIAN, codes.NURSE], size=k, p=[0.35, 0.65])
    starts = _at(day, rng, k)
    rows = [
        (
            next_id + i,
            patients[w][0],
            stations[patients[w][1]],
            None,
            starts[i],
            group[i],
            codes.SERVICE_PRIMARY_CARE,
            None,
            codes.URGENT if contact[i] == codes.CONTACT_AT_RECEPTION else codes.NON_URGENT,
            contact[i],
            0,
            starts[i],
        )
        for i, w in enumerate(who.tolist())
    ]
    con.executemany(
        "insert into visits (visit_id, patient_id, unit_id, appointment_id, visit_start, "
        "professional_group, service_code, specialty, urgency, contact_type, is_deleted, "
        "updated_at, professional_id) values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (*row, who_saw)
            for row, who_saw in zip(
                rows,
                _professionals(con, [(r[1], r[2], r[5]) for r in rows], manifest, day),
                strict=True,
            )
        ],
    )
    counts["new_visits"] = k

    # Bookings into free future slots
    moment = f"{day:%Y-%m-%d} 00:00:00"
    free = [
        r[0]
        for r in con.execute(
            "select appointment_id from appointments where status = 'free' and slot_start > ? "
            "and created_at <= ? and not is_deleted order by appointment_id",
            (moment, moment),
        )
    ]
    b = min(len(free), rng.poisson(n * BOOKINGS_PER_RESIDENT_DAY))
    chosen = rng.choice(free, size=b, replace=False).tolist() if b else []
    when = _at(day, rng, b)
    con.executemany(
        "update appointments set status = 'booked', booked_at = ?, patient_id = ?, updated_at = ? "
        "where appointment_id = ?",
        [(when[i], patients[int(rng.integers(0, n))][0], when[i], a) for i, a in enumerate(chosen)],
    )
    counts["bookings"] = b

    # Corrections and soft deletes of recent visits
    since = f"{day - timedelta(days=60):%Y-%m-%d}"
    recent = [
        r[0]
        for r in con.execute(
            "select visit_id from visits "
            "where visit_start >= ? and visit_start < ? and not is_deleted and unit_id not in "
            "(select unit_id from units where unit_type in ('oral_health', 'mental_health'))",
            (since, moment),
        )
    ]
    corrected = rng.choice(recent, size=int(len(recent) * CORRECTED_SHARE), replace=False).tolist()
    stamp = f"{day:%Y-%m-%d} 12:00:00"
    con.executemany(
        "update visits set urgency = case urgency when ? then ? else ? end, "
        "updated_at = ? where visit_id = ?",
        [(codes.URGENT, codes.NON_URGENT, codes.URGENT, stamp, v) for v in corrected],
    )
    counts["corrected_visits"] = len(corrected)
    remaining = sorted(set(recent) - set(corrected))
    deleted = rng.choice(remaining, size=int(len(recent) * DELETED_SHARE), replace=False).tolist()
    con.executemany(
        "update visits set is_deleted = 1, updated_at = ? where visit_id = ?",
        [(f"{day:%Y-%m-%d} 13:00:00", v) for v in deleted],
    )
    counts["deleted_visits"] = len(deleted)

    # Patients moving within the county (move_patient), the move up to two weeks before the
    # record system learns of it (today). At least one a day, so that a small county's days move
    # someone too.
    movers = rng.choice(n, size=min(n, max(1, int(n * MOVING_SHARE))), replace=False).tolist()
    learned = f"{day:%Y-%m-%d} 10:00:00"
    for i in movers:
        patient, home = patients[i]
        moved_on = day - timedelta(days=int(rng.integers(0, 15)))
        destination = str(rng.choice([m for m in municipalities if m != home]))
        move_patient(con, patient, destination, moved_on, learned)
    counts["moved_patients"] = len(movers)
    counts |= _social_services(con, rng, day, [p for p, _ in patients])
    counts |= _oral_and_mental_health(
        con, np.random.default_rng([manifest["spec"]["seed"], day.toordinal(), 3]), day, manifest
    )
    con.commit()
    con.close()
    manifest.setdefault("advanced", {})[day.isoformat()] = counts
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return counts


def move_patient(
    con: sqlite3.Connection, patient: int, to: str, moved_on: date, learned: str
) -> date:
    """The patient moves to ``to`` on ``moved_on``, and the record system learns of it at
    ``learned``: their current residence ends the day before, a new one begins, and the
    patient's row has the new municipality. A second move before the current residence's first
    day is a move on the day after it. The day of the move."""
    current = con.execute(
        "select residence_id, valid_from from patient_residences "
        "where patient_id = ? and valid_to is null",
        [patient],
    ).fetchone()
    if current:
        moved_on = max(moved_on, date.fromisoformat(current[1]) + timedelta(days=1))
        con.execute(
            "update patient_residences set valid_to = ?, updated_at = ? where residence_id = ?",
            [f"{moved_on - timedelta(days=1)}", learned, current[0]],
        )
    con.execute(
        "insert into patient_residences select coalesce(max(residence_id), 0) + 1, ?, ?, ?, "
        "null, ? from patient_residences",
        [patient, to, f"{moved_on}", learned],
    )
    con.execute(
        "update patients set municipality_code = ?, updated_at = ? where patient_id = ?",
        [to, learned, patient],
    )
    return moved_on


def _social_services(
    con: sqlite3.Connection, rng: np.random.Generator, day: date, patients: list[int]
) -> dict[str, int]:
    """Disability services decisions and adult social work clients that begin or end on ``day``
    (an end decided today may date back a few days), and the day's social assistance decisions
    for the month (mostly the clients of adult social work)."""
    n, counts = len(patients), {}
    stamp = f"{day:%Y-%m-%d} 14:00:00"
    units = dict(
        con.execute(
            "select unit_type || ':' || municipality_code, min(unit_id) from units "
            "where unit_type in ('disability_services', 'adult_social_work') group by 1"
        ).fetchall()
    )
    disability_units = sorted(u for k, u in units.items() if k.startswith("disability_services"))
    home = dict(con.execute("select patient_id, municipality_code from patients").fetchall())

    def social_work_unit(patient: int) -> int:
        return units.get(f"adult_social_work:{home[patient]}", min(units.values()))

    # new disability services decisions from today, and some decisions in force ended
    k = rng.poisson(n * NEW_DISABILITY_DECISIONS_PER_RESIDENT_DAY)
    types = rng.choice(
        [
            codes.DISABILITY_TRANSPORT,
            codes.DISABILITY_PERSONAL_ASSISTANCE,
            codes.DISABILITY_HOUSING,
            codes.DISABILITY_DAY_ACTIVITIES,
        ],
        size=k,
        p=[0.64, 0.17, 0.11, 0.08],
    ).tolist()
    who = rng.choice(patients, size=k).tolist()
    first = con.execute(
        "select coalesce(max(decision_id), 0) + 1 from disability_service_decisions"
    ).fetchone()[0]
    con.executemany(
        "insert into disability_service_decisions values (?, ?, ?, ?, ?, null, 0, ?)",
        [
            (first + i, w, disability_units[0], t, f"{day}", stamp)
            for i, (w, t) in enumerate(zip(who, types, strict=True))
        ],
    )
    counts["new_disability_decisions"] = k
    in_force = [
        r[0]
        for r in con.execute(
            "select decision_id from disability_service_decisions "
            "where end_date is null and start_date < ? and not is_deleted order by 1",
            [f"{day}"],
        )
    ]
    ended = rng.choice(
        in_force, size=rng.binomial(len(in_force), ENDED_DISABILITY_SHARE), replace=False
    )
    con.executemany(
        "update disability_service_decisions set end_date = ?, updated_at = ? "
        "where decision_id = ?",
        [(f"{day - timedelta(days=int(rng.integers(0, 5)))}", stamp, d) for d in ended.tolist()],
    )
    counts["ended_disability_decisions"] = len(ended)

    # client relationships of adult social work that begin and end
    k = rng.poisson(n * NEW_SOCIAL_WORK_CLIENTS_PER_RESIDENT_DAY)
    who = rng.choice(patients, size=k).tolist()
    first = con.execute(
        "select coalesce(max(relationship_id), 0) + 1 from adult_social_work_clients"
    ).fetchone()[0]
    con.executemany(
        "insert into adult_social_work_clients values (?, ?, ?, ?, null, 0, ?)",
        [(first + i, w, social_work_unit(w), f"{day}", stamp) for i, w in enumerate(who)],
    )
    counts["new_social_work_clients"] = k
    in_force = [
        r[0]
        for r in con.execute(
            "select relationship_id from adult_social_work_clients "
            "where end_date is null and start_date < ? and not is_deleted order by 1",
            [f"{day}"],
        )
    ]
    ended = rng.choice(
        in_force, size=rng.binomial(len(in_force), ENDED_SOCIAL_WORK_SHARE), replace=False
    )
    con.executemany(
        "update adult_social_work_clients set end_date = ?, updated_at = ? "
        "where relationship_id = ?",
        [(f"{day - timedelta(days=1)}", stamp, r) for r in ended.tolist()],
    )
    counts["ended_social_work_clients"] = len(ended)

    # the day's social assistance decisions, for this month
    clients = [
        r[0]
        for r in con.execute(
            "select distinct patient_id from adult_social_work_clients "
            "where end_date is null and not is_deleted order by 1"
        )
    ] or patients
    k = rng.poisson(n * SOCIAL_ASSISTANCE_DECISIONS_PER_RESIDENT_DAY)
    who = np.where(
        rng.random(k) < 0.6, rng.choice(clients, size=k), rng.choice(patients, size=k)
    ).tolist()
    preventive = (rng.random(k) < 0.15).tolist()
    refused = (rng.random(k) < 0.12).tolist()
    amount = np.round(rng.lognormal(np.log(180.0), 0.7, size=k), 2).tolist()
    first = con.execute(
        "select coalesce(max(decision_id), 0) + 1 from social_assistance_decisions"
    ).fetchone()[0]
    con.executemany(
        "insert into social_assistance_decisions values (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
        [
            (
                first + i,
                w,
                social_work_unit(w),
                f"{day}",
                codes.ASSISTANCE_PREVENTIVE if preventive[i] else codes.ASSISTANCE_SUPPLEMENTARY,
                f"{day.replace(day=1)}",
                codes.DECISION_REFUSED if refused[i] else codes.DECISION_GRANTED,
                0.0 if refused[i] else amount[i],
                stamp,
            )
            for i, w in enumerate(who)
        ],
    )
    counts["social_assistance_decisions"] = k
    return counts


def _oral_and_mental_health(
    con: sqlite3.Connection, rng: np.random.Generator, day: date, manifest: dict
) -> dict[str, int]:
    """The day's oral health visits (at the clinic of the patient's municipality) and episodes
    of mental health and substance abuse outpatient care that begin or end (an end decided today
    may date back a few days), and the visits of the episodes in force (on working days)."""
    stamp = f"{day:%Y-%m-%d} 15:00:00"
    patients = con.execute(
        "select patient_id, municipality_code from patients order by patient_id"
    ).fetchall()
    n, counts = len(patients), {}
    clinics = dict(
        con.execute(
            "select municipality_code, min(unit_id) from units where unit_type = 'oral_health' "
            "group by 1"
        ).fetchall()
    )
    services = dict(
        con.execute(
            "select service_code, min(unit_id) from units where unit_type = 'mental_health' "
            "group by 1"
        ).fetchall()
    )
    working = finnish_calendar.is_working_day(day)
    next_id = con.execute("select coalesce(max(visit_id), 0) + 1 from visits").fetchone()[0]
    rows = []
    k = rng.poisson(n * ORAL_VISITS_PER_RESIDENT_DAY) if working else 0
    who = rng.integers(0, n, size=k).tolist()
    dentist = (rng.random(k) < 2 / 3).tolist()
    starts = _at(day, rng, k)
    for i, w in enumerate(who):
        patient, home = patients[w]
        rows.append(
            (
                patient,
                clinics[home],
                starts[i],
                codes.DENTIST if dentist[i] else codes.DENTAL_HYGIENIST,
                codes.SERVICE_ORAL_HEALTH,
            )
        )
    counts["new_oral_health_visits"] = k

    # episodes that begin today, and some of those in force end
    care_types = {
        codes.CARE_MENTAL_HEALTH: codes.SERVICE_MENTAL_HEALTH,
        codes.CARE_SUBSTANCE_ABUSE: codes.SERVICE_SUBSTANCE_ABUSE,
    }
    k = rng.poisson(n * NEW_EPISODES_PER_RESIDENT_DAY)
    care = rng.choice(list(care_types), size=k, p=[0.75, 0.25]).tolist()
    who = rng.integers(0, n, size=k).tolist()
    first = con.execute(
        "select coalesce(max(episode_id), 0) + 1 from mental_health_episodes"
    ).fetchone()[0]
    con.executemany(
        "insert into mental_health_episodes values (?, ?, ?, ?, ?, null, 0, ?)",
        [
            (first + i, patients[w][0], services[care_types[c]], c, f"{day}", stamp)
            for i, (w, c) in enumerate(zip(who, care, strict=True))
        ],
    )
    counts["new_mental_health_episodes"] = k
    in_force = con.execute(
        "select episode_id, patient_id, unit_id, care_type from mental_health_episodes "
        "where end_date is null and start_date < ? and not is_deleted order by 1",
        [f"{day}"],
    ).fetchall()
    ended = rng.random(len(in_force)) < ENDED_EPISODE_SHARE
    con.executemany(
        "update mental_health_episodes set end_date = ?, updated_at = ? where episode_id = ?",
        [
            (f"{day - timedelta(days=int(rng.integers(0, 5)))}", stamp, e[0])
            for e, end in zip(in_force, ended.tolist(), strict=True)
            if end
        ],
    )
    counts["ended_mental_health_episodes"] = int(ended.sum())
    visited = [
        e
        for e, v in zip(
            in_force, (rng.random(len(in_force)) < EPISODE_VISITS_PER_DAY).tolist(), strict=True
        )
        if v and working
    ]
    starts = _at(day, rng, len(visited))
    group = rng.choice(
        [codes.PSYCHOLOGIST, codes.NURSE, codes.PHYSICIAN], size=len(visited), p=[0.3, 0.55, 0.15]
    ).tolist()
    for i, (_, patient, unit, care_type) in enumerate(visited):
        rows.append((patient, unit, starts[i], group[i], care_types[care_type]))
    counts["new_mental_health_visits"] = len(visited)
    con.executemany(
        "insert into visits values (?, ?, ?, null, ?, ?, ?, null, ?, ?, 0, ?, ?)",
        [
            (
                next_id + i,
                patient,
                unit,
                start,
                group,
                service,
                codes.NON_URGENT,
                codes.CONTACT_AT_RECEPTION,
                start,
                who_saw,
            )
            for i, ((patient, unit, start, group, service), who_saw) in enumerate(
                zip(
                    rows,
                    _professionals(con, [(r[0], r[1], r[3]) for r in rows], manifest, day),
                    strict=True,
                )
            )
        ],
    )
    return counts
