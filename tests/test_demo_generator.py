"""The demo county generator: deterministic, at the chosen scale, with plausible Finnish rates."""

import csv
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from sotelake.demo.generate import DemoSpec, generate
from stdnum.fi import hetu as stdnum_hetu

SMALL = DemoSpec(residents=2_000, seed=11)


def fingerprint(data_dir: Path) -> str:
    """Hash of every table row of the record system and every landing file's bytes."""
    digest = hashlib.sha256()
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    for (table,) in con.execute("select name from sqlite_master where type='table' order by name"):
        for row in con.execute(f"select * from {table} order by 1"):
            digest.update(repr(row).encode())
    for path in sorted((data_dir / "landing").rglob("*.csv")):
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


def test_rates_are_plausible_for_finnish_primary_care(small_demo):
    data_dir, _ = small_demo
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    physician = con.execute(
        "select count(*) from visits where professional_group = 'LK'"
    ).fetchone()[0]
    nurse = con.execute("select count(*) from visits where professional_group = 'SH'").fetchone()[0]
    assert 0.8 < physician / 2_000 < 1.4  # about one physician visit per resident per year
    assert 1.2 < nurse / 2_000 < 2.4
    statuses = dict(con.execute("select status, count(*) from appointments group by status"))
    assert set(statuses) == {"attended", "no_show", "booked", "free"}
    bad_order = con.execute(
        "select count(*) from appointments where booked_at < created_at or booked_at > slot_start"
    ).fetchone()[0]
    assert bad_order == 0
    ledger = list((data_dir / "landing" / "finance").glob("gl_2025-*.csv"))
    assert len(ledger) == 12


def test_spec_years_spans_the_period(tmp_path):
    manifest = generate(DemoSpec(residents=300, years=2, start_year=2024, seed=3), tmp_path)
    assert manifest["period"] == ["2024-01-01", "2025-12-31"]
    assert sorted(p.name for p in (tmp_path / "landing" / "population").iterdir()) == [
        "residents_2024.csv",
        "residents_2025.csv",
    ]
    assert manifest["rows"]["finance"]["files"] == 24
