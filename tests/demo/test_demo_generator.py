"""The demo county generator: deterministic, at the chosen scale, with plausible Finnish rates."""

import csv
import hashlib
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from stdnum.fi import hetu as stdnum_hetu
from support import independent

from sotelake.demo.changes import advance
from sotelake.demo.generate import DemoSpec, generate

SMALL = DemoSpec(residents=2_000, seed=11)


def fingerprint(data_dir: Path) -> str:
    """Hash of every table row of the record system and every landing file's bytes."""
    digest = hashlib.sha256()
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    for (table,) in con.execute("select name from sqlite_master where type='table' order by name"):
        for row in con.execute(f"select * from {table} order by 1"):
            digest.update(repr(row).encode())
    for path in sorted((data_dir / "landing").rglob("*.csv")):  # ledger, legacy, HR, population
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo-a")
    return path, generate(SMALL, path)


def test_same_seed_same_data_other_seed_other_data(small_demo, tmp_path):
    first, _ = small_demo
    generate(SMALL, tmp_path / "again")
    generate(DemoSpec(residents=2_000, seed=12), tmp_path / "other")
    assert fingerprint(first) == fingerprint(tmp_path / "again")
    assert fingerprint(first) != fingerprint(tmp_path / "other")


def test_scale_geography_and_population_table(small_demo):
    data_dir, manifest = small_demo
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    assert con.execute("select count(*) from patients").fetchone()[0] == 2_000
    municipalities = {r[0] for r in con.execute("select distinct municipality_code from patients")}
    # Pohjanmaa's 14 real municipality codes (Statistics Finland)
    assert municipalities == {
        "231",
        "280",
        "287",
        "288",
        "399",
        "440",
        "475",
        "499",
        "545",
        "598",
        "599",
        "893",
        "905",
        "946",
    }
    with open(data_dir / "landing" / "population" / "residents_2025.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert sum(int(r["residents"]) for r in rows) == 2_000
    vaasa = sum(int(r["residents"]) for r in rows if r["municipality_code"] == "905")
    assert 0.35 < vaasa / 2_000 < 0.42  # Vaasa is 38 % of the county
    assert (
        json.loads((data_dir / "sources" / "demo_manifest.json").read_text())["spec"]["seed"] == 11
    )
    assert manifest["rows"]["unified_record"]["patients"] == 2_000


def test_henkilotunnus_are_unique_and_valid_except_the_injected_errors(small_demo):
    data_dir, manifest = small_demo
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    codes = [r[0] for r in con.execute("select hetu from patients")]
    assert len(set(codes)) == len(codes)
    invalid = [c for c in codes if not stdnum_hetu.is_valid(c)]
    assert len(invalid) == manifest["invalid_hetu"] == round(2_000 * SMALL.invalid_hetu_rate)
    assert {c[6] for c in codes} >= {"-", "A"}


def _count(con, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


def test_rates_are_plausible_for_finland(small_demo):
    data_dir, manifest = small_demo
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    per_resident = {
        "pc_physician": _count(
            con,
            "select count(*) from visits join units using (unit_id) "
            "where unit_type = 'health_station' and professional_group = 'LK' "
            "and contact_type = 'R10'",
        )
        + manifest["rows"]["legacy_record"]["visits"] * 0.4,
        "pc_emergency": _count(
            con,
            "select count(*) from visits join units using (unit_id) "
            "where unit_type = 'primary_emergency'",
        ),
        "specialist_emergency": _count(
            con,
            "select count(*) from visits join units using (unit_id) "
            "where unit_type = 'specialist_emergency'",
        ),
        "inpatient_episodes": _count(con, "select count(*) from inpatient_episodes"),
        "remote": _count(con, "select count(*) from visits where contact_type <> 'R10'"),
    }
    rates = {k: v / 2_000 for k, v in per_resident.items()}
    assert 0.7 < rates["pc_physician"] < 1.4  # about one physician visit per resident per year
    assert 0.15 < rates["pc_emergency"] < 0.4 and 0.1 < rates["specialist_emergency"] < 0.35
    assert 0.05 < rates["inpatient_episodes"] < 0.2 and 1.0 < rates["remote"] < 2.2
    statuses = dict(con.execute("select status, count(*) from appointments group by status"))
    assert set(statuses) == {"attended", "no_show", "booked", "free"}
    assert (
        _count(
            con,
            "select count(*) from appointments where booked_at < created_at "
            "or booked_at > slot_start",
        )
        == 0
    )
    aged = {p for (p,) in con.execute("select patient_id from patients")}
    assert aged and _count(con, "select count(distinct patient_id) from home_care_decisions") > 0
    # shares of the target groups at the period end (residents 75+ and children)
    with open(data_dir / "landing" / "population" / "residents_2025.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    over_75 = sum(int(r["residents"]) for r in rows if int(r["age"]) >= 75)
    children = sum(int(r["residents"]) for r in rows if int(r["age"]) <= 17)
    home_care = _count(con, "select count(*) from home_care_decisions where end_date is null")
    round_the_clock = _count(
        con, "select count(*) from round_the_clock_care where end_date is null"
    )
    placed = _count(
        con,
        "select count(*) from child_welfare_placements "
        "where end_date is null or end_date >= '2025-01-01'",
    )
    assert 0.05 < home_care / over_75 < 0.15
    assert 0.03 < round_the_clock / over_75 < 0.09
    assert 0.005 < placed / children < 0.025
    assert len(list((data_dir / "landing" / "finance").glob("gl_2025-*.csv"))) == 12


def test_disability_services_and_adult_social_work_are_plausible(small_demo):
    """Clients in a year (a decision or client relationship in force on a day of 2025) and
    recipients of social assistance at Finnish rates; amounts only where granted."""
    data_dir, manifest = small_demo
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    in_2025 = "start_date <= '2025-12-31' and (end_date is null or end_date >= '2025-01-01')"
    clients = dict(
        con.execute(
            "select service_type, count(distinct patient_id) from disability_service_decisions "
            f"where {in_2025} group by 1"
        ).fetchall()
    )
    per_1000 = {k: 1000 * v / 2_000 for k, v in clients.items()}
    assert 10 < per_1000["kuljetuspalvelu"] < 20  # transport services
    assert 2 < per_1000["henkilokohtainen_apu"] < 6  # personal assistance
    assert 1.5 < per_1000["ymparivuorokautinen_asuminen"] < 4  # round-the-clock housing
    assert 1 < per_1000["paivatoiminta"] < 3.5  # day activities
    assert (
        _count(con, "select count(*) from disability_service_decisions where end_date < start_date")
        == 0
    )
    with open(data_dir / "landing" / "population" / "residents_2025.csv", encoding="utf-8") as f:
        adults = sum(
            int(r["residents"]) for r in csv.DictReader(f, delimiter=";") if int(r["age"]) >= 18
        )
    social_work = _count(
        con, f"select count(distinct patient_id) from adult_social_work_clients where {in_2025}"
    )
    assert 0.02 < social_work / adults < 0.03
    recipients, decisions = con.execute(
        "select count(distinct patient_id), count(*) from social_assistance_decisions "
        "where outcome = 'myonteinen' and amount_eur > 0"
    ).fetchone()
    assert 0.009 < recipients / 2_000 < 0.016 and 2 < decisions / recipients < 6
    assert dict(
        con.execute(
            "select outcome, min(amount_eur) > 0 from social_assistance_decisions group by 1"
        ).fetchall()
    ) == {"myonteinen": 1, "kielteinen": 0}
    assert {
        r[0]
        for r in con.execute("select distinct assistance_type from social_assistance_decisions")
    } == {
        "taydentava",
        "ehkaiseva",
    }
    months = {
        r[0] for r in con.execute("select distinct benefit_month from social_assistance_decisions")
    }
    assert months == {f"2025-{m:02d}-01" for m in range(1, 13)}
    rows = manifest["rows"]["unified_record"]
    assert rows["social_assistance_decisions"] > rows["adult_social_work_clients"] > 0


def test_visits_name_their_professional_and_some_return_to_emergency(small_demo):
    """Every visit names a staff id of its unit and group; a patient sees their own doctor in
    about 45 % of the physician visits at their health station (the next most often one in
    about 20 %); about 8 % of emergency visits get a return 2 to 72 hours later (issue 22)."""
    data_dir, _ = small_demo
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    assert _count(con, "select count(*) from visits where professional_id is null") == 0
    assert (
        _count(
            con,
            "select count(*) from visits where professional_id not like "
            "professional_group || '-' || unit_id || '-%'",
        )
        == 0
    )
    seen: dict[int, list[int]] = {}
    for patient, _, n in con.execute(
        "select patient_id, professional_id, count(*) from visits join units using (unit_id) "
        "where unit_type = 'health_station' and professional_group = 'LK' "
        "and contact_type = 'R10' group by 1, 2 order by 1, 3 desc"
    ).fetchall():
        seen.setdefault(patient, []).append(n)
    often = [n for n in seen.values() if sum(n) >= 5]
    own = sum(n[0] for n in often) / sum(sum(n) for n in often)
    assert 0.4 < own < 0.7  # the most frequent doctor: the own one (and chance)
    emergency = _count(
        con,
        "select count(*) from visits join units using (unit_id) "
        "where unit_type = 'primary_emergency'",
    )
    returns = con.execute(
        "select count(distinct a.visit_id), "
        "sum((julianday(b.visit_start) - julianday(a.visit_start)) * 24 <= 48) "
        "from visits a join visits b on a.patient_id = b.patient_id and a.unit_id = b.unit_id "
        "and b.visit_start > a.visit_start "
        "and julianday(b.visit_start) - julianday(a.visit_start) <= 3 "
        "join units u on u.unit_id = a.unit_id where u.unit_type = 'primary_emergency'"
    ).fetchone()
    assert 0.05 < returns[0] / emergency < 0.14 and 0 < returns[1] < returns[0]


def test_oral_health_and_mental_health_services_are_plausible(small_demo):
    """Oral health visits (about 800 per 1 000 residents, two thirds by dentists) and mental
    health and substance abuse clients (about 4 % of adults) at Finnish rates, at units of
    their own types, which are not health stations."""
    data_dir, manifest = small_demo
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    oral = dict(
        con.execute(
            "select professional_group, count(*) from visits join units using (unit_id) "
            "where unit_type = 'oral_health' and contact_type = 'R10' and not is_deleted "
            "group by 1"
        ).fetchall()
    )
    assert set(oral) == {"HLK", "SHY"}  # dentists and dental hygienists
    assert 600 < 1000 * sum(oral.values()) / 2_000 < 1000
    assert 0.55 < oral["HLK"] / sum(oral.values()) < 0.78
    clients = _count(
        con,
        "select count(distinct patient_id) from visits join units using (unit_id) "
        "where unit_type = 'oral_health'",
    )
    assert 0.3 < clients / 2_000 < 0.5
    assert {
        r[0]
        for r in con.execute(
            "select distinct visits.service_code from visits join units using (unit_id) "
            "where unit_type in ('oral_health', 'mental_health')"
        )
    } == {"SUU", "MT", "PA"}
    in_2025 = "start_date <= '2025-12-31' and (end_date is null or end_date >= '2025-01-01')"
    episodes = dict(
        con.execute(
            "select care_type, count(distinct patient_id) from mental_health_episodes "
            f"where {in_2025} group by 1"
        ).fetchall()
    )
    with open(data_dir / "landing" / "population" / "residents_2025.csv", encoding="utf-8") as f:
        adults = sum(
            int(r["residents"]) for r in csv.DictReader(f, delimiter=";") if int(r["age"]) >= 18
        )
    assert 0.03 < sum(episodes.values()) / adults < 0.055
    assert episodes["mental_health"] > episodes["substance_abuse"] > 0
    groups = {
        r[0]
        for r in con.execute(
            "select distinct professional_group from visits join units using (unit_id) "
            "where unit_type = 'mental_health'"
        )
    }
    assert groups == {"PSY", "SH", "LK"}
    # every visit of a mental health unit is of a patient with an episode there in force
    outside = _count(
        con,
        "select count(*) from visits v join units u using (unit_id) "
        "where u.unit_type = 'mental_health' and not exists (select 1 from "
        "mental_health_episodes e where e.patient_id = v.patient_id and e.unit_id = v.unit_id "
        "and e.start_date <= substr(v.visit_start, 1, 10) "
        "and (e.end_date is null or e.end_date >= substr(v.visit_start, 1, 10)))",
    )
    assert outside == 0
    assert (
        _count(con, "select count(*) from mental_health_episodes where end_date < start_date") == 0
    )
    assert manifest["rows"]["unified_record"]["mental_health_episodes"] > 0


def test_no_appointment_slots_on_finnish_holidays(small_demo):
    """Health stations open no slots on weekends or holidays, movable ones included (the
    holidays computed independently: tests/support/independent.py)."""
    path, _ = small_demo
    con = sqlite3.connect(path / "sources" / "unified_record.sqlite")
    slot_days = {
        date.fromisoformat(d)
        for (d,) in con.execute("select distinct substr(slot_start, 1, 10) from appointments")
    }
    years = {d.year for d in slot_days}
    holidays = set().union(*(independent.finnish_weekday_holidays(y) for y in years))
    assert date(2025, 4, 18) in holidays and len(slot_days) > 200
    assert not {d for d in slot_days if d in holidays or d.weekday() >= 5}


def test_legacy_files_use_the_old_dialects(small_demo):
    data_dir, manifest = small_demo
    files = sorted((data_dir / "landing" / "legacy_record").glob("kaynnit_*.csv"))
    assert manifest["legacy"]["cutover"] == "2025-04-01"
    assert {f.name.split("_")[1] for f in files} == {"231", "280", "287", "545"}
    assert {f.name.split("_")[2][:7] for f in files} == {"2025-01", "2025-02", "2025-03"}
    for path in files:
        raw = path.read_bytes()
        if path.name.split("_")[1] in ("280", "545"):  # Windows-1252: Ä is one byte, no BOM
            assert not raw.startswith(b"\xef\xbb\xbf") and "LÄÄKÄRI".encode("cp1252") in raw
        else:
            assert raw.startswith(b"\xef\xbb\xbf")
        header = raw.decode("cp1252" if not raw.startswith(b"\xef") else "utf-8-sig").splitlines()
        assert header[0].startswith("HETU;NIMI;KUNTA;KAYNTIPVM")
        assert "," in header[1].split(";")[9] and header[1].split(";")[3].count(".") == 2
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    early = _count(
        con,
        "select count(*) from visits join units using (unit_id) where "
        "municipality_code in ('231','280','287','545') and unit_type = 'health_station' "
        "and visit_start < '2025-04-01'",
    )
    assert early == 0, (
        "before the cut-over these municipalities' visits are only in the legacy files"
    )


def test_advancing_a_day_changes_rows_of_that_day(tmp_path):
    generate(DemoSpec(residents=1_000, seed=4), tmp_path)
    counts = advance(tmp_path, date(2026, 1, 2))
    assert counts["new_visits"] > 0 and counts["deleted_visits"] >= 0
    con = sqlite3.connect(tmp_path / "sources" / "unified_record.sqlite")
    changed = _count(con, "select count(*) from visits where updated_at >= '2026-01-02'")
    assert changed == (
        counts["new_visits"]
        + counts["corrected_visits"]
        + counts["deleted_visits"]
        + counts["new_oral_health_visits"]
        + counts["new_mental_health_visits"]
    )
    assert counts["new_oral_health_visits"] > 0
    for table, changes in (
        (
            "disability_service_decisions",
            ("new_disability_decisions", "ended_disability_decisions"),
        ),
        ("adult_social_work_clients", ("new_social_work_clients", "ended_social_work_clients")),
        ("social_assistance_decisions", ("social_assistance_decisions",)),
        (
            "mental_health_episodes",
            ("new_mental_health_episodes", "ended_mental_health_episodes"),
        ),
    ):
        changed = _count(con, f"select count(*) from {table} where updated_at >= '2026-01-02'")
        assert changed == sum(counts[c] for c in changes), table
    assert (
        _count(
            con,
            "select count(*) from visits where updated_at >= '2026-01-02' "
            "and professional_id is null",
        )
        == 0
    )
    # a small county's day moves someone too: a residence from a day up to two weeks back, the
    # one before it ended the day before, and the patient's row in the new municipality
    assert counts["moved_patients"] >= 1
    moves = con.execute(
        "select new.patient_id, new.valid_from, old.valid_to, new.municipality_code, "
        "old.municipality_code, patients.municipality_code from patient_residences new "
        "left join patient_residences old on old.patient_id = new.patient_id "
        "and old.updated_at >= '2026-01-02' and old.valid_to is not null "
        "join patients on patients.patient_id = new.patient_id "
        "where new.updated_at >= '2026-01-02' and new.valid_to is null"
    ).fetchall()
    assert len(moves) == counts["moved_patients"]
    assert any(was for *_, was, _ in moves), "someone who lived somewhere before moved"
    for _, moved_on, ended, to, was, now in moves:
        assert "2025-12-19" <= moved_on <= "2026-01-02" and now == to
        if was:
            assert to != was
            assert date.fromisoformat(ended) == date.fromisoformat(moved_on) - timedelta(days=1)
    again = tmp_path / "again"
    generate(DemoSpec(residents=1_000, seed=4), again)
    assert advance(again, date(2026, 1, 2)) == counts
    assert fingerprint(again) == fingerprint(tmp_path)


def test_spec_years_spans_the_period(tmp_path):
    manifest = generate(DemoSpec(residents=300, years=2, start_year=2024, seed=3), tmp_path)
    assert manifest["period"] == ["2024-01-01", "2025-12-31"]
    assert sorted(p.name for p in (tmp_path / "landing" / "population").iterdir()) == [
        "residents_2024.csv",
        "residents_2025.csv",
    ]
    assert len(list((tmp_path / "landing" / "finance").glob("gl_*.csv"))) == 24
