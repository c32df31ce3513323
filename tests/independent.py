"""Indicator values computed straight from the generated source data, in plain Python.

Nothing here uses the pipeline's code: the sources are read with sqlite3 and csv, henkilötunnus
validity with python-stdnum directly, and each formula follows the catalogue's definition
(dbt/seeds/indicator_definitions.csv). The end-to-end test compares these with
marts.indicator_values.
"""

from __future__ import annotations

import bisect
import csv
import sqlite3
import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

from stdnum.fi import hetu as stdnum_hetu

MIN_CELL = 5
T3_CAP_DAYS = 182
HOLIDAYS = {(1, 1), (1, 6), (5, 1), (12, 6), (12, 24), (12, 25), (12, 26)}


def _population(data_dir: Path) -> dict[tuple[int, str], int]:
    residents: dict[tuple[int, str], int] = defaultdict(int)
    for path in (data_dir / "landing" / "population").glob("residents_*.csv"):
        with open(path, encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter=";"):
                residents[int(row["year"]), row["municipality_code"]] += int(row["residents"])
    return residents


def _suppress(numerator: float) -> bool:
    return 0 < numerator < MIN_CELL


def _legacy_rows(data_dir: Path):
    """Every row of the legacy exports (UTF-8 with BOM or Windows-1252)."""
    for path in sorted((data_dir / "landing" / "legacy_record").glob("kaynnit_*.csv")):
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("cp1252")
        yield from csv.DictReader(text.splitlines(), delimiter=";")


def legacy_rows_with_invalid_henkilotunnus(data_dir: Path) -> int:
    return sum(
        not stdnum_hetu.is_valid(r["HETU"], allow_temporary=True) for r in _legacy_rows(data_dir)
    )


def residences(con: sqlite3.Connection) -> dict[int, list[tuple[date, date, str]]]:
    """Each patient's residences (from, to, municipality), the last day included, from the
    record system's residence history."""
    out: dict[int, list] = defaultdict(list)
    for patient, municipality, first, last in con.execute(
        "select patient_id, municipality_code, valid_from, valid_to from patient_residences"
    ):
        to = date.fromisoformat(last) if last else date(9999, 12, 31)
        out[patient].append((date.fromisoformat(first), to, municipality))
    return out


def residence_on(history: list[tuple[date, date, str]], day: date) -> str | None:
    """The municipality of residence on ``day``; the earliest residence before it begins."""
    ordered = sorted(history)
    for first, last, municipality in ordered:
        if first <= day <= last:
            return municipality
    return ordered[0][2] if ordered and day < ordered[0][0] else None


def _legacy_physician_visits(
    data_dir: Path, known: dict[str, list[tuple[date, date, str]]]
) -> list[tuple[str, date]]:
    """(municipality, month) of each legacy physician visit at reception with a valid code: where
    the person lived on the day when the unified record system knows them (``known``: residences
    by henkilötunnus), else the municipality the legacy file recorded."""
    out = []
    for row in _legacy_rows(data_dir):
        if (
            row["AMMATTI"] == "LÄÄKÄRI"
            and row["YHTEYSTAPA"] == "VASTAANOTTO"
            and stdnum_hetu.is_valid(row["HETU"], allow_temporary=True)
        ):
            day, month, year = row["KAYNTIPVM"].split(".")
            visited = date(int(year), int(month), int(day))
            home = row["KUNTA"]
            if row["HETU"] in known:
                home = residence_on(known[row["HETU"]], visited) or home
            out.append((home, visited.replace(day=1)))
    return out


def physician_visits_per_1000(data_dir: Path, county: str) -> dict[tuple, float | None]:
    """Key (area_level, area_code, grain, period_start) -> value (None when suppressed).

    Physician visits at reception in health stations, in both record systems, by the patient's
    municipality of residence on the visit's day (the unified system's residence history; for a
    person it does not know, the municipality the legacy file recorded).
    """
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    history = residences(con)
    valid = {
        pid: code
        for pid, code in con.execute("select patient_id, hetu from patients")
        if stdnum_hetu.is_valid(code or "", allow_temporary=True)
    }
    counts: dict[tuple, int] = defaultdict(int)
    months = set()
    for patient_id, start in con.execute(
        "select v.patient_id, v.visit_start from visits v join units u using (unit_id) "
        "where v.professional_group = 'LK' and v.contact_type = 'R10' and not v.is_deleted "
        "and u.unit_type = 'health_station'"
    ):
        if patient_id in valid:
            month = date.fromisoformat(start[:7] + "-01")
            months.add(month)
            counts[residence_on(history[patient_id], date.fromisoformat(start[:10])), month] += 1
    known = {code: history[pid] for pid, code in valid.items()}
    for municipality, month in _legacy_physician_visits(data_dir, known):
        months.add(month)
        counts[municipality, month] += 1
    residents = _population(data_dir)
    out: dict[tuple, float | None] = {}
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for (year, municipality), people in residents.items():
        yearly = 0
        for month in sorted(m for m in months if m.year == year):
            n = counts[municipality, month]
            yearly += n
            out["municipality", municipality, "month", month] = (
                None if _suppress(n) else 1000 * n / people
            )
            totals["month", month][0] += n
            totals["month", month][1] += people
        out["municipality", municipality, "year", date(year, 1, 1)] = (
            None if _suppress(yearly) else 1000 * yearly / people
        )
        totals["year", date(year, 1, 1)][0] += yearly
        totals["year", date(year, 1, 1)][1] += people
    for (grain, start), (n, people) in totals.items():
        out["county", county, grain, start] = None if _suppress(n) else 1000 * n / people
    return out


def _working_days(first: date, last: date) -> list[date]:
    days, d = [], first
    while d <= last:
        if d.weekday() < 5 and (d.month, d.day) not in HOLIDAYS:
            days.append(d)
        d += timedelta(days=1)
    return days


def t3_median_days(data_dir: Path, county: str) -> dict[tuple, float]:
    """Key (area_level, area_code, professional group, month start) -> median days."""
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    units = {
        uid: (code, m)
        for uid, code, m in con.execute("select unit_id, unit_code, municipality_code from units")
    }
    groups = {"LK": "physician", "SH": "nurse"}
    calendars: dict[tuple, list] = defaultdict(list)
    last = None
    for unit_id, group, start, created, booked in con.execute(
        "select unit_id, professional_group, slot_start, created_at, booked_at from appointments"
    ):
        slot = datetime.fromisoformat(start)
        opened = datetime.fromisoformat(created)
        taken = datetime.fromisoformat(booked) if booked else None
        calendars[unit_id, group].append((slot, opened, taken))
        last = max(last or opened.date(), opened.date(), (taken or opened).date())
    measurements: dict[tuple, list[int]] = defaultdict(list)
    for (unit_id, group), slots in calendars.items():
        slots.sort(key=lambda s: s[0])
        starts = [s[0] for s in slots]
        unit_code, municipality = units[unit_id]
        for day in _working_days(starts[0].date(), last):  # from the calendar's first slot
            moment = datetime(day.year, day.month, day.day)
            free, days_to_third = 0, T3_CAP_DAYS
            for slot, opened, taken in slots[bisect.bisect_left(starts, moment) :]:
                if (slot.date() - day).days >= T3_CAP_DAYS:
                    break
                if opened <= moment and (taken is None or taken > moment):
                    free += 1
                    if free == 3:
                        days_to_third = (slot.date() - day).days
                        break
            month = day.replace(day=1)
            for level, code in (
                ("unit", unit_code),
                ("municipality", municipality),
                ("county", county),
            ):
                measurements[level, code, groups[group], month].append(days_to_third)
    return {key: statistics.median(values) for key, values in measurements.items()}


def net_cost_per_resident(data_dir: Path, county: str) -> dict[tuple, float]:
    """Key (service class or 'total', year) -> euros per resident."""
    with open(data_dir / "landing" / "finance" / "cost_centres.csv", encoding="utf-8") as f:
        mapping = {
            r["cost_centre"]: r["service_class_code"] for r in csv.DictReader(f, delimiter=";")
        }
    costs: dict[tuple, float] = defaultdict(float)
    for path in (data_dir / "landing" / "finance").glob("gl_*.csv"):
        with open(path, encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter=";"):
                year = int(row["period"][:4])
                amount = float(row["amount"].replace(",", "."))
                costs["total", year] += amount
                if row["cost_centre"] in mapping:
                    costs[mapping[row["cost_centre"]], year] += amount
    residents: dict[int, int] = defaultdict(int)
    for (year, _), people in _population(data_dir).items():
        residents[year] += people
    return {(code, year): total / residents[year] for (code, year), total in costs.items()}


def persons(data_dir: Path) -> dict[str, set[str]]:
    """Valid henkilötunnus -> the record systems the person appears in (unified patients,
    legacy visit files, the purchased services' FHIR Patients)."""
    import json

    known: dict[str, set[str]] = defaultdict(set)
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    for (code,) in con.execute("select hetu from patients"):
        if stdnum_hetu.is_valid(code or "", allow_temporary=True):
            known[code].add("unified_record")
    for row in _legacy_rows(data_dir):
        if stdnum_hetu.is_valid(row["HETU"], allow_temporary=True):
            known[row["HETU"]].add("legacy_record")
    for path in (data_dir / "landing" / "purchased_services").glob("Patient.*.ndjson"):
        for line in path.read_text(encoding="utf-8").splitlines():
            for identifier in json.loads(line).get("identifier", []):
                code = identifier.get("value", "")
                if identifier.get("system") == "urn:oid:1.2.246.21" and stdnum_hetu.is_valid(
                    code, allow_temporary=True
                ):
                    known[code].add("purchased_services")
    return known
