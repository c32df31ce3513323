"""What every part of the demo generator shares: the county, its residents, time and units."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np

from sotelake.demo.geography import Municipality
from sotelake.demo.population import Residents

Columns = dict[str, np.ndarray | list]  # a generated table: column name -> values


@dataclass(frozen=True)
class Unit:
    unit_id: int
    code: str
    name_fi: str
    name_sv: str
    municipality: str
    unit_type: str  # health_station | primary_emergency | specialist_outpatient | ...
    specialty: str | None
    service_code: str
    cost_centre: str


@dataclass
class World:
    rng: np.random.Generator
    county: str
    municipalities: list[Municipality]
    residents: Residents
    period_start: date
    period_end: date
    units: list[Unit] = field(default_factory=list)
    patient_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    age: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # at the period end

    def __post_init__(self) -> None:
        n = len(self.residents)
        self.patient_ids = 100_000 + self.rng.permutation(n) * 7 + self.rng.integers(0, 7, size=n)
        self.age = self.residents.age_at(self.period_end)

    @property
    def extraction_moment(self) -> np.datetime64:
        """The record system is extracted at the start of the day after the period."""
        return np.datetime64(datetime.combine(self.period_end + timedelta(days=1), time()), "s")

    @property
    def years(self) -> float:
        return ((self.period_end - self.period_start).days + 1) / 365.0

    def add_unit(self, **fields) -> Unit:
        unit = Unit(unit_id=len(self.units) + 1, **fields)
        self.units.append(unit)
        return unit

    def units_of(self, unit_type: str) -> list[Unit]:
        return [u for u in self.units if u.unit_type == unit_type]

    def random_days(
        self, count: int, start: date | None = None, end: date | None = None
    ) -> np.ndarray:
        """Uniformly random days (datetime64[D]) in [start, end], the period by default."""
        start, end = start or self.period_start, end or self.period_end
        offsets = self.rng.integers(0, (end - start).days + 1, size=count)
        return np.datetime64(start, "D") + offsets.astype("timedelta64[D]")

    def born_by(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Mask of events that happen on or after the person's birth."""
        return day >= self.residents.birth_date[person]


def rates_by_age(age: np.ndarray, table: list[tuple[int, float]]) -> np.ndarray:
    """Per-person rates from (upper age bound, rate) pairs, ascending."""
    bounds = np.array([b for b, _ in table])
    values = np.array([v for _, v in table])
    return values[np.searchsorted(bounds, age)]


def timestamps(values: np.ndarray) -> list[str | None]:
    """datetime64 to 'YYYY-MM-DD HH:MM:SS' text (NaT to None), as the record system stores them."""
    out = np.datetime_as_string(values.astype("datetime64[s]"), unit="s")
    return [None if v == "NaT" else v.replace("T", " ") for v in out.tolist()]


def dates(values: np.ndarray) -> list[str | None]:
    out = np.datetime_as_string(values.astype("datetime64[D]"), unit="D")
    return [None if v == "NaT" else v for v in out.tolist()]


def at_time(
    days: np.ndarray, rng: np.random.Generator, first_hour: int = 8, last_hour: int = 16
) -> np.ndarray:
    """A random minute between the hours on each day."""
    minutes = rng.integers(first_hour * 60, last_hour * 60, size=len(days))
    return days.astype("datetime64[s]") + minutes.astype("timedelta64[m]")
