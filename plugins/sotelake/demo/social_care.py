"""Social care: regular home care, round-the-clock care and child-welfare placements.

Shares at the period end follow Finland's levels: about 10 % of residents aged 75+ in regular
home care and 7 % in round-the-clock care, and about 1.3 % of children placed outside the home
at some point of the year.
"""

from __future__ import annotations

import numpy as np

from sotelake.demo import codes
from sotelake.demo.world import Columns, World, at_time

HOME_CARE_SHARE_75 = 0.10
HOME_CARE_SHARE_65_74 = 0.02
ROUND_THE_CLOCK_SHARE_75 = 0.07
PLACEMENT_SHARE_0_17 = 0.013


def add_units(world: World) -> None:
    for m in world.municipalities:
        world.add_unit(
            code=f"{world.county}-KH-{m.code}",
            name_fi=f"Kotihoito {m.name_fi}",
            name_sv=f"Hemvård {m.name_sv}",
            municipality=m.code,
            unit_type="home_care",
            specialty=None,
            service_code=codes.SERVICE_HOME_CARE,
            cost_centre=codes.cost_centre("KOTIHOITO", 1 + int(m.code) % 3),
        )
        if m.population_2020 >= 5_000:
            world.add_unit(
                code=f"{world.county}-YVH-{m.code}",
                name_fi=f"Palvelukoti {m.name_fi}",
                name_sv=f"Servicehem {m.name_sv}",
                municipality=m.code,
                unit_type="round_the_clock",
                specialty=None,
                service_code=codes.SERVICE_ROUND_THE_CLOCK,
                cost_centre=codes.cost_centre("YMPARIVUOROKAUTINEN", 1 + int(m.code) % 3),
            )
    biggest = max(world.municipalities, key=lambda m: m.population_2020)
    world.add_unit(
        code=f"{world.county}-LS-01",
        name_fi="Lastensuojelun sijaishuolto",
        name_sv="Barnskyddets vård utom hemmet",
        municipality=biggest.code,
        unit_type="child_welfare",
        specialty=None,
        service_code=codes.SERVICE_CHILD_WELFARE,
        cost_centre=codes.cost_centre("LASTENSUOJELU", 1),
    )


def _choose(world: World, eligible: np.ndarray, share: float) -> np.ndarray:
    candidates = np.flatnonzero(eligible)
    size = int(round(len(candidates) * share))
    return (
        np.sort(world.rng.choice(candidates, size=size, replace=False)) if size else candidates[:0]
    )


def _spell_starts(world: World, count: int, years_back: float) -> np.ndarray:
    """Start days of care spells: some began before the period, some during it."""
    span = int((world.period_end - world.period_start).days + 365 * years_back)
    end = np.datetime64(world.period_end, "D")
    return end - world.rng.integers(0, span, size=count).astype("timedelta64[D]")


def _nearest_unit(world: World, unit_type: str, person: np.ndarray) -> np.ndarray:
    by_municipality = {u.municipality: u.unit_id for u in world.units_of(unit_type)}
    fallback = world.units_of(unit_type)[0].unit_id
    return np.array(
        [by_municipality.get(m, fallback) for m in world.residents.municipality[person]],
        dtype=np.int64,
    )


def generate(world: World) -> dict[str, Columns]:
    rng, age = world.rng, world.age
    end = np.datetime64(world.period_end, "D")
    tables: dict[str, Columns] = {}

    # Regular home care (säännöllinen kotihoito): decisions and visits
    clients = np.r_[
        _choose(world, age >= 75, HOME_CARE_SHARE_75),
        _choose(world, (age >= 65) & (age < 75), HOME_CARE_SHARE_65_74),
    ]
    k = len(clients)
    start = _spell_starts(world, k, 2.0)
    ended = rng.random(k) < 0.15
    stop = np.where(
        ended,
        np.minimum(start + rng.integers(30, 400, size=k).astype("timedelta64[D]"), end),
        np.datetime64("NaT"),
    )
    per_week = rng.choice(
        [2, 3, 5, 7, 10, 14, 21], size=k, p=[0.2, 0.2, 0.2, 0.15, 0.12, 0.08, 0.05]
    )
    unit = _nearest_unit(world, "home_care", clients)
    tables["home_care_decisions"] = {
        "decision_id": np.arange(1, k + 1),
        "person": clients,
        "unit_id": unit,
        "service_type": np.full(k, "regular"),
        "start_date": start,
        "end_date": stop,
        "visits_per_week": per_week,
    }
    first = np.maximum(start, np.datetime64(world.period_start, "D"))
    last = np.where(np.isnat(stop), end, stop)
    days = np.maximum(0, (last - first).astype(int) + 1)
    count = rng.poisson(per_week * days / 7)
    decision = np.repeat(np.arange(k), count)
    offset = (rng.random(len(decision)) * days[decision]).astype(int)
    visit_day = first[decision] + offset.astype("timedelta64[D]")
    tables["home_care_visits"] = {
        "visit_id": np.arange(1, len(decision) + 1),
        "person": clients[decision],
        "unit_id": unit[decision],
        "decision_id": decision + 1,
        "visit_start": at_time(visit_day, rng, 7, 21),
        "duration_min": rng.choice([15, 20, 30, 45, 60], size=len(decision)),
    }

    # Round-the-clock care (ympärivuorokautinen palveluasuminen, laitoshoito)
    residents_24h = _choose(
        world, (age >= 75) & ~np.isin(np.arange(len(age)), clients), ROUND_THE_CLOCK_SHARE_75
    )
    s = len(residents_24h)
    start = _spell_starts(world, s, 4.0)
    stop = np.where(
        rng.random(s) < 0.2,
        np.minimum(start + rng.integers(30, 900, size=s).astype("timedelta64[D]"), end),
        np.datetime64("NaT"),
    )
    tables["round_the_clock_care"] = {
        "stay_id": np.arange(1, s + 1),
        "person": residents_24h,
        "unit_id": _nearest_unit(world, "round_the_clock", residents_24h),
        "care_type": rng.choice(
            ["tehostettu_palveluasuminen", "laitoshoito"], size=s, p=[0.9, 0.1]
        ),
        "start_date": start,
        "end_date": stop,
    }

    # Child-welfare placements outside the home (sijoitukset)
    children = _choose(world, age <= 17, PLACEMENT_SHARE_0_17)
    c = len(children)
    start = _spell_starts(world, c, 3.0)
    start = np.maximum(start, world.residents.birth_date[children].astype("datetime64[D]"))
    stop = np.where(
        rng.random(c) < 0.35,
        np.minimum(start + rng.integers(20, 700, size=c).astype("timedelta64[D]"), end),
        np.datetime64("NaT"),
    )
    tables["child_welfare_placements"] = {
        "placement_id": np.arange(1, c + 1),
        "person": children,
        "unit_id": np.full(c, world.units_of("child_welfare")[0].unit_id),
        "placement_type": rng.choice(
            ["perhehoito", "ammatillinen_perhehoito", "laitoshoito"], size=c, p=[0.45, 0.25, 0.30]
        ),
        "start_date": start,
        "end_date": stop,
    }
    return tables
