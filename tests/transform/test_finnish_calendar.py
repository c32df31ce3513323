"""The Finnish calendar: holidays from the maintained `holidays` package into dim_date's seed and
the demo's calendars; checked against an independent computation
(tests/support/independent.py: Easter by the Gregorian algorithm, the other holidays by their
rules)."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from support import independent

from sotelake import finnish_calendar
from sotelake.settings import get_settings


def test_the_committed_seed_equals_what_the_pinned_package_gives():
    path = finnish_calendar.seed_path(get_settings().dbt_project)
    assert path.read_text(encoding="utf-8") == finnish_calendar.seed_text(), (
        f"{path} differs from the holidays package: run `sotelake calendar`"
    )


def test_every_weekday_holiday_of_dim_dates_years_is_in_the_seed():
    """Good Friday, Easter Monday, Ascension Day, Midsummer Eve and the fixed-date holidays of
    every year 2015-2035, each with its Finnish and Swedish name."""
    path = finnish_calendar.seed_path(get_settings().dbt_project)
    with open(path, encoding="utf-8") as f:
        rows = {date.fromisoformat(r["holiday_date"]): r for r in csv.DictReader(f)}
    expected = set().union(
        *(
            independent.finnish_weekday_holidays(year)
            for year in range(finnish_calendar.FIRST_YEAR, finnish_calendar.LAST_YEAR + 1)
        )
    )
    assert not expected - set(rows), sorted(expected - set(rows))
    assert rows[date(2025, 4, 18)]["name_fi"] == "Pitkäperjantai"
    assert rows[date(2025, 4, 21)]["name_sv"] == "Annandag påsk"
    assert all(r["name_fi"] and r["name_sv"] for r in rows.values())
    # no weekday is a holiday that the independent rules do not know
    assert {d for d in rows if d.weekday() < 5} == {d for d in expected if d.weekday() < 5}


def test_working_days_of_easter_and_midsummer_2025():
    easter_week = finnish_calendar.working_days(date(2025, 4, 14), date(2025, 4, 22))
    assert [str(d) for d in easter_week] == [
        "2025-04-14",
        "2025-04-15",
        "2025-04-16",
        "2025-04-17",
        "2025-04-22",
    ]
    assert not finnish_calendar.is_working_day(date(2025, 5, 29))  # Ascension Day
    assert not finnish_calendar.is_working_day(date(2025, 6, 20))  # Midsummer Eve
    assert finnish_calendar.is_working_day(date(2025, 6, 19))
    year = finnish_calendar.working_days(date(2025, 1, 1), date(2025, 12, 31))
    weekdays = sum(
        (date(2025, 1, 1) + timedelta(days=i)).weekday() < 5 for i in range(365)
    )  # 261 weekdays in 2025
    off = [d for d in independent.finnish_weekday_holidays(2025) if d.weekday() < 5]
    assert len(year) == weekdays - len(off) == 251  # Independence Day 2025 is a Saturday
