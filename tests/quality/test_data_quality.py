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
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import openlineage_events
from support.chromium import open_page

from sotelake import pipeline
from sotelake.airflow_run import run_pipeline
from sotelake.assets import public_marts
from sotelake.demo.faults import DEFAULT_RATES
from sotelake.demo.generate import DemoSpec, generate
from sotelake.lake import open_items, zones
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
    extracts = [s for k, s in states.items() if k.startswith("extract[")]
    assert (
        len(extracts) == len(pipeline.plan_loads(DAY))
        and extracts.count("success") == len(extracts) - 1
    )


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
    held = page.locator("#fi table.open-items tr[data-item]")
    assert sorted(held.evaluate_all("rows => rows.map(r => r.dataset.item)")) == [
        f"failed_load:hr.staff_months:{DAY}",
        f"rejected_batch:finance.ledger_postings:{DAY}",
    ]
    assert held.evaluate_all("rows => rows.map(r => r.dataset.trend)") == ["new", "new"]
    actions = page.locator("#fi table.open-items").inner_text()
    assert f"sotelake replay hr.staff_months --load-date {DAY} --from-source" in actions
    assert f"sotelake replay finance.ledger_postings --load-date {DAY}" in actions
    unique = page.locator(
        '#fi table.failing tr[data-expectation="expect_column_values_to_be_unique"]'
    )
    assert unique.get_attribute("data-count") == str(
        faults["duplicate_keys"]["rows_with_a_duplicated_key"]
    )
    bad_type = page.locator('#fi table.quarantine tr[data-reason="bad_type"]')
    assert bad_type.get_attribute("data-count") == str(faults["impossible_dates"]["count"])
    assert page.locator("#fi svg.chart, #fi .single-value").count() == 3  # small multiples
    # in plain words, with what to do and who does it, in each language
    checksum = page.locator('#sv table.quarantine tr[data-reason="hetu_bad_checksum"]')
    assert "Personbeteckningens kontrolltecken stämmer inte" in checksum.inner_text()
    assert "källsystemets ägare" in checksum.inner_text()
    # dbt's warnings, counted as the warehouse counts them, new on the first day
    orphans = query(
        data,
        "select count(*) from staging.stg_unified_record__visits where patient_id not in "
        "(select patient_id from staging.stg_unified_record__patients)",
    )[0][0]
    warned = page.locator(
        '#en table.dbt-tests tr[data-test^="relationships_stg_unified_record__visits_patient_id"]'
    )
    assert orphans > 0 and warned.get_attribute("data-count") == str(orphans)
    assert warned.get_attribute("data-status") == "warn"
    assert warned.get_attribute("data-change") == "new"
    assert "a visit whose patient is quarantined" in warned.inner_text()
    page.click("#fi nav.languages >> text=In English")
    assert page.locator("#en h1").is_visible() and not page.locator("#fi h1").is_visible()
    assert "Open items" in page.locator("#en").inner_text()
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


NEXT = date(2026, 1, 2)


@pytest.fixture
def webhook(monkeypatch):
    """A real HTTP endpoint for the alerts (SOTELAKE_ALERT_WEBHOOK): what it received."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SOTELAKE_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    yield received
    server.shutdown()


def test_the_next_day_the_items_persist_new_ones_join_and_the_alert_says_which(
    faulty, webhook, browser
):
    """The day after, with no new ledger file, the rejected batch and the failed load are still
    open (the run fails and alerts again); an empty file delivered that day and the visits that
    did not come are new items."""
    data, _, _ = faulty
    (data / "landing" / "finance" / "gl_2026-01.csv").write_bytes(b"")
    summary = run_pipeline(NEXT)
    assert summary.task_states["conclude"] == "failed"
    assert summary.task_tries["conclude"] == 1
    verdict = next(a for a in webhook if a["task"] == "conclude")["text"]
    assert "4 open items (2 new, 2 persisting since the previous run); 0 resolved" in verdict
    aside = next((data / "landing" / "finance" / "_rejected").glob("*_gl_2026-01.csv"))
    for line in (
        f"new: file_set_aside:finance.ledger_postings:{aside.name} (0 d): gl_2026-01.csv: empty",
        f"new: late_delivery:unified_record.visits:{NEXT} (0 d): no delivery between {NEXT} "
        f"and {NEXT} (expected daily)",
        f"persisting: rejected_batch:finance.ledger_postings:{DAY} (0 d): batch rejected",
        f"persisting: failed_load:hr.staff_months:{DAY} (0 d): SourceSchemaError",
    ):
        assert line in verdict, (line, verdict)
    rows = query(data, "select item_id, kind, age_days from dq.open_items order by kind")
    assert [(k, a) for _, k, a in rows] == [
        ("failed_load", 0),
        ("file_set_aside", 0),
        ("late_delivery", 0),
        ("rejected_batch", 0),
    ]
    page, errors = open_page(browser, (data / "reports" / "quality" / "index.html").as_uri())
    items = page.locator("#fi table.open-items tr[data-item]")
    trends = dict(items.evaluate_all("rows => rows.map(r => [r.dataset.kind, r.dataset.trend])"))
    assert trends == {
        "file_set_aside": "new",
        "late_delivery": "new",
        "rejected_batch": "persisting",
        "failed_load": "persisting",
    }
    # a table's badge and its checks come from the same load: the budget's latest load brought
    # nothing, so it is "no new data" with no checks (not the checks of the day before)
    budget = page.locator('#fi table.loads tr[data-table="finance.budget"]')
    assert budget.get_attribute("data-status") == "no_data"
    warned = page.locator(
        '#fi table.dbt-tests tr[data-test^="relationships_stg_unified_record__visits_patient_id"]'
    )
    assert warned.get_attribute("data-change") == "persisting"
    assert budget.locator("td").last.inner_text().strip() == "0 / 0"
    page.close()
    assert errors == []


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
        "select status, loaded, rejected from dq.load_audit "
        "where table_name = 'ledger_postings' and load_date = ?",
        [DAY],
    ) == [("loaded", delivered, 0)]
    lake = data / "lake"
    assert not zones.partition(lake, zones.REJECTED, "finance", "ledger_postings", DAY).exists()
    assert query(data, "select bool_and(passed), count(*) > 0 from dq.reconciliation_ledger") == [
        (True, True)
    ]
    batch = next(
        i
        for i in open_items.read_items(lake)
        if i["item_id"] == f"rejected_batch:finance.ledger_postings:{DAY}"
    )
    assert batch["status"] == "resolved" and batch["resolution"].startswith("replaced by the load")


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


def test_every_item_resolved_or_dismissed_the_run_concludes_and_says_what_was_resolved(
    faulty, capsys
):
    """The HR file is delivered again with its column and the load replayed; the empty file and
    the visits that never came are dismissed with a reason: nothing is open, and the verdict
    names what was resolved since the previous run."""
    from sotelake import cli
    from sotelake.pipeline import conclude

    data, manifest, _ = faulty
    broken = data / "landing" / "hr" / manifest["faults"]["missing_column"]["file"]
    lines = broken.read_text(encoding="utf-8").splitlines()
    fixed = [lines[0] + ";sick_leave_days"] + [line + ";1" for line in lines[1:]]
    broken.write_text("\n".join(fixed) + "\n", encoding="utf-8")
    outcome = replay("hr.staff_months", DAY, KEY, "replay-hr", from_source=True)
    assert outcome["action"] == "extracted again" and outcome["validation"]["status"] != "rejected"
    lake = data / "lake"
    still = sorted(i["item_id"] for i in open_items.open_items(lake))
    assert [i.split(":")[0] for i in still] == ["file_set_aside", "late_delivery"]
    assert cli.main(["dismiss", "no_such_item", "--reason", "x"]) == 2
    for item in still:
        assert cli.main(["dismiss", item, "--reason", "the demo county", "--by", "steward"]) == 0
    assert cli.main(["items"]) == 0 and "no open items" in capsys.readouterr().out
    verdict = conclude({}, "after-the-fixes")
    assert verdict["new"] == verdict["persisting"] == []
    assert sorted(verdict["resolved"]) == sorted(
        [f"failed_load:hr.staff_months:{DAY}", f"rejected_batch:finance.ledger_postings:{DAY}"]
        + still
    )
    closed = {i["item_id"]: i["resolution"] for i in open_items.read_items(lake)}
    assert closed[still[0]] == "dismissed by steward: the demo county"
    assert closed[f"failed_load:hr.staff_months:{DAY}"].startswith("loaded by the load")
