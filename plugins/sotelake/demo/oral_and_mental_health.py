"""Oral health care (suun terveydenhuolto) and mental health and substance abuse services
(mielenterveys- ja päihdepalvelut), outpatient.

- Oral health: a dental clinic (hammashoitola, unit type ``oral_health``) in every municipality;
  visits by dentists (hammaslääkäri) and dental hygienists (suuhygienisti) in the record
  system's ``visits``, about 800 per 1 000 residents in a year, two thirds of them by dentists
  (children see hygienists more), about 40 % of residents visiting in a year; a few are phone
  contacts (R50).
- Mental health and substance abuse: a mental health outpatient clinic and a substance abuse
  clinic (A-klinikka), unit type ``mental_health``; episodes of outpatient care
  (``mental_health_episodes``: care type mental_health or substance_abuse, from a start day to
  an end day, empty while it lasts) of about 4 % of adults in a year, and their visits by
  psychologists, (psychiatric) nurses and physicians in ``visits``, some of them by video (R52)
  or phone (R50).

The units are not health stations, so primary care's visit counts, T3 and unit costs do not
count them. Everything is drawn from a generator of its own (``rng``) and the visits follow the
other visits' ids, so that adding them left the other tables' rows as they were.
"""

from __future__ import annotations

import numpy as np

from sotelake import finnish_calendar
from sotelake.demo import codes
from sotelake.demo.social_services import _spells, _weighted_choice
from sotelake.demo.world import Columns, World, rates_by_age

# Oral health visits per resident per year by age (upper bound of the age band): with the
# spread below, about 40 % of residents visit in a year, 2 visits each
ORAL_VISIT_RATE = [(6, 0.85), (17, 1.0), (64, 0.72), (74, 0.95), (200, 0.85)]
ORAL_SPREAD = 0.5  # gamma shape of a person's rate: the smaller, the more residents never visit
DENTIST_SHARE = [(17, 0.5), (200, 0.72)]  # of oral health visits, by age
ORAL_URGENT_SHARE = 0.15
ORAL_PHONE_SHARE = 0.05
# Episodes of outpatient care in force on a day of a year, share of adults; care type:
# (share, relative weights of the ages 18-29, 30-64, 65+, visits per year of episode)
EPISODES = {
    codes.CARE_MENTAL_HEALTH: (0.032, (2.0, 1.0, 0.4), 9.0),
    codes.CARE_SUBSTANCE_ABUSE: (0.010, (1.0, 1.3, 0.5), 11.0),
}
EPISODE_YEARS_BACK = 2.0
EPISODE_ENDED_SHARE = 0.55  # of the episodes, ended during the period
# professional groups of the visits by care type, and their shares
PROFESSIONALS = (codes.PSYCHOLOGIST, codes.NURSE, codes.PHYSICIAN)
GROUP_SHARES = {
    codes.CARE_MENTAL_HEALTH: (0.3, 0.55, 0.15),
    codes.CARE_SUBSTANCE_ABUSE: (0.15, 0.7, 0.15),
}
CONTACTS = (codes.CONTACT_AT_RECEPTION, codes.CONTACT_VIDEO, codes.CONTACT_PHONE)
CONTACT_SHARES = (0.8, 0.1, 0.1)
SERVICE = {
    codes.CARE_MENTAL_HEALTH: codes.SERVICE_MENTAL_HEALTH,
    codes.CARE_SUBSTANCE_ABUSE: codes.SERVICE_SUBSTANCE_ABUSE,
}


def add_units(world: World) -> None:
    for m in world.municipalities:
        world.add_unit(
            code=f"{world.county}-SUU-{m.code}",
            name_fi=f"Hammashoitola {m.name_fi}",
            name_sv=f"Tandklinik {m.name_sv}",
            municipality=m.code,
            unit_type="oral_health",
            specialty=None,
            service_code=codes.SERVICE_ORAL_HEALTH,
            cost_centre=codes.cost_centre("SUUN_TH", 1 + int(m.code) % 2),
        )
    biggest = max(world.municipalities, key=lambda m: m.population_2020)
    world.add_unit(
        code=f"{world.county}-MT-01",
        name_fi="Mielenterveyspalvelut, avohoito",
        name_sv="Mentalvårdstjänster, öppenvård",
        municipality=biggest.code,
        unit_type="mental_health",
        specialty=None,
        service_code=codes.SERVICE_MENTAL_HEALTH,
        cost_centre=codes.cost_centre("MIELENTERVEYS_PAIHDE", 1),
    )
    world.add_unit(
        code=f"{world.county}-PA-01",
        name_fi="Päihdepalvelut, A-klinikka",
        name_sv="Missbrukartjänster, A-klinik",
        municipality=biggest.code,
        unit_type="mental_health",
        specialty=None,
        service_code=codes.SERVICE_SUBSTANCE_ABUSE,
        cost_centre=codes.cost_centre("MIELENTERVEYS_PAIHDE", 2),
    )


def _at(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    minutes = rng.integers(8 * 60, 16 * 60, size=len(days))
    return days.astype("datetime64[s]") + minutes.astype("timedelta64[m]")


def _oral_visits(world: World, rng: np.random.Generator, days: np.ndarray) -> Columns:
    n = len(world.age)
    rate = rates_by_age(world.age, ORAL_VISIT_RATE)
    own = rng.gamma(ORAL_SPREAD, 1 / ORAL_SPREAD, size=n)  # a person's own tendency, mean 1
    person = np.repeat(np.arange(n), rng.poisson(rate * own * world.years))
    day = days[rng.integers(0, len(days), size=len(person))]
    keep = world.born_by(person, day)
    person, day = person[keep], day[keep]
    clinic = {u.municipality: u.unit_id for u in world.units_of("oral_health")}
    dentist = rng.random(len(person)) < rates_by_age(world.age[person], DENTIST_SHARE)
    return {
        "person": person,
        "unit_id": np.array([clinic[m] for m in world.residents.municipality[person]], np.int64),
        "start": _at(day, rng),
        "professional_group": np.where(dentist, codes.DENTIST, codes.DENTAL_HYGIENIST),
        "service_code": np.full(len(person), codes.SERVICE_ORAL_HEALTH),
        "urgency": np.where(
            rng.random(len(person)) < ORAL_URGENT_SHARE, codes.URGENT, codes.NON_URGENT
        ),
        "contact_type": np.where(
            rng.random(len(person)) < ORAL_PHONE_SHARE,
            codes.CONTACT_PHONE,
            codes.CONTACT_AT_RECEPTION,
        ),
    }


def _episodes(world: World, rng: np.random.Generator) -> Columns:
    age = world.age
    people, kinds, starts, stops = [], [], [], []
    for care_type, (share, weights, _) in EPISODES.items():
        weight = np.select(
            [age < 18, age < 30, age < 65], [0.0, weights[0], weights[1]], weights[2]
        )
        clients = _weighted_choice(rng, weight, int(round((age >= 18).sum() * share)))
        start, stop = _spells(world, rng, clients, EPISODE_YEARS_BACK, EPISODE_ENDED_SHARE)
        people.append(clients)
        kinds.append(np.full(len(clients), care_type))
        starts.append(start)
        stops.append(stop)
    start = np.concatenate(starts)
    order = np.lexsort((np.concatenate(people), start))
    care = np.concatenate(kinds)[order]
    unit = {u.service_code: u.unit_id for u in world.units_of("mental_health")}
    return {
        "episode_id": np.arange(1, len(order) + 1),
        "person": np.concatenate(people)[order],
        "unit_id": np.array([unit[SERVICE[c]] for c in care], np.int64),
        "care_type": care,
        "start_date": start[order],
        "end_date": np.concatenate(stops)[order],
    }


def _episode_visits(
    world: World, rng: np.random.Generator, episodes: Columns, days: np.ndarray
) -> Columns:
    """Visits on working days of each episode within the period."""
    first = np.maximum(episodes["start_date"], np.datetime64(world.period_start, "D"))
    ends = episodes["end_date"]
    last = np.where(np.isnat(ends), np.datetime64(world.period_end, "D"), ends)
    lo = np.searchsorted(days, first)
    hi = np.searchsorted(days, last, side="right")
    per_year = np.array([EPISODES[c][2] for c in episodes["care_type"]])
    span = np.maximum(hi - lo, 0)
    count = np.where(span > 0, rng.poisson(per_year * span / 250.0), 0)
    episode = np.repeat(np.arange(len(count)), count)
    day = days[lo[episode] + (rng.random(len(episode)) * span[episode]).astype(np.int64)]
    care = episodes["care_type"][episode]
    group = np.empty(len(episode), dtype=object)
    for care_type, shares in GROUP_SHARES.items():
        mine = care == care_type
        group[mine] = rng.choice(PROFESSIONALS, size=int(mine.sum()), p=shares)
    return {
        "person": episodes["person"][episode],
        "unit_id": episodes["unit_id"][episode],
        "start": _at(day, rng),
        "professional_group": group.astype(str),
        "service_code": np.array([SERVICE[c] for c in care], dtype=object).astype(str),
        "urgency": np.where(rng.random(len(episode)) < 0.05, codes.URGENT, codes.NON_URGENT),
        "contact_type": rng.choice(CONTACTS, size=len(episode), p=CONTACT_SHARES),
    }


def generate(world: World, rng: np.random.Generator) -> tuple[Columns, Columns]:
    """The visits of oral health and of mental health and substance abuse services (persons as
    indices, in time order, without ids), and the episodes of mental health and substance abuse
    outpatient care."""
    days = finnish_calendar.working_days(world.period_start, world.period_end)
    oral = _oral_visits(world, rng, days)
    episodes = _episodes(world, rng)
    mental = _episode_visits(world, rng, episodes, days)
    visits = {k: np.concatenate([oral[k], mental[k]]) for k in oral}
    order = np.lexsort((visits["unit_id"], visits["start"]))
    return {k: v[order] for k, v in visits.items()}, episodes
