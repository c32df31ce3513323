"""Specialist care (erikoissairaanhoito) at the county's central hospital.

Units: an outpatient clinic and a ward per specialty, and the emergency department. Primary
care refers patients (referrals: received, processed); accepted ones get outpatient visits, some
join the waiting list for elective treatment (placed, treated or still waiting at the period
end), and inpatient episodes come from emergencies and from the waiting list.
"""

from __future__ import annotations

import numpy as np

from sotelake.demo import codes
from sotelake.demo.world import Columns, World, at_time, rates_by_age

# Referrals to specialist care per resident per year, by age.
REFERRAL_RATE = [(17, 0.08), (64, 0.13), (74, 0.22), (200, 0.28)]
EMERGENCY_RATE = [(6, 0.15), (17, 0.10), (64, 0.15), (74, 0.28), (200, 0.45)]
URGENT_EPISODE_RATE = [(17, 0.03), (64, 0.05), (74, 0.12), (200, 0.25)]
FOLLOW_UP_VISITS = 2.5  # outpatient visits per accepted referral, on average
WAITING_LIST_SHARE = 0.4  # accepted referrals that lead to elective treatment
MEDIAN_WAIT_DAYS = {"10": 45, "20": 70, "30": 40, "40": 30, "50": 80, "55": 60, "70": 35}


def add_units(world: World) -> None:
    biggest = max(world.municipalities, key=lambda m: m.population_2020)
    for code, (fi, sv) in codes.SPECIALTIES.items():
        for unit_type, prefix_fi, prefix_sv in (
            ("specialist_outpatient", "poliklinikka", "poliklinik"),
            ("specialist_ward", "vuodeosasto", "vårdavdelning"),
        ):
            world.add_unit(
                code=f"{world.county}-ESH-{code}-{'POLI' if 'outpatient' in unit_type else 'OS'}",
                name_fi=f"{fi}, {prefix_fi}",
                name_sv=f"{sv}, {prefix_sv}",
                municipality=biggest.code,
                unit_type=unit_type,
                specialty=code,
                service_code=codes.SERVICE_SPECIALIST,
                cost_centre=codes.cost_centre("ESH", 1 + int(code) % 3),
            )
    world.add_unit(
        code=f"{world.county}-ESHPAIV-01",
        name_fi="Yhteispäivystys, erikoissairaanhoito",
        name_sv="Samjour, specialiserad sjukvård",
        municipality=biggest.code,
        unit_type="specialist_emergency",
        specialty=None,
        service_code=codes.SERVICE_SPECIALIST,
        cost_centre=codes.cost_centre("PAIVYSTYS", 1),
    )


def _unit_by_specialty(world: World, unit_type: str) -> dict[str, int]:
    return {u.specialty: u.unit_id for u in world.units_of(unit_type)}


def generate(world: World) -> tuple[dict[str, Columns], list[dict]]:
    """Referrals, waiting list, inpatient episodes (tables) and specialist visit parts."""
    rng, n = world.rng, len(world.residents)
    specialties = np.array(list(codes.SPECIALTIES))
    weights = np.array([0.25, 0.22, 0.12, 0.08, 0.12, 0.11, 0.10])
    outpatient = _unit_by_specialty(world, "specialist_outpatient")
    wards = _unit_by_specialty(world, "specialist_ward")

    # Referrals from primary care
    person = np.repeat(
        np.arange(n), rng.poisson(rates_by_age(world.age, REFERRAL_RATE) * world.years)
    )
    referred = world.random_days(len(person))
    keep = world.born_by(person, referred)
    person, referred = person[keep], referred[keep]
    r = len(person)
    specialty = rng.choice(specialties, size=r, p=weights)
    child = world.age[person] < 16
    specialty[child & (rng.random(r) < 0.7)] = "40"
    referred_at = at_time(referred, rng)
    received_at = referred_at + rng.integers(1, 72 * 3600, size=r).astype("timedelta64[s]")
    processed_at = received_at + (rng.integers(1, 25, size=r) * 86400).astype("timedelta64[s]")
    accepted = rng.random(r) < 0.9
    processed_at = np.where(
        processed_at < world.extraction_moment, processed_at, np.datetime64("NaT")
    )
    status = np.where(
        np.isnat(processed_at), "received", np.where(accepted, "accepted", "returned")
    )
    referrals = {
        "referral_id": np.arange(1, r + 1),
        "person": person,
        "referring_unit_id": np.full(r, world.units_of("health_station")[0].unit_id),
        "specialty": specialty,
        "referred_at": referred_at,
        "received_at": received_at,
        "processed_at": processed_at,
        "status": status,
    }

    # Outpatient visits after acceptance
    ok = status == "accepted"
    visits_per = rng.poisson(FOLLOW_UP_VISITS, size=r) * ok
    v_person = np.repeat(person, visits_per)
    v_specialty = np.repeat(specialty, visits_per)
    first = np.repeat(processed_at, visits_per)
    v_start = first + (rng.integers(3, 200, size=len(v_person)) * 86400).astype("timedelta64[s]")
    in_period = v_start < world.extraction_moment
    outpatient_visits = dict(
        person=v_person[in_period],
        unit=np.array([outpatient[s] for s in v_specialty[in_period]]),
        group=codes.PHYSICIAN,
        start=v_start[in_period],
        urgency=codes.NON_URGENT,
        contact_type=codes.CONTACT_AT_RECEPTION,
        specialty=v_specialty[in_period],
        service_code=codes.SERVICE_SPECIALIST,
    )

    # Waiting list for elective treatment
    to_list = ok & (rng.random(r) < WAITING_LIST_SHARE) & ~np.isnat(processed_at)
    w_idx = np.flatnonzero(to_list)
    median = np.array([MEDIAN_WAIT_DAYS[s] for s in specialty[w_idx]])
    wait = np.round(rng.lognormal(np.log(median), 0.7)).astype(int)
    placed_at = processed_at[w_idx]
    treated_at = placed_at + (wait * 86400).astype("timedelta64[s]")
    waiting = treated_at >= world.extraction_moment
    treated_at = np.where(waiting, np.datetime64("NaT"), treated_at)
    w = len(w_idx)
    waiting_list = {
        "entry_id": np.arange(1, w + 1),
        "person": person[w_idx],
        "referral_id": referrals["referral_id"][w_idx],
        "specialty": specialty[w_idx],
        "placed_at": placed_at,
        "treated_at": treated_at,
    }

    # Inpatient episodes: urgent admissions and treated waiting-list entries
    e_person = np.repeat(
        np.arange(n), rng.poisson(rates_by_age(world.age, URGENT_EPISODE_RATE) * world.years)
    )
    e_day = world.random_days(len(e_person))
    keep = world.born_by(e_person, e_day)
    e_person, e_day = e_person[keep], e_day[keep]
    e_specialty = rng.choice(specialties, size=len(e_person), p=weights)
    treated = ~np.isnat(treated_at)
    admitted = np.r_[at_time(e_day, rng, 0, 24), treated_at[treated]]
    ep_person = np.r_[e_person, waiting_list["person"][treated]]
    ep_specialty = np.r_[e_specialty, waiting_list["specialty"][treated]]
    admission = np.r_[np.full(len(e_person), "urgent"), np.full(int(treated.sum()), "elective")]
    stay = np.maximum(1, np.round(rng.gamma(1.6, 2.5, size=len(admitted)))).astype(int)
    discharged = admitted + (stay * 86400 + rng.integers(-4, 4, size=len(stay)) * 3600).astype(
        "timedelta64[s]"
    )
    discharged = np.where(discharged < world.extraction_moment, discharged, np.datetime64("NaT"))
    q = len(admitted)
    episodes = {
        "episode_id": np.arange(1, q + 1),
        "person": ep_person,
        "unit_id": np.array([wards[s] for s in ep_specialty]),
        "specialty": ep_specialty,
        "admitted_at": admitted,
        "discharged_at": discharged,
        "admission_type": admission,
    }

    # Emergency department visits
    x_person = np.repeat(
        np.arange(n), rng.poisson(rates_by_age(world.age, EMERGENCY_RATE) * world.years)
    )
    x_day = world.random_days(len(x_person))
    keep = world.born_by(x_person, x_day)
    emergency_visits = dict(
        person=x_person[keep],
        unit=np.full(int(keep.sum()), world.units_of("specialist_emergency")[0].unit_id),
        group=codes.PHYSICIAN,
        start=at_time(x_day[keep], rng, 0, 24),
        urgency=codes.URGENT,
        contact_type=codes.CONTACT_AT_RECEPTION,
        service_code=codes.SERVICE_SPECIALIST,
    )
    tables = {"referrals": referrals, "waiting_list": waiting_list, "inpatient_episodes": episodes}
    return tables, [outpatient_visits, emergency_visits]
