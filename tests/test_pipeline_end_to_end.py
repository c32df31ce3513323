"""The whole pipeline through Airflow (dag.test) on a small demo county.

One DAG run is shared by the tests of this module: generation, extraction, GX, dbt build and
the reports. Indicator values are checked against tests/independent.py, which computes them
from the generated sources without the pipeline's code.
"""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import date

import duckdb
import independent
import pytest
from conftest import SESSION_DATA

from sotelake import cli
from sotelake.airflow_run import run_pipeline
from sotelake.demo.changes import advance
from sotelake.demo.generate import DemoSpec, generate
from sotelake.privacy.scan import scan_tree
from sotelake.quality.suite_spec import build_mart_suites
from sotelake.settings import get_settings
from sotelake.sources.registry import all_tables, load_registry

SPEC = DemoSpec(residents=3_000, seed=7)
TABLES = len(all_tables(load_registry()))  # every registered table is loaded and validated
LOAD_DATE = date(2026, 1, 1)  # the demo county's extraction day


@pytest.fixture(scope="module")
def run(airflow_db):
    manifest = generate(SPEC, SESSION_DATA)
    summary = run_pipeline(LOAD_DATE)
    return manifest, summary


@pytest.fixture
def warehouse(run):
    con = duckdb.connect(str(get_settings().warehouse), read_only=True)
    yield con
    con.close()


def values(warehouse, indicator_id: str) -> list[dict]:
    cursor = warehouse.execute(
        "select * from marts.indicator_values where indicator_id = ?", [indicator_id]
    )
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def close(a, b) -> bool:
    return (a is None and b is None) or (
        a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9)
    )


def test_every_task_succeeded(run):
    _, summary = run
    assert summary.succeeded, summary.task_states
    assert set(summary.stage_seconds) == {
        "plan",
        "extract",
        "validate",
        "transform",
        "publish",
        "conclude",
    }
    extracts = [k for k in summary.task_states if k.startswith("extract[")]
    assert len(extracts) == TABLES and all(summary.task_states[k] == "success" for k in extracts)


def test_physician_visits_per_1000_match_the_sources(run, warehouse):
    expected = independent.physician_visits_per_1000(SESSION_DATA, SPEC.county)
    rows = values(warehouse, "pc_physician_visits_per_1000")
    actual = {
        (r["area_level"], r["area_code"], r["period_grain"], r["period_start"]): r["value"]
        for r in rows
    }
    assert set(actual) == set(expected)
    assert len(actual) == 14 * 13 + 13  # municipalities and the county, 12 months and the year
    legacy = {
        r["area_code"]
        for r in rows
        if r["area_level"] == "municipality"
        and r["period_start"] < date(2025, 4, 1)
        and r["numerator"]
    }
    assert {"231", "280", "287", "545"} & legacy, (
        "legacy municipalities have visits before the cut-over"
    )
    mismatches = {
        k: (actual[k], expected[k]) for k in expected if not close(actual[k], expected[k])
    }
    assert not mismatches
    suppressed = [r for r in rows if r["suppressed"]]
    assert suppressed, "a 3 000-resident county has small monthly cells"
    assert all(r["value"] is None and r["numerator"] is None for r in suppressed)
    assert {r["run_id"] for r in rows} == {run[1].run_id}


def test_t3_matches_the_calendar(run, warehouse):
    expected = independent.t3_median_days(SESSION_DATA, SPEC.county)
    actual = {
        (r["area_level"], r["area_code"], r["breakdown_code"], r["period_start"]): r["value"]
        for r in values(warehouse, "t3_median_days")
    }
    assert set(actual) == set(expected)
    assert {k[0] for k in actual} == {"unit", "municipality", "county"}
    mismatches = {
        k: (actual[k], expected[k]) for k in expected if not close(actual[k], expected[k])
    }
    assert not mismatches
    county = [v for k, v in actual.items() if k[0] == "county" and k[2] == "physician"]
    assert 2 <= statistics_median(county) <= 40  # days: plausible for Finnish health stations


def statistics_median(values):
    values = sorted(values)
    return values[len(values) // 2]


def test_net_cost_per_resident_matches_the_ledger(run, warehouse):
    expected = independent.net_cost_per_resident(SESSION_DATA, SPEC.county)
    actual = {
        (r["breakdown_code"], r["period_start"].year): r["value"]
        for r in values(warehouse, "net_cost_per_resident")
    }
    assert set(actual) == set(expected)
    assert all(math.isclose(actual[k], expected[k], rel_tol=1e-9) for k in expected)
    assert 3_000 < actual["total", 2025] < 6_500  # euros per resident, as in Finland


def test_every_extracted_row_is_in_raw_or_quarantine(run, warehouse):
    manifest, _ = run
    audit = warehouse.execute(
        "select source || '.' || table_name, extracted, loaded, quarantined from dq.load_audit"
    ).fetchall()
    assert len(audit) == TABLES
    assert all(extracted == loaded + quarantined for _, extracted, loaded, quarantined in audit)
    counts = {name: (extracted, quarantined) for name, extracted, _, quarantined in audit}
    assert counts["unified_record.patients"] == (SPEC.residents, manifest["invalid_hetu"])
    assert counts["unified_record.visits"][0] == manifest["rows"]["unified_record"]["visits"]
    assert counts["legacy_record.visits"][0] == manifest["rows"]["legacy_record"]["visits"]
    quarantine = dict(
        warehouse.execute(
            "select source || '.' || table_name, count(*) from dq.quarantine group by all"
        ).fetchall()
    )
    assert quarantine["unified_record.patients"] == manifest["invalid_hetu"]
    invalid_legacy = independent.legacy_rows_with_invalid_henkilotunnus(SESSION_DATA)
    assert (
        quarantine.get("legacy_record.visits", 0)
        == counts["legacy_record.visits"][1]
        == invalid_legacy
    )


def test_validation_results_are_stored(run, warehouse):
    rows = warehouse.execute(
        "select source, table_name, count(*), count(distinct kahn_category), bool_and(success) "
        "from dq.validation_results group by all"
    ).fetchall()
    raw = [r for r in rows if r[0] != "warehouse"]
    marts = {r[1] for r in rows if r[0] == "warehouse"}
    assert len(raw) == TABLES and all(n >= 2 for _, _, n, _, _ in raw)
    assert marts == set(build_mart_suites(get_settings().expectations / "specs.yml"))
    assert all(passed for *_, passed in rows), "the demo county passes every expectation"


def test_reports_show_the_indicators_and_the_quarantine(run):
    reports = get_settings().reports
    indicators = (reports / "indicators" / "index.html").read_text(encoding="utf-8")
    for indicator_id in ("pc_physician_visits_per_1000", "t3_median_days", "net_cost_per_resident"):
        assert f'data-indicator="{indicator_id}"' in indicators
    assert "Läkarbesök inom primärvårdens öppenvård" in indicators  # Swedish page
    quality = (reports / "quality" / "index.html").read_text(encoding="utf-8")
    assert "hetu_bad_checksum" in quality and "unified_record.patients" in quality


def test_no_henkilotunnus_anywhere_in_what_the_pipeline_wrote(run):
    files, hits = scan_tree(SESSION_DATA)
    assert files > 50  # lake, warehouse, reports, Airflow and dbt logs
    assert not hits


def test_the_scan_finds_a_planted_henkilotunnus(tmp_path):
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "notes.log").write_text("patient 131052-308T visited\n")
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "input.csv").write_text("131052-308T\n")  # inputs are skipped
    files, hits = scan_tree(tmp_path)
    assert files == 1 and hits == [str(tmp_path / "lake" / "notes.log")]
    json.dumps(hits)


# The tests below run the DAG again: they come last in this module (pytest keeps file order).
VOLATILE = {
    "run_id",
    "_load_id",
    "_extracted_at",
    "_published_at",
    "load_id",
    "recorded_at",
    "validated_at",
    "quarantined_at",
    "seconds",
}


def snapshot() -> dict[str, list]:
    """Every table and view of the warehouse, without the columns that name a run or a time."""
    con = duckdb.connect(str(get_settings().warehouse), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema <> 'information_schema'"
        ).fetchall()
        out = {}
        for schema, table in tables:
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ?",
                    [schema, table],
                ).fetchall()
                if c not in VOLATILE
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            out[f"{schema}.{table}"] = con.execute(
                f'select {select} from "{schema}"."{table}" order by all'
            ).fetchall()
        return out
    finally:
        con.close()


def test_rerunning_the_same_load_date_changes_nothing(run):
    before = snapshot()
    assert len(before) > 40 and sum(len(rows) for rows in before.values()) > 50_000
    assert run_pipeline(LOAD_DATE).succeeded
    after = snapshot()
    changed = [name for name in before if before[name] != after.get(name)]
    assert not changed and set(after) == set(before)


def test_a_backfill_brings_the_late_changes_of_each_day(run):
    changes = [advance(SESSION_DATA, day) for day in (date(2026, 1, 2), date(2026, 1, 3))]
    assert cli.main(["backfill", "--from", "2026-01-02", "--to", "2026-01-03"]) == 0
    source = sqlite3.connect(SESSION_DATA / "sources" / "unified_record.sqlite")
    deleted = [v for (v,) in source.execute("select visit_id from visits where is_deleted")]
    assert len(deleted) == sum(c["deleted_visits"] for c in changes) > 0
    con = duckdb.connect(str(get_settings().warehouse), read_only=True)
    present = con.execute(
        "select count(*) from marts.fct_visits where source_visit_id in "
        f"({', '.join(map(str, deleted))})"
    ).fetchone()[0]
    assert present == 0, "soft-deleted visits leave the warehouse"
    new = con.execute(
        "select count(*) from marts.fct_visits where visit_date >= '2026-01-02'"
    ).fetchone()[0]
    assert new == sum(c["new_visits"] for c in changes) - independent_new_visits_of_invalid(changes)
    audit = con.execute(
        "select load_date, sum(extracted) from dq.load_audit "
        "where source = 'unified_record' and load_date > ? group by 1 order by 1",
        [LOAD_DATE],
    ).fetchall()
    assert [d for d, _ in audit] == [date(2026, 1, 2), date(2026, 1, 3)]
    con.close()


def independent_new_visits_of_invalid(changes) -> int:
    """New visits of patients whose henkilötunnus is invalid cannot reach the warehouse."""
    source = sqlite3.connect(SESSION_DATA / "sources" / "unified_record.sqlite")
    rows = source.execute(
        "select p.hetu from visits v join patients p using (patient_id) "
        "where v.visit_start >= '2026-01-02'"
    ).fetchall()
    from stdnum.fi import hetu as stdnum_hetu

    return sum(not stdnum_hetu.is_valid(h, allow_temporary=True) for (h,) in rows)
