"""Finland's public holidays and working days, from the `holidays` package.

The package is maintained and has Finland's movable feasts (Good Friday, Easter Monday,
Ascension Day, Midsummer Eve) as well as the fixed-date ones, with their Finnish and Swedish
names. Two things use it:

- the warehouse's calendar: ``sotelake calendar`` writes the dbt seed
  ``dbt/seeds/finnish_holidays.csv`` (one row per holiday of dim_date's years), which
  ``int_days_classified`` joins to say which days are working days (T3 is measured on them); a
  test keeps the committed seed equal to what the pinned package gives;
- the demo region's calendars (sotelake.demo): no non-urgent slots on holidays.

A working day is Monday to Friday and not one of these holidays (Midsummer Eve and Christmas
Eve included: health stations keep holiday hours on them).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import holidays
import numpy as np

FIRST_YEAR, LAST_YEAR = 2015, 2035  # the years of dim_date (int_days_classified)
SEED_NAME = "finnish_holidays"
SEED_COLUMNS = ("holiday_date", "name_fi", "name_sv", "name_en")


@dataclass(frozen=True)
class Holiday:
    day: date
    name_fi: str
    name_sv: str
    name_en: str


@cache
def finnish_holidays(first_year: int = FIRST_YEAR, last_year: int = LAST_YEAR) -> tuple:
    """Every Finnish holiday of the years, in date order, with its names in three languages."""
    years = range(first_year, last_year + 1)
    names = {
        language: holidays.country_holidays("FI", years=years, language=language)
        for language in ("fi", "sv_FI", "en_US")
    }
    return tuple(
        Holiday(day, names["fi"][day], names["sv_FI"][day], names["en_US"][day])
        for day in sorted(names["fi"])
    )


@cache
def _holiday_days() -> frozenset[date]:
    return frozenset(h.day for h in finnish_holidays())


def is_working_day(day: date) -> bool:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(f"{day} is outside the calendar's years {FIRST_YEAR}-{LAST_YEAR}")
    return day.weekday() < 5 and day not in _holiday_days()


def days(start: date, end: date) -> np.ndarray:
    """Every day from start to end inclusive, as datetime64[D]."""
    return np.arange(
        np.datetime64(start), np.datetime64(end + timedelta(days=1)), dtype="datetime64[D]"
    )


def working_days(start: date, end: date) -> np.ndarray:
    """The working days from start to end inclusive, as datetime64[D]."""
    every_day = days(start, end)
    keep = np.array([is_working_day(d) for d in every_day.astype(object)], dtype=bool)
    return every_day[keep]


def seed_path(dbt_project: Path) -> Path:
    return dbt_project / "seeds" / f"{SEED_NAME}.csv"


def seed_text() -> str:
    """The seed's CSV: one row per holiday of dim_date's years."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SEED_COLUMNS)
    for h in finnish_holidays():
        writer.writerow((h.day.isoformat(), h.name_fi, h.name_sv, h.name_en))
    return out.getvalue()


def write_seed(dbt_project: Path) -> Path:
    path = seed_path(dbt_project)
    path.write_text(seed_text(), encoding="utf-8")
    return path
