"""Indicator values computed straight from the generated source data, in plain Python.

Nothing here uses the pipeline's code: the sources are read with sqlite3 and csv, henkilötunnus
validity with python-stdnum directly, and each formula follows the catalogue's definition
(dbt/seeds/indicator_definitions.csv). The end-to-end test compares these with
marts.indicator_values.
"""

from __future__ import annotations

import bisect
import csv
import json
import sqlite3
import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

from stdnum.fi import hetu as stdnum_hetu

MIN_CELL = 5
T3_CAP_DAYS = 182
FIXED_HOLIDAYS = {(1, 1), (1, 6), (5, 1), (12, 6), (12, 24), (12, 25), (12, 26)}


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
    person it does not know, the municipality the legacy file recorded). A unified patient whose
    henkilötunnus is invalid counts too, where they lived on the day (in the municipality their
    patient row records when the history has none).
    """
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    history = residences(con)
    valid, unidentified = _identified_unified(con)
    counts: dict[tuple, int] = defaultdict(int)
    months = set()
    for patient_id, start in con.execute(
        "select v.patient_id, v.visit_start from visits v join units u using (unit_id) "
        "where v.professional_group = 'LK' and v.contact_type = 'R10' and not v.is_deleted "
        "and u.unit_type = 'health_station'"
    ):
        month = date.fromisoformat(start[:7] + "-01")
        if patient_id in valid:
            months.add(month)
            counts[residence_on(history[patient_id], date.fromisoformat(start[:10])), month] += 1
        elif patient_id in unidentified:
            months.add(month)
            day = date.fromisoformat(start[:10])
            counts[_unidentified_lived_on(history, unidentified, patient_id, day), month] += 1
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


def easter_sunday(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian algorithm of Meeus, Jones and Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 (the algorithm's own name)
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = (h + l - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def finnish_weekday_holidays(year: int) -> set[date]:
    """The Finnish holidays of a year that can fall on a weekday (the law on the church's
    holidays and the working hours acts): the fixed-date ones, Good Friday, Easter Monday,
    Ascension Day (Thursday 39 days after Easter) and Midsummer Eve (the Friday of 19-25 June).
    All Saints' Day, Midsummer Day, Easter and Whitsun are always at a weekend."""
    easter = easter_sunday(year)
    midsummer_eve = next(date(year, 6, d) for d in range(19, 26) if date(year, 6, d).weekday() == 4)
    return {date(year, m, d) for m, d in FIXED_HOLIDAYS} | {
        easter - timedelta(days=2),
        easter + timedelta(days=1),
        easter + timedelta(days=39),
        midsummer_eve,
    }


def _working_days(first: date, last: date) -> list[date]:
    holidays = set().union(*(finnish_weekday_holidays(y) for y in range(first.year, last.year + 1)))
    days, d = [], first
    while d <= last:
        if d.weekday() < 5 and d not in holidays:
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


def _legacy_people(data_dir: Path) -> dict[str, str]:
    """Valid henkilötunnus of the legacy visit files -> the largest municipality code any of
    their rows recorded (as the warehouse picks one for a person only the legacy system
    knows)."""
    out: dict[str, str] = {}
    for row in _legacy_rows(data_dir):
        if stdnum_hetu.is_valid(row["HETU"], allow_temporary=True):
            out[row["HETU"]] = max(out.get(row["HETU"], ""), row["KUNTA"])
    return out


def _purchased_people(data_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The purchased services' FHIR Patients: (patient reference -> valid henkilötunnus,
    henkilötunnus -> municipality code)."""
    codes, municipalities = {}, {}
    for path in (data_dir / "landing" / "purchased_services").glob("Patient.*.ndjson"):
        for line in path.read_text(encoding="utf-8").splitlines():
            patient = json.loads(line)
            for identifier in patient.get("identifier", []):
                code = identifier.get("value", "")
                if identifier.get("system") == "urn:oid:1.2.246.21" and stdnum_hetu.is_valid(
                    code, allow_temporary=True
                ):
                    codes[f"Patient/{patient['id']}"] = code
                    for extension in patient.get("extension", []):
                        if extension.get("url", "").endswith("/municipality-code"):
                            municipalities[code] = extension["valueCoding"]["code"]
    return codes, municipalities


def multi_service_clients_share(data_dir: Path, county: str) -> dict[tuple, float | None]:
    """Key (area_level, area_code, year start) -> % of residents (None when suppressed).

    A person is one henkilötunnus across the record systems. A service area counts in a year
    when the person received it in the year (a visit or contact) or had it in force on a day
    of the year (an inpatient episode, a home-care decision, a round-the-clock stay, a
    child-welfare placement): the catalogue's rule. Visits at dental clinics and mental health
    and substance abuse units do not count. A person counts where they lived on 31
    December (the unified system's residence history; a person it does not know: where their
    own system has them).
    """
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    residents = _population(data_dir)
    years = sorted({year for year, _ in residents})
    patients = {
        pid: (code, municipality)
        for pid, code, municipality in con.execute(
            "select patient_id, hetu, municipality_code from patients"
        )
        if stdnum_hetu.is_valid(code or "", allow_temporary=True)
    }
    unit_type = dict(con.execute("select unit_id, unit_type from units"))
    areas = {
        "primary_emergency": "emergency",
        "specialist_emergency": "emergency",
        "specialist_outpatient": "specialist_care",
    }
    uses: dict[tuple[str, int], set[str]] = defaultdict(set)

    def used(person: str | None, year: int, area: str) -> None:
        if person is not None and year in years:
            uses[person, year].add(area)

    for pid, unit, start in con.execute(
        "select patient_id, unit_id, visit_start from visits where not is_deleted"
    ):
        # oral health and mental health and substance abuse services are not among the areas
        if pid in patients and unit_type.get(unit) not in ("oral_health", "mental_health"):
            used(patients[pid][0], int(start[:4]), areas.get(unit_type.get(unit), "primary_care"))
    for pid, start in con.execute(
        "select patient_id, visit_start from home_care_visits where not is_deleted"
    ):
        if pid in patients:
            used(patients[pid][0], int(start[:4]), "home_care")
    in_force = (
        ("inpatient_episodes", "admitted_at", "discharged_at", "specialist_care"),
        ("home_care_decisions", "start_date", "end_date", "home_care"),
        ("round_the_clock_care", "start_date", "end_date", "round_the_clock_care"),
        ("child_welfare_placements", "start_date", "end_date", "child_welfare"),
    )
    for table, first_column, last_column, area in in_force:
        for pid, first, last in con.execute(
            f"select patient_id, {first_column}, {last_column} from {table} where not is_deleted"
        ):
            if pid in patients:
                for year in years:
                    if int(first[:4]) <= year and (last is None or int(last[:4]) >= year):
                        used(patients[pid][0], year, area)
    legacy = _legacy_people(data_dir)
    for row in _legacy_rows(data_dir):
        if row["HETU"] in legacy:
            used(row["HETU"], int(row["KAYNTIPVM"].split(".")[2]), "primary_care")
    references, purchased = _purchased_people(data_dir)
    for path in (data_dir / "landing" / "purchased_services").glob("Encounter.*.ndjson"):
        for line in path.read_text(encoding="utf-8").splitlines():
            encounter = json.loads(line)
            person = references.get(encounter["subject"]["reference"])
            if encounter["status"] == "finished":
                used(person, int(encounter["period"]["start"][:4]), "primary_care")
    # where each person lived on 31 December
    history = residences(con)
    by_code = {code: (pid, municipality) for pid, (code, municipality) in patients.items()}
    counts: dict[tuple[str, int], int] = defaultdict(int)
    for (person, year), services in uses.items():
        if len(services) < 3:
            continue
        if person in by_code:
            pid, recorded = by_code[person]
            home = residence_on(history[pid], date(year, 12, 31)) if history[pid] else recorded
        else:
            home = legacy.get(person) or purchased.get(person)
        counts[home, year] += 1
    out: dict[tuple, float | None] = {}
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (year, municipality), people in residents.items():
        n = counts[municipality, year]
        out["municipality", municipality, date(year, 1, 1)] = (
            None if _suppress(n) else 100 * n / people
        )
        totals[year][0] += n
        totals[year][1] += people
    for year, (n, people) in totals.items():
        out["county", county, date(year, 1, 1)] = None if _suppress(n) else 100 * n / people
    return out


def rows_of_unidentified_patients(data_dir: Path, table: str) -> int:
    """The unified record system's rows of ``table`` (visits, inpatient_episodes; not
    deleted) of patients whose henkilötunnus is invalid."""
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    invalid = {
        pid
        for pid, code in con.execute("select patient_id, hetu from patients")
        if not stdnum_hetu.is_valid(code or "", allow_temporary=True)
    }
    return sum(
        pid in invalid
        for (pid,) in con.execute(f"select patient_id from {table} where not is_deleted")
    )


DISABILITY_SERVICE_TYPES = {  # the record system's codes -> the catalogue's breakdown classes
    "kuljetuspalvelu": "transport_services",
    "henkilokohtainen_apu": "personal_assistance",
    "ymparivuorokautinen_asuminen": "round_the_clock_housing",
    "paivatoiminta": "day_activities",
}
ASSISTANCE_TYPES = {"taydentava": "supplementary", "ehkaiseva": "preventive"}


def _people_of_the_year_per_1000(
    data_dir: Path,
    county: str,
    people: dict[tuple[int, int], set[str]],
    residents: dict[tuple[int, str], int] | None = None,
) -> dict[tuple, float | None]:
    """Key (area_level, area_code, breakdown class or 'total', year start) -> per 1 000 residents
    (None when the count is 1 to 4). ``people``: (patient id, year) -> the classes the person
    had that year; a person counts once in each of their classes and once in the total, where
    they lived on 31 December (the residence history; else the patient row's municipality). Every
    municipality has a value of each class that someone had (zero when no one there had it)."""
    classes = set().union(*people.values()) if people else set()
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    history = residences(con)
    recorded = dict(con.execute("select patient_id, municipality_code from patients"))
    residents = residents or _population(data_dir)  # the denominators (default: everyone)
    counts: dict[tuple, int] = defaultdict(int)
    for (pid, year), had in people.items():
        home = residence_on(history[pid], date(year, 12, 31)) if history[pid] else recorded[pid]
        for code in had | {"total"}:
            counts[home, code, year] += 1
    out: dict[tuple, float | None] = {}
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for (year, municipality), population in residents.items():
        for code in classes | {"total"}:
            n = counts[municipality, code, year]
            out["municipality", municipality, code, date(year, 1, 1)] = (
                None if _suppress(n) else 1000 * n / population
            )
            totals[code, year][0] += n
            totals[code, year][1] += population
    for (code, year), (n, population) in totals.items():
        out["county", county, code, date(year, 1, 1)] = (
            None if _suppress(n) else 1000 * n / population
        )
    return out


def _identified_patients(con: sqlite3.Connection) -> set[int]:
    return {
        pid
        for pid, code in con.execute("select patient_id, hetu from patients")
        if stdnum_hetu.is_valid(code or "", allow_temporary=True)
    }


def disability_services_clients_per_1000(data_dir: Path, county: str) -> dict[tuple, float | None]:
    """Key (area_level, area_code, service type or 'total', year start) -> clients per 1 000
    residents (None when suppressed): residents with a decision on disability services in force
    on a day of the year (not deleted; a person whose henkilötunnus is invalid is not linked),
    by service type and once in the total, where they lived on 31 December."""
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    identified = _identified_patients(con)
    years = sorted({year for year, _ in _population(data_dir)})
    people: dict[tuple[int, int], set[str]] = defaultdict(set)
    for pid, service, first, last in con.execute(
        "select patient_id, service_type, start_date, end_date "
        "from disability_service_decisions where not is_deleted"
    ):
        for year in years:
            if pid in identified and first <= f"{year}-12-31" and (last or "9") >= f"{year}-01-01":
                people[pid, year].add(DISABILITY_SERVICE_TYPES[service])
    return _people_of_the_year_per_1000(data_dir, county, people)


def social_assistance_recipients_per_1000(data_dir: Path, county: str) -> dict[tuple, float | None]:
    """Key (area_level, area_code, type of assistance or 'total', year start) -> recipients per
    1 000 residents (None when suppressed): residents granted supplementary or preventive social
    assistance (a granted decision with euros) for a month of the year, by type and once in the
    total, where they lived on 31 December."""
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    identified = _identified_patients(con)
    years = {year for year, _ in _population(data_dir)}
    people: dict[tuple[int, int], set[str]] = defaultdict(set)
    for pid, kind, month, outcome, euros in con.execute(
        "select patient_id, assistance_type, benefit_month, outcome, amount_eur "
        "from social_assistance_decisions where not is_deleted"
    ):
        year = int(month[:4])
        if pid in identified and outcome == "myonteinen" and euros > 0 and year in years:
            people[pid, year].add(ASSISTANCE_TYPES[kind])
    return _people_of_the_year_per_1000(data_dir, county, people)


# Primary care quality (issue 22): continuity of physician care, returns to emergency within 48
# hours, and the net cost of primary care per health-station visit and per client.


def _year_cells(
    sums: dict[tuple[str, int], list], county: str, scale: float = 1.0, unit: int = 1
) -> dict[tuple, tuple[float, float, float]]:
    """(municipality, period start) -> [numerator, denominator] to cells keyed (area_level,
    area_code, period start): (numerator, denominator, value), with the county's sums; cells of
    no denominator are left out. ``unit``: the numerators are integers in 1/unit."""
    out: dict[tuple, tuple[float, float, float]] = {}
    totals: dict[object, list] = defaultdict(lambda: [0, 0])
    for (municipality, start), (numerator, denominator) in sums.items():
        if denominator:
            out["municipality", municipality, start] = (
                numerator / unit,
                denominator,
                scale * numerator / (unit * denominator),
            )
        totals[start][0] += numerator
        totals[start][1] += denominator
    for start, (numerator, denominator) in totals.items():
        if denominator:
            out["county", county, start] = (
                numerator / unit,
                denominator,
                scale * numerator / (unit * denominator),
            )
    return out


def _unidentified_lived_on(
    history: dict[int, list], unidentified: dict[int, str], patient: int, day: date
) -> str | None:
    """Where a patient whose henkilötunnus is invalid lived on ``day``: their residence history,
    or without one the municipality their patient row records."""
    return residence_on(history[patient], day) if history.get(patient) else unidentified[patient]


def _identified_unified(con: sqlite3.Connection) -> tuple[dict[int, str], dict[int, str]]:
    """The unified patients: (patient id -> valid henkilötunnus, patient id -> the municipality
    the row records, for those whose henkilötunnus is invalid: where they live without a
    residence history)."""
    valid, unidentified = {}, {}
    for pid, code, municipality in con.execute(
        "select patient_id, hetu, municipality_code from patients"
    ):
        if stdnum_hetu.is_valid(code or "", allow_temporary=True):
            valid[pid] = code
        else:
            unidentified[pid] = municipality
    return valid, unidentified


def physician_continuity_index(data_dir: Path, county: str) -> dict[tuple, tuple]:
    """Key (area_level, area_code, year start) -> (numerator, denominator, value): the mean
    Bice-Boxerman COC index, (sum of n_j^2 - N) / (N (N - 1)), of the people with at least two
    in-person physician visits at a health station in the year that name the physician (the
    unified record system's; the legacy files name none), each index rounded half up to
    millionths in integers, where the people lived on 31 December."""
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    valid, _ = _identified_unified(con)
    history = residences(con)
    recorded = dict(con.execute("select patient_id, municipality_code from patients"))
    seen: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for pid, start, who_saw in con.execute(
        "select v.patient_id, v.visit_start, v.professional_id from visits v "
        "join units u using (unit_id) where u.unit_type = 'health_station' "
        "and v.professional_group = 'LK' and v.contact_type = 'R10' and not v.is_deleted "
        "and v.professional_id is not null"
    ):
        if pid in valid:
            seen[pid, int(start[:4])][who_saw] += 1
    years = {year for year, _ in _population(data_dir)}
    sums: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    for (pid, year), by_physician in seen.items():
        n = sum(by_physician.values())
        if n < 2 or year not in years:
            continue
        squares = sum(k * k for k in by_physician.values())
        millionths = (2_000_000 * (squares - n) + n * (n - 1)) // (2 * n * (n - 1))
        home = residence_on(history[pid], date(year, 12, 31)) if history[pid] else recorded[pid]
        sums[home, date(year, 1, 1)][0] += millionths
        sums[home, date(year, 1, 1)][1] += 1
    return _year_cells(sums, county, unit=1_000_000)


def emergency_returns_48h_share(data_dir: Path, county: str) -> dict[tuple, tuple]:
    """Key (area_level, area_code, year start) -> (numerator, denominator, value): of the visits
    to primary care emergency of people with a valid henkilötunnus, the % after which the person
    came back to primary care emergency within 48 hours (a later visit beginning at most 48 hours
    after), by the visit's year and where the person lived on its day."""
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    valid, _ = _identified_unified(con)
    history = residences(con)
    by_person: dict[int, list[datetime]] = defaultdict(list)
    for pid, start in con.execute(
        "select v.patient_id, v.visit_start from visits v join units u using (unit_id) "
        "where u.unit_type = 'primary_emergency' and not v.is_deleted"
    ):
        if pid in valid:
            by_person[pid].append(datetime.fromisoformat(start))
    years = {year for year, _ in _population(data_dir)}
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for pid, starts in by_person.items():
        for start in starts:
            if start.year not in years:
                continue
            returned = any(start < later <= start + timedelta(hours=48) for later in starts)
            home = residence_on(history[pid], start.date())
            sums[home, date(start.year, 1, 1)][0] += returned
            sums[home, date(start.year, 1, 1)][1] += 1
    return _year_cells(sums, county, scale=100.0)


def _ledger_net_cost(data_dir: Path, service_class: str) -> dict[int, float]:
    with open(data_dir / "landing" / "finance" / "cost_centres.csv", encoding="utf-8") as f:
        mapping = {
            r["cost_centre"]: r["service_class_code"] for r in csv.DictReader(f, delimiter=";")
        }
    costs: dict[int, float] = defaultdict(float)
    for path in (data_dir / "landing" / "finance").glob("gl_*.csv"):
        with open(path, encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter=";"):
                if mapping.get(row["cost_centre"]) == service_class:
                    costs[int(row["period"][:4])] += float(row["amount"].replace(",", "."))
    return costs


def _health_station_visits(data_dir: Path) -> list[tuple[str | None, str, date]]:
    """Every visit and contact at a health station that the warehouse has: (the person's
    henkilötunnus, None for a unified patient whose henkilötunnus is invalid; the municipality
    where they lived on the day; the day). The unified system's (not deleted) and the legacy
    files' (a valid henkilötunnus; one row per person, moment, unit, profession and contact
    type, as the warehouse keys them)."""
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    valid, unidentified = _identified_unified(con)
    history = residences(con)
    out: list[tuple[str | None, str, date]] = []
    for pid, start in con.execute(
        "select v.patient_id, v.visit_start from visits v join units u using (unit_id) "
        "where u.unit_type = 'health_station' and not v.is_deleted"
    ):
        day = date.fromisoformat(start[:10])
        if pid in valid:
            out.append((valid[pid], residence_on(history[pid], day), day))
        elif pid in unidentified:
            out.append((None, _unidentified_lived_on(history, unidentified, pid, day), day))
    known = {code: history[pid] for pid, code in valid.items()}
    seen = set()
    for row in _legacy_rows(data_dir):
        code = row["HETU"]
        key = (code, row["KAYNTIPVM"], row["KLO"], row["TOIMIPISTE"], row["AMMATTI"])
        key += (row["YHTEYSTAPA"],)
        if not stdnum_hetu.is_valid(code, allow_temporary=True) or key in seen:
            continue
        seen.add(key)
        d, m, y = row["KAYNTIPVM"].split(".")
        day = date(int(y), int(m), int(d))
        home = (residence_on(known[code], day) if code in known else None) or row["KUNTA"]
        out.append((code, home, day))
    return out


def pc_net_cost_per_visit(data_dir: Path, county: str) -> dict[tuple, tuple]:
    """Key (area_level, area_code, year start) -> (numerator, denominator, value): the ledger's
    net cost of PTH_AVO in the year per visit or contact at a health station of the county's
    residents (every record system; unified patients with an invalid henkilötunnus too)."""
    residents = _population(data_dir)
    ours = {municipality for _, municipality in residents}
    visits: dict[int, int] = defaultdict(int)
    for _, home, day in _health_station_visits(data_dir):
        if home in ours:
            visits[day.year] += 1
    costs = _ledger_net_cost(data_dir, "PTH_AVO")
    return {
        ("county", county, date(year, 1, 1)): (cost, visits[year], cost / visits[year])
        for year, cost in costs.items()
        if visits[year]
    }


def pc_net_cost_per_client(data_dir: Path, county: str) -> dict[tuple, tuple]:
    """Key (area_level, area_code, year start) -> (numerator, denominator, value): the ledger's
    net cost of PTH_AVO in the year per person with a visit or contact at a health station in
    the year (one henkilötunnus across the record systems) who lived in the county on 31
    December (the unified system's residence history; else where the legacy files have them)."""
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    valid, _ = _identified_unified(con)
    history = {valid[pid]: h for pid, h in residences(con).items() if pid in valid}
    recorded = {
        valid[pid]: m
        for pid, m in con.execute("select patient_id, municipality_code from patients")
        if pid in valid
    }
    legacy = _legacy_people(data_dir)
    ours = {municipality for _, municipality in _population(data_dir)}
    clients: dict[int, set[str]] = defaultdict(set)
    for code, _, day in _health_station_visits(data_dir):
        if code is None:
            continue
        if code in recorded:
            home = (
                residence_on(history[code], date(day.year, 12, 31))
                if history.get(code)
                else (recorded[code])
            )
        else:
            home = legacy[code]
        if home in ours:
            clients[day.year].add(code)
    costs = _ledger_net_cost(data_dir, "PTH_AVO")
    return {
        ("county", county, date(year, 1, 1)): (cost, len(clients[year]), cost / len(clients[year]))
        for year, cost in costs.items()
        if clients[year]
    }


ORAL_HEALTH_GROUPS = {"HLK": "dentist", "SHY": "dental_hygienist"}


def oral_health_visits_per_1000(data_dir: Path, county: str) -> dict[tuple, float | None]:
    """Key (area_level, area_code, professional group or 'total', grain, period start) ->
    visits per 1 000 residents (None when suppressed): visits at a dental clinic's reception
    (units of type oral_health, R10, not deleted) by dentists and dental hygienists, where the
    person lived on the visit's day (the residence history); a patient whose henkilötunnus is
    invalid counts in the municipality their patient row records. Every municipality has a value
    of each group in each month in which anyone visited (zero when no one there did)."""
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    history = residences(con)
    recorded = dict(con.execute("select patient_id, municipality_code from patients"))
    identified = _identified_patients(con)
    counts: dict[tuple, int] = defaultdict(int)
    months: set[date] = set()
    groups: set[str] = set()
    for pid, group, start in con.execute(
        "select v.patient_id, v.professional_group, v.visit_start from visits v "
        "join units u using (unit_id) where u.unit_type = 'oral_health' "
        "and v.contact_type = 'R10' and not v.is_deleted"
    ):
        day = date.fromisoformat(start[:10])
        home = residence_on(history[pid], day) if pid in identified else recorded[pid]
        month = day.replace(day=1)
        months.add(month)
        groups.add(ORAL_HEALTH_GROUPS[group])
        for code in (ORAL_HEALTH_GROUPS[group], "total"):
            counts[home, code, month] += 1
    out: dict[tuple, float | None] = {}
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for (year, municipality), people in _population(data_dir).items():
        for code in groups | {"total"}:
            yearly = 0
            for month in sorted(m for m in months if m.year == year):
                n = counts[municipality, code, month]
                yearly += n
                out["municipality", municipality, code, "month", month] = (
                    None if _suppress(n) else 1000 * n / people
                )
                totals[code, "month", month][0] += n
                totals[code, "month", month][1] += people
            out["municipality", municipality, code, "year", date(year, 1, 1)] = (
                None if _suppress(yearly) else 1000 * yearly / people
            )
            totals[code, "year", date(year, 1, 1)][0] += yearly
            totals[code, "year", date(year, 1, 1)][1] += people
    for (code, grain, start), (n, people) in totals.items():
        out["county", county, code, grain, start] = None if _suppress(n) else 1000 * n / people
    return out


def _birth_year(code: str) -> int:
    """The year of birth a henkilötunnus gives (its century sign: + 1800s, - and Y-U 1900s,
    A-F 2000s)."""
    century = {"+": 1800, "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000, "F": 2000}
    return century.get(code[6], 1900) + int(code[4:6])


def _adults(data_dir: Path) -> dict[tuple[int, str], int]:
    residents: dict[tuple[int, str], int] = defaultdict(int)
    for path in (data_dir / "landing" / "population").glob("residents_*.csv"):
        with open(path, encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter=";"):
                if int(row["age"]) >= 18:
                    residents[int(row["year"]), row["municipality_code"]] += int(row["residents"])
    return residents


def mental_health_substance_abuse_clients_per_1000(
    data_dir: Path, county: str
) -> dict[tuple, float | None]:
    """Key (area_level, area_code, care type or 'total', year start) -> clients per 1 000
    residents aged 18+ (None when suppressed): residents aged 18 or more at the end of the year
    (from the henkilötunnus) with an episode of mental health or substance abuse outpatient care
    in force on a day of the year (not deleted; a person whose henkilötunnus is invalid is not
    linked), by care type and once in the total, where they lived on 31 December."""
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    born = {
        pid: _birth_year(code)
        for pid, code in con.execute("select patient_id, hetu from patients")
        if stdnum_hetu.is_valid(code or "", allow_temporary=True)
    }
    years = sorted({year for year, _ in _population(data_dir)})
    people: dict[tuple[int, int], set[str]] = defaultdict(set)
    for pid, care, first, last in con.execute(
        "select patient_id, care_type, start_date, end_date "
        "from mental_health_episodes where not is_deleted"
    ):
        for year in years:
            if (
                pid in born
                and year - born[pid] >= 18
                and first <= f"{year}-12-31"
                and (last or "9") >= f"{year}-01-01"
            ):
                people[pid, year].add(care)
    return _people_of_the_year_per_1000(data_dir, county, people, _adults(data_dir))
