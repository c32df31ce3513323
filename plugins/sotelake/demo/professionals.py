"""Who saw the patient, and patients who come back to emergency (issue 22).

- Every visit and contact of the record system names its professional: a staff id of the
  record system (``professional_id``, such as ``LK-12-03``: the group, the unit and a number;
  not a person's identifier of a patient, and never a henkilötunnus). Each patient has an own
  doctor at their health station (omalääkäri, about one per 1 500 patients: väestövastuu) and
  a second doctor who stands in: about 45 % of their physician visits and contacts there are
  with the own doctor, 20 % with the second, the rest with the station's other doctors.
  Nurses, emergency and hospital staff are drawn from their unit's staff.
- About 8 % of primary care emergency visits get a return visit to the same emergency unit
  2 to 72 hours later (within the period), so that returns within 48 hours can be measured.

Everything is drawn from a generator of its own (``rng``), after every other row of the record
system is drawn, so that adding these left the other rows as they were; the return visits get
the ids after the others'.
"""

from __future__ import annotations

import numpy as np

from sotelake.demo import codes
from sotelake.demo.world import Columns, World

PATIENTS_PER_OWN_DOCTOR = 1_500
OWN_DOCTOR_SHARE = 0.45
SECOND_DOCTOR_SHARE = 0.20
VISITS_PER_PROFESSIONAL_YEAR = 2_000  # the staff count of other units and groups
RETURN_SHARE = 0.08  # of primary care emergency visits
RETURN_HOURS = (2.0, 72.0)


def professional_id(group: str, unit_id: int, number: int) -> str:
    return f"{group}-{unit_id}-{number + 1:02d}"


def _ids(groups: np.ndarray, units: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    return np.array(
        [
            professional_id(g, int(u), int(k))
            for g, u, k in zip(groups.tolist(), units.tolist(), numbers.tolist(), strict=True)
        ],
        dtype=object,
    )


def assign(world: World, visits: Columns, rng: np.random.Generator) -> np.ndarray:
    """The professional of each visit (``visits`` as record_system._concat_visits makes them)."""
    person, unit = visits["person"], visits["unit_id"]
    group = np.asarray(visits["professional_group"]).astype(str)
    number = np.zeros(len(person), dtype=np.int64)
    stations = np.array([u.unit_id for u in world.units_of("health_station")])
    own_doctor = (group == codes.PHYSICIAN) & np.isin(unit, stations)

    # staff of a unit and group, in proportion to its visits (at least two)
    keys = np.char.add(np.char.add(group, ":"), unit.astype(str))
    distinct, where = np.unique(keys, return_inverse=True)
    per_year = np.bincount(where) / max(world.years, 1 / 365)
    staff = np.maximum(2, np.ceil(per_year / VISITS_PER_PROFESSIONAL_YEAR)).astype(np.int64)
    number = (rng.random(len(person)) * staff[where]).astype(np.int64)

    # health stations' doctors: one per PATIENTS_PER_OWN_DOCTOR patients (at least three)
    doctors = np.zeros(len(world.units) + 1, dtype=np.int64)
    for station in stations.tolist():
        patients = len(np.unique(person[own_doctor & (unit == station)]))
        doctors[station] = max(3, int(np.ceil(patients / PATIENTS_PER_OWN_DOCTOR)))
    own_draw = rng.integers(0, 1 << 30, size=len(world.residents))
    second_draw = rng.integers(0, 1 << 30, size=len(world.residents))
    i = np.flatnonzero(own_doctor)
    d = doctors[unit[i]]
    own = own_draw[person[i]] % d
    second = (own + 1 + second_draw[person[i]] % (d - 1)) % d
    other = (own + 1 + (rng.random(len(i)) * (d - 1)).astype(np.int64)) % d
    u = rng.random(len(i))
    number[i] = np.where(
        u < OWN_DOCTOR_SHARE,
        own,
        np.where(u < OWN_DOCTOR_SHARE + SECOND_DOCTOR_SHARE, second, other),
    )
    return _ids(group, unit, number)


def emergency_returns(
    world: World, visits: Columns, first_id: int, rng: np.random.Generator
) -> Columns:
    """Return visits to primary care emergency, 2 to 72 hours after a share of its visits (those
    that fall within the period), with ids from ``first_id``; columns as ``visits``, with the
    professional."""
    emergency = {u.unit_id for u in world.units_of("primary_emergency")}
    emergency_visits = np.flatnonzero(np.isin(visits["unit_id"], list(emergency)))
    index = emergency_visits[rng.random(len(emergency_visits)) < RETURN_SHARE]
    hours = rng.uniform(*RETURN_HOURS, size=len(index))
    start = visits["start"][index] + (hours * 3600).astype("timedelta64[s]")
    last = np.datetime64(world.period_end, "D") + np.timedelta64(1, "D")
    keep = start < last.astype("datetime64[s]")
    index, start = index[keep], start[keep]
    order = np.argsort(start, kind="stable")
    index, start = index[order], start[order]
    n = len(index)
    group = np.where(rng.random(n) < 0.7, codes.PHYSICIAN, codes.NURSE).astype(object)
    unit = visits["unit_id"][index]
    # the emergency unit's staff as assign() counts them (its visits of the group in a year)
    per_group_year = len(emergency_visits) / 2 / max(world.years, 1 / 365)
    staff = max(2, int(np.ceil(per_group_year / VISITS_PER_PROFESSIONAL_YEAR)))
    return {
        "person": visits["person"][index],
        "unit_id": unit,
        "start": start,
        "professional_group": group,
        "service_code": np.full(n, codes.SERVICE_PRIMARY_CARE, dtype=object),
        "specialty": np.full(n, None, dtype=object),
        "urgency": np.full(n, codes.URGENT, dtype=object),
        "contact_type": np.full(n, codes.CONTACT_AT_RECEPTION, dtype=object),
        "appointment_id": np.full(n, -1, dtype=np.int64),
        "visit_id": np.arange(first_id, first_id + n),
        "professional_id": _ids(group.astype(str), unit, (rng.random(n) * staff).astype(np.int64)),
    }
