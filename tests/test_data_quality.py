"""Data quality end to end: injected faults are caught with their exact counts, held back,
shown to stewards in the report (in a real Chromium), and replayed after a fix.

One faulty demo county, one DAG run (which must fail loudly but still build and report what it
could); the replay tests come last because they change the lake.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import openlineage_events
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from chromium import open_page

from sotelake.airflow_run import run_pipeline
from sotelake.assets import public_marts
from sotelake.demo.faults import DEFAULT_RATES
from sotelake.demo.generate import DemoSpec, generate
from sotelake.lake import zones
from sotelake.pipeline import replay
from sotelake.settings import get_settings

SPEC = DemoSpec(residents=1_500, seed=9, faults=dict(DEFAULT_RATES))
DAY = date(2026, 1, 1)
KEY = os.environ["SOTELAKE_PSEUDONYM_KEY"].encode()


@pytest.fixture(scope="module")
def faulty(airflow_db, tmp_path_factory):
    data = tmp_path_factory.mktemp("faulty")
    saved = os.environ["SOTELAKE_DATA_DIR"]
    os.environ["SOTELAKE_DATA_DIR"] = str(data)
    try:
        manifest = generate(SPEC, data)
        summary = run_pipeline(DAY)
        yield data, manifest, summary
    finally:
        os.environ["SOTELAKE_DATA_DIR"] = saved


def query(data: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_the_run_fails_loudly_but_builds_and_reports_what_it_could(faulty):
    _, _, summary = faulty
    assert summary.state == "failed"
    states = summary.task_states
    assert states["extract[hr.staff_months]"] == "failed"
    assert states["validate"] == states["transform"] == states["publish"] == "success"
    assert states["conclude"] == "failed"
    assert sum(s == "success" for k, s in states.items() if k.startswith("extract[")) == 20


def test_each_fault_is_caught_with_its_exact_count(faulty):
    data, manifest, _ = faulty
    faults = manifest["faults"]
    quarantine = Counter(
        {
            (t, r): n
            for t, r, n in query(
                data,
                "select source || '.' || table_name, reason, count(*) from dq.quarantine "
                "group by all",
            )
        }
    )
    assert quarantine["unified_record.visits", "bad_type"] == faults["impossible_dates"]["count"]
    assert (
        quarantine["unified_record.visits", "dq_pair_a_to_be_greater_than_b"]
        == faults["future_dates"]["count"]
    )
    assert quarantine["unified_record.visits", "dq_in_set"] == faults["unknown_codes"]["count"]
    assert (
        quarantine["unified_record.home_care_visits", "dq_between"]
        == faults["negative_durations"]["count"]
    )
    hetu = sum(
        n
        for (t, r), n in quarantine.items()
        if t == "unified_record.patients" and r.startswith("hetu_")
    )
    assert hetu == manifest["invalid_hetu"]
    results = {
        (e, c): (s, n)
        for e, c, s, n in query(
            data,
            "select expectation_type, column_name, severity, unexpected_count "
            "from dq.validation_results where table_name = 'ledger_postings'",
        )
    }
    assert results["expect_column_values_to_be_between", "amount"] == (
        "warning",
        faults["absurd_amounts"]["count"],
    )
    assert results["expect_column_values_to_be_unique", "posting_id"] == (
        "critical",
        faults["duplicate_keys"]["rows_with_a_duplicated_key"],
    )


def test_a_rejected_batch_is_kept_aside_and_a_failed_load_says_why(faulty):
    data, manifest, _ = faulty
    audit = {
        row[0]: row[1:]
        for row in query(
            data,
            "select table_name, status, error, extracted, loaded, quarantined, rejected "
            "from dq.load_audit",
        )
    }
    status, _, extracted, loaded, _, rejected = audit["ledger_postings"]
    assert status == "rejected" and loaded == 0 and rejected == extracted > 0
    lake = data / "lake"
    assert list(zones.partition(lake, zones.REJECTED, "finance", "ledger_postings", DAY).glob("*"))
    assert not zones.partition(lake, zones.RAW, "finance", "ledger_postings", DAY).exists()
    status, error, *_ = audit["staff_months"]
    missing = manifest["faults"]["missing_column"]
    assert status == "failed" and missing["file"] in error and "sick_leave_days" in error
    built = query(
        data, "select table_name from information_schema.tables where table_schema = 'marts'"
    )
    assert ("fct_ledger_postings",) not in built and ("fct_visits",) in built, (
        "the ledger's models were left out (a first run: not built at all); the others were built"
    )
    assert query(data, "select bool_and(passed) from dq.reconciliation_loads") == [(True,)]


def test_a_held_back_sources_marts_get_no_asset_event(faulty):
    """The ledger's batch was rejected and HR's load failed: the public marts downstream of
    finance and hr were not built, so they get no asset event (a DAG scheduled on them does not
    run on stale data); the marts that were built do, with their extras."""
    data, _, summary = faulty
    held = {s for (s,) in query(data, "select source from dq.load_audit where status <> 'loaded'")}
    assert held == {"finance", "hr"}
    manifest = json.loads((data / "dbt" / "target" / "manifest.json").read_text())
    children, downstream = manifest["child_map"], set()
    queue = [s for s in manifest["sources"] if manifest["sources"][s]["source_name"] in held]
    while queue:
        for child in children.get(queue.pop(), []):
            if child not in downstream:
                downstream.add(child)
                queue.append(child)
    nodes = manifest["nodes"]
    held_marts = {
        f"{nodes[n]['schema']}.{nodes[n]['alias']}" for n in downstream if n in nodes
    } & set(public_marts())
    assert {"marts.fct_ledger_postings", "marts.fct_staff_months"} <= held_marts
    events = {
        name.removeprefix("sotelake.warehouse."): extra
        for name, extra in openlineage_events.asset_events(summary.run_id)
        if name.startswith("sotelake.warehouse.")
    }
    assert events, "the marts that were built have their events"
    assert not held_marts & set(events), "no event for a mart the build left out"
    assert set(events) == set(public_marts()) - held_marts
    visits = events["marts.fct_visits"]
    assert visits["status"] == "rebuilt" and visits["rows"] > 0
    assert visits["sources_held_back"] == sorted(held) and visits["run_id"] == summary.run_id


def test_stewards_see_the_failures_in_the_report_in_a_real_browser(faulty, browser, tmp_path):
    data, manifest, _ = faulty
    faults = manifest["faults"]
    report = data / "reports" / "quality" / "index.html"
    page, errors = open_page(browser, report.as_uri(), viewport={"width": 1280, "height": 900})
    held = page.locator("#fi table.held-back tr[data-table]")
    assert sorted(held.evaluate_all("rows => rows.map(r => r.dataset.table)")) == [
        "finance.ledger_postings",
        "hr.staff_months",
    ]
    assert page.locator("#fi table.held-back").inner_text().count("sotelake replay") == 2
    unique = page.locator(
        '#fi table.failing tr[data-expectation="expect_column_values_to_be_unique"]'
    )
    assert unique.get_attribute("data-count") == str(
        faults["duplicate_keys"]["rows_with_a_duplicated_key"]
    )
    bad_type = page.locator('#fi table.quarantine tr[data-reason="bad_type"]')
    assert bad_type.get_attribute("data-count") == str(faults["impossible_dates"]["count"])
    assert page.locator("#fi svg.chart").count() >= 1
    page.click("#fi nav.languages >> text=In English")
    assert page.locator("#en h1").is_visible() and not page.locator("#fi h1").is_visible()
    assert "Held back from the warehouse" in page.locator("#en").inner_text()
    shot = tmp_path / "quality-report.png"
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    assert errors == []
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")


def test_the_report_stays_small_and_fast_with_thousands_of_results(faulty, browser):
    """Thousands of stored validation results: the page still shows the latest in detail only."""
    data, _, _ = faulty
    from sotelake.pipeline import publish
    from sotelake.transform.dbt_build import run_dbt

    latest = pq.read_table(next((data / "lake" / "dq" / "validation_results").glob("*visits*")))
    history = [
        latest.set_column(
            latest.schema.get_field_index("load_date"),
            "load_date",
            pa.array([date(2025, 6, 1 + d % 28)] * latest.num_rows, pa.date32()),
        )
        for d in range(400)
    ]
    old = pa.concat_tables(history)
    pq.write_table(old, data / "lake" / "dq" / "validation_results" / "history__visits.parquet")
    assert old.num_rows > 3_000
    run_dbt(["build", "--select", "validation_results", "load_audit", "quarantine"])
    publish("history")
    report = data / "reports" / "quality" / "index.html"
    assert report.stat().st_size < 1_500_000
    started = time.perf_counter()
    page, errors = open_page(browser, report.as_uri())
    assert time.perf_counter() - started < 5 and errors == []
    page.close()


# The replays change the lake: they run last.
def test_replay_after_fixing_the_source_loads_the_batch_once(faulty):
    data, manifest, _ = faulty
    for path in sorted((data / "landing" / "finance").glob("gl_*.csv")):  # the fix at the source
        seen, kept = set(), []
        for line in path.read_text(encoding="utf-8").splitlines():
            key = line.split(";")[0]
            if key not in seen:
                seen.add(key)
                kept.append(line)
        path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    delivered = sum(
        len(p.read_text().splitlines()) - 1 for p in (data / "landing" / "finance").glob("gl_*.csv")
    )
    outcome = replay("finance.ledger_postings", DAY, KEY, "replay-1", from_source=True)
    assert outcome["validation"]["status"] == "warnings"  # the absurd amounts remain: reported
    rows = query(
        data,
        "select count(*), count(distinct posting_id) from staging.stg_finance__ledger_postings",
    )
    assert rows == [(delivered, delivered)]
    assert query(
        data,
        "select status, loaded, rejected from dq.load_audit where table_name = 'ledger_postings'",
    ) == [("loaded", delivered, 0)]
    lake = data / "lake"
    assert not zones.partition(lake, zones.REJECTED, "finance", "ledger_postings", DAY).exists()
    assert query(data, "select bool_and(passed), count(*) > 0 from dq.reconciliation_ledger") == [
        (True, True)
    ]


def test_replay_of_a_rejected_batch_after_fixing_the_rule(faulty, tmp_path, monkeypatch):
    data, manifest, _ = faulty
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    visits_before = con.execute("select count(*) from marts.fct_visits").fetchone()[0]
    con.close()
    # a critical rule rejects the next load of visits...
    expectations = tmp_path / "expectations"
    import shutil

    shutil.copytree(get_settings().expectations, expectations)
    suite = expectations / "raw" / "unified_record" / "visits.json"
    document = json.loads(suite.read_text())
    document["expectations"].append(
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "contact_type", "value_set": ["R10"]},
            "meta": {"kahn_category": "conformance", "severity": "critical"},
        }
    )
    suite.write_text(json.dumps(document))
    monkeypatch.setenv("SOTELAKE_EXPECTATIONS", str(expectations))
    outcome = replay("unified_record.visits", DAY, KEY, "replay-2", from_source=True)
    assert outcome["validation"]["status"] == "rejected" and outcome["built"] is None
    rejected = zones.partition(data / "lake", zones.REJECTED, "unified_record", "visits", DAY)
    assert list(rejected.glob("*.parquet"))
    # ...the steward fixes the rule, and the kept batch is replayed, not extracted again
    document["expectations"].pop()
    suite.write_text(json.dumps(document))
    outcome = replay("unified_record.visits", DAY, KEY, "replay-3")
    assert outcome["action"] == "restored the rejected batch"
    assert outcome["validation"]["status"] == "rows_quarantined"  # the injected faults, again
    assert not rejected.exists()
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from marts.fct_visits").fetchone()[0] == visits_before
    quarantined = con.execute(  # the legacy system's visits are another table
        "select count(*) from dq.quarantine "
        "where source = 'unified_record' and table_name = 'visits'"
    ).fetchone()[0]
    con.close()
    faults = manifest["faults"]
    assert quarantined == sum(
        faults[f]["count"] for f in ("impossible_dates", "future_dates", "unknown_codes")
    )
