"""Disability services (vammaispalvelut) and adult social work (aikuissosiaalityö).

- Disability services decisions, each of one service type: transport services (kuljetuspalvelu,
  about 15 clients per 1 000 residents in a year, most of them older people), personal
  assistance (henkilökohtainen apu, about 4 / 1 000), housing services with round-the-clock
  support (ympärivuorokautinen asuminen, about 2.5 / 1 000) and day activities (päivätoiminta,
  about 2 / 1 000), in force from a start day to an end day (empty while in force).
- Client relationships of adult social work (asiakkuudet): about 2.5 % of adults are clients
  at some point of a year, young adults most.
- Decisions on social assistance (toimeentulotuki) that the county grants: supplementary
  (täydentävä) and preventive (ehkäisevä); basic assistance is Kela's and not here. About 1.2 %
  of residents receive it in a year, many of them clients of adult social work, with several
  monthly decisions each (the month the assistance is for, the decision day, the amount in
  euros); some applications are refused (amount 0).

Everything is drawn from a generator of its own (``rng``), so that adding these tables left the
other tables' rows as they were. Every client is in force on some day of the period.
"""

from __future__ import annotations

import numpy as np

from sotelake.demo import codes
from sotelake.demo.world import Columns, World

# service type (the record system's code): (clients per 1 000 residents in a year,
# relative weights of the ages 0-17, 18-64, 65-74, 75+, years the decisions reach back)
DISABILITY_SERVICES = {
    codes.DISABILITY_TRANSPORT: (15.0, (0.2, 1.0, 3.0, 8.0), 4.0),
    codes.DISABILITY_PERSONAL_ASSISTANCE: (4.0, (0.0, 1.0, 0.5, 0.3), 5.0),
    codes.DISABILITY_HOUSING: (2.5, (0.0, 1.0, 0.3, 0.1), 8.0),
    codes.DISABILITY_DAY_ACTIVITIES: (2.0, (0.0, 1.0, 0.0, 0.0), 6.0),
}
DISABILITY_ENDED_SHARE = 0.12  # of the decisions, ended during the period
SOCIAL_WORK_CLIENT_SHARE_18 = 0.025  # of adults, clients at some point of a year
SOCIAL_WORK_ENDED_SHARE = 0.45
SOCIAL_ASSISTANCE_SHARE = 0.012  # of residents, receiving it in a year
SOCIAL_ASSISTANCE_FROM_CLIENTS = 0.6  # of the recipients, clients of adult social work
PREVENTIVE_SHARE = 0.15  # of the decisions, preventive (ehkäisevä) assistance
REFUSED_SHARE = 0.12  # of the decisions, refused (kielteinen, amount 0)


def add_units(world: World) -> None:
    biggest = max(world.municipalities, key=lambda m: m.population_2020)
    world.add_unit(
        code=f"{world.county}-VP-01",
        name_fi="Vammaispalvelut",
        name_sv="Tjänster för personer med funktionsnedsättning",
        municipality=biggest.code,
        unit_type="disability_services",
        specialty=None,
        service_code=codes.SERVICE_DISABILITY,
        cost_centre=codes.cost_centre("VAMMAISPALVELUT", 1),
    )
    world.add_unit(
        code=f"{world.county}-VP-02",
        name_fi="Vammaispalvelujen asumispalvelut",
        name_sv="Boendeservice för personer med funktionsnedsättning",
        municipality=biggest.code,
        unit_type="disability_services",
        specialty=None,
        service_code=codes.SERVICE_DISABILITY,
        cost_centre=codes.cost_centre("VAMMAISPALVELUT", 2),
    )
    for m in world.municipalities:
        world.add_unit(
            code=f"{world.county}-AS-{m.code}",
            name_fi=f"Aikuissosiaalityö {m.name_fi}",
            name_sv=f"Socialt arbete för vuxna {m.name_sv}",
            municipality=m.code,
            unit_type="adult_social_work",
            specialty=None,
            service_code=codes.SERVICE_ADULT_SOCIAL_WORK,
            cost_centre=codes.cost_centre("AIKUISSOSIAALITYO", 1),
        )


def _weighted_choice(
    rng: np.random.Generator, weights: np.ndarray, count: int, exclude: np.ndarray | None = None
) -> np.ndarray:
    """``count`` distinct persons, each chosen with probability in proportion to its weight."""
    weights = weights.astype(float).copy()
    if exclude is not None:
        weights[exclude] = 0.0
    count = min(count, int(np.count_nonzero(weights)))
    if count == 0:
        return np.empty(0, np.int64)
    return np.sort(rng.choice(len(weights), size=count, replace=False, p=weights / weights.sum()))


def _by_age(age: np.ndarray, weights: tuple[float, float, float, float]) -> np.ndarray:
    return np.select([age < 18, age < 65, age < 75], weights[:3], weights[3])


def _spells(
    world: World, rng: np.random.Generator, person: np.ndarray, years_back: float, ended: float
) -> tuple[np.ndarray, np.ndarray]:
    """Start and end days of spells in force on some day of the period: they began up to
    ``years_back`` years before its end (not before the person's birth), and a share ``ended``
    of them ended during the period (the others last)."""
    first = np.datetime64(world.period_start, "D")
    last = np.datetime64(world.period_end, "D")
    span = int((last - first).astype(int) + 365 * years_back)
    start = last - rng.integers(0, span + 1, size=len(person)).astype("timedelta64[D]")
    start = np.maximum(start, world.residents.birth_date[person].astype("datetime64[D]"))
    from_day = np.maximum(start, first)
    days_left = (last - from_day).astype(int)
    stop = from_day + (rng.random(len(person)) * (days_left + 1)).astype("timedelta64[D]")
    return start, np.where(rng.random(len(person)) < ended, stop, np.datetime64("NaT"))


def _nearest_unit(world: World, unit_type: str, person: np.ndarray) -> np.ndarray:
    by_municipality = {u.municipality: u.unit_id for u in world.units_of(unit_type)}
    fallback = world.units_of(unit_type)[0].unit_id
    return np.array(
        [by_municipality.get(m, fallback) for m in world.residents.municipality[person]],
        dtype=np.int64,
    )


def generate(world: World, rng: np.random.Generator) -> dict[str, Columns]:
    age, n = world.age, len(world.age)
    tables: dict[str, Columns] = {}

    # Disability services decisions: one per client and service type
    people, types, starts, stops = [], [], [], []
    for service_type, (per_1000, weights, years_back) in DISABILITY_SERVICES.items():
        clients = _weighted_choice(rng, _by_age(age, weights), int(round(n * per_1000 / 1000)))
        start, stop = _spells(world, rng, clients, years_back, DISABILITY_ENDED_SHARE)
        people.append(clients)
        types.append(np.full(len(clients), service_type))
        starts.append(start)
        stops.append(stop)
    person = np.concatenate(people)
    order = np.lexsort((person, np.concatenate(starts)))
    person = person[order]
    service = np.concatenate(types)[order]
    offices, housing = world.units_of("disability_services")
    tables["disability_service_decisions"] = {
        "decision_id": np.arange(1, len(person) + 1),
        "person": person,
        "unit_id": np.where(
            service == codes.DISABILITY_HOUSING, housing.unit_id, offices.unit_id
        ).astype(np.int64),
        "service_type": service,
        "start_date": np.concatenate(starts)[order],
        "end_date": np.concatenate(stops)[order],
    }

    # Client relationships of adult social work
    adults = age >= 18
    weights = np.where(adults, np.select([age < 30, age < 65], [2.0, 1.0], 0.3), 0.0)
    clients = _weighted_choice(rng, weights, int(round(adults.sum() * SOCIAL_WORK_CLIENT_SHARE_18)))
    start, stop = _spells(world, rng, clients, 3.0, SOCIAL_WORK_ENDED_SHARE)
    tables["adult_social_work_clients"] = {
        "relationship_id": np.arange(1, len(clients) + 1),
        "person": clients,
        "unit_id": _nearest_unit(world, "adult_social_work", clients),
        "start_date": start,
        "end_date": stop,
    }

    # Social assistance: monthly decisions of the recipients, most of them clients above
    total = int(round(n * SOCIAL_ASSISTANCE_SHARE))
    from_clients = _weighted_choice(
        rng, np.ones(len(clients)), int(round(total * SOCIAL_ASSISTANCE_FROM_CLIENTS))
    )
    recipients = np.r_[
        clients[from_clients],
        _weighted_choice(
            rng,
            np.where(adults, np.select([age < 30, age < 65], [2.0, 1.0], 0.3), 0.0),
            total - len(from_clients),
            exclude=clients,
        ),
    ]
    months = np.arange(
        np.datetime64(world.period_start, "M"), np.datetime64(world.period_end, "M") + 1
    )
    per_recipient = np.minimum(1 + rng.poisson(2.5, size=len(recipients)), len(months))
    recipient = np.repeat(recipients, per_recipient)
    month = np.concatenate(
        [np.sort(rng.choice(months, size=k, replace=False)) for k in per_recipient.tolist()]
        or [np.empty(0, "datetime64[M]")]
    ).astype("datetime64[D]")
    d = len(recipient)
    decided = np.minimum(
        month + rng.integers(-10, 20, size=d).astype("timedelta64[D]"),
        np.datetime64(world.period_end, "D"),
    )
    preventive = rng.random(d) < PREVENTIVE_SHARE
    refused = rng.random(d) < REFUSED_SHARE
    amount = np.where(
        preventive,
        rng.lognormal(np.log(350.0), 0.6, size=d),
        rng.lognormal(np.log(160.0), 0.7, size=d),
    )
    order = np.lexsort((recipient, decided))
    tables["social_assistance_decisions"] = {
        "decision_id": np.arange(1, d + 1),
        "person": recipient[order],
        "unit_id": _nearest_unit(world, "adult_social_work", recipient[order]),
        "decision_date": decided[order],
        "assistance_type": np.where(
            preventive, codes.ASSISTANCE_PREVENTIVE, codes.ASSISTANCE_SUPPLEMENTARY
        )[order],
        "benefit_month": month[order],
        "outcome": np.where(refused, codes.DECISION_REFUSED, codes.DECISION_GRANTED)[order],
        "amount_eur": np.where(refused, 0.0, np.round(amount, 2))[order],
    }
    return tables
