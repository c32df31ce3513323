"""The whole pipeline through Airflow (dag.test) on a small demo county.

One DAG run is shared by the tests of this module: generation, extraction, GX, dbt build and
the reports. Indicator values are checked against tests/support/independent.py, which computes them
from the generated sources without the pipeline's code.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import jsonschema
import pytest
from conftest import SESSION_DATA
from support import independent, openlineage_events
from support.postgres import ThrowawayPostgres

from sotelake import cli
from sotelake.airflow_run import run_pipeline
from sotelake.assets import public_marts
from sotelake.demo.changes import advance
from sotelake.demo.generate import DemoSpec, generate
from sotelake.lake.privacy_scan import scan_tree
from sotelake.publish.lineage import lineage_file, warehouse_dataset
from sotelake.quality.suite_spec import build_mart_suites
from sotelake.settings import REPO_ROOT, get_settings
from sotelake.sources.registry import all_tables, load_registry
from sotelake.transform.bi_warehouse import URL_ENV
from sotelake.transform.public_interface import STEWARDS_ONLY, public_relations

SPEC = DemoSpec(residents=3_000, seed=7)
TABLES = len(all_tables(load_registry()))  # every registered table is loaded and validated
LOAD_DATE = date(2026, 1, 1)  # the demo county's extraction day


@pytest.fixture(scope="module")
def bi_postgres():
    """The PostgreSQL BI warehouse the runs of this module publish to (a throwaway cluster)."""
    with ThrowawayPostgres() as cluster:
        os.environ[URL_ENV] = cluster.url
        try:
            yield cluster
        finally:
            os.environ.pop(URL_ENV, None)


@pytest.fixture(scope="module")
def run(airflow_db, bi_postgres):
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
    reasons = {
        (r["area_level"], r["area_code"], r["period_grain"], r["period_start"]): r[
            "suppression_reason"
        ]
        for r in rows
    }
    # the sources' small cells are withheld (primary); a value the sources give may also be
    # withheld to protect them (secondary), but never changed
    mismatches = {
        k: (actual[k], expected[k])
        for k in expected
        if not close(actual[k], expected[k])
        and not (actual[k] is None and reasons[k] == "secondary")
    }
    assert not mismatches
    assert all(reasons[k] == "primary" for k in expected if expected[k] is None)
    suppressed = [r for r in rows if r["suppressed"]]
    assert suppressed, "a 3 000-resident county has small monthly cells"
    assert all(
        r["value"] is None and r["numerator"] is None and r["denominator"] is None
        for r in suppressed
    )
    assert {r["run_id"] for r in rows} == {run[1].run_id}


def test_t3_matches_the_calendar(run, warehouse):
    expected = independent.t3_median_days(SESSION_DATA, SPEC.county)
    actual = {
        (r["area_level"], r["area_code"], r["breakdown_code"], r["period_start"]): r["value"]
        for r in values(warehouse, "t3_median_days")
        if r["period_grain"] == "month"
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


def test_multi_service_clients_follow_the_received_or_in_force_rule(run, warehouse):
    """Service areas used in the year by a person across the record systems: received (a
    visit) or in force on a day of the year (episodes, decisions, stays, placements)."""
    expected = independent.multi_service_clients_share(SESSION_DATA, SPEC.county)
    # as computed, before disclosure control; the recomputation leaves out the small counts
    # (1 to 4), which must be withheld
    rows = warehouse.execute(
        "select area_level, area_code, period_start, value from "
        "indicators.indicator_values_computed where indicator_id = 'multi_service_clients_share'"
    ).fetchall()
    actual = {(level, code, start): value for level, code, start, value in rows}
    withheld = {
        (r["area_level"], r["area_code"], r["period_start"]): r["suppressed"]
        for r in values(warehouse, "multi_service_clients_share")
    }
    assert set(actual) == set(expected) == set(withheld)
    mismatches = {
        k: (actual[k], expected[k])
        for k in expected
        if expected[k] is not None and not close(actual[k], expected[k])
    }
    assert not mismatches
    assert all(withheld[k] for k in expected if expected[k] is None)
    assert 1 < actual["county", SPEC.county, date(2025, 1, 1)] < 20  # % of residents


@pytest.mark.parametrize(
    "indicator_id",
    [
        "disability_services_clients_per_1000",
        "social_assistance_recipients_per_1000",
        "mental_health_substance_abuse_clients_per_1000",
    ],
)
def test_clients_of_social_services_match_the_sources(run, warehouse, indicator_id):
    """People of a year from the record system's own tables: clients of disability services (a
    decision in force on a day of the year), recipients of social assistance (granted for a
    month of the year) and adult clients of mental health and substance abuse services (an
    outpatient episode in force on a day of the year), by class and once in the total, where
    they lived on 31 December."""
    expected = getattr(independent, indicator_id)(SESSION_DATA, SPEC.county)
    # as computed, before disclosure control; the recomputation leaves out the small counts
    # (1 to 4), which must be withheld
    rows = warehouse.execute(
        "select area_level, area_code, breakdown_code, period_start, value "
        "from indicators.indicator_values_computed where indicator_id = ?",
        [indicator_id],
    ).fetchall()
    actual = {
        (level, code, breakdown, start): value for level, code, breakdown, start, value in rows
    }
    withheld = {
        (r["area_level"], r["area_code"], r["breakdown_code"], r["period_start"]): r["suppressed"]
        for r in values(warehouse, indicator_id)
    }
    assert set(actual) == set(expected) == set(withheld)
    assert len({k[2] for k in expected}) >= 3  # classes and the total
    mismatches = {
        k: (actual[k], expected[k])
        for k in expected
        if expected[k] is not None and not close(actual[k], expected[k])
    }
    assert not mismatches
    assert all(withheld[k] for k in expected if expected[k] is None)
    assert actual["county", SPEC.county, "total", date(2025, 1, 1)] > 0


@pytest.mark.parametrize(
    ("indicator_id", "recompute"),
    [
        ("pc_physician_continuity_index", independent.physician_continuity_index),
        ("pc_emergency_returns_48h_share", independent.emergency_returns_48h_share),
        ("pc_net_cost_per_visit", independent.pc_net_cost_per_visit),
        ("pc_net_cost_per_client", independent.pc_net_cost_per_client),
    ],
)
def test_primary_care_quality_matches_the_sources(run, warehouse, indicator_id, recompute):
    """THL's primary care quality measures recomputed from the sources (issue 22): physician
    continuity (COC of the people with two or more physician visits that name the physician),
    returns to emergency within 48 hours, and PTH_AVO's net cost per health-station visit and
    per client. Every computed cell (before disclosure control) has the recomputation's
    numerator, denominator and value."""
    expected = recompute(SESSION_DATA, SPEC.county)
    rows = warehouse.execute(
        "select area_level, area_code, period_grain, period_start, numerator, denominator, value "
        "from indicators.indicator_values_computed where indicator_id = ?",
        [indicator_id],
    ).fetchall()
    actual = {(level, code, start): (n, d, v) for level, code, _, start, n, d, v in rows}
    assert {row[2] for row in rows} == {"year"}
    assert set(actual) == set(expected) and expected
    mismatches = {
        k: (actual[k], expected[k])
        for k in expected
        if not all(close(a, e) for a, e in zip(actual[k], expected[k], strict=True))
    }
    assert not mismatches
    county = {k: v for k, v in expected.items() if k[0] == "county"}
    assert all(v[1] > 0 for v in county.values())
    if indicator_id == "pc_physician_continuity_index":
        assert {k[0] for k in expected} == {"municipality", "county"}
        assert all(0 < v[2] < 1 for v in county.values())


def test_oral_health_visits_match_the_sources(run, warehouse):
    """Visits at the dental clinics' reception by dentists and dental hygienists, by group and
    in total, by month and year, where the person lived on the visit's day (a patient whose
    henkilötunnus is invalid, unlinked, where their row records them)."""
    expected = independent.oral_health_visits_per_1000(SESSION_DATA, SPEC.county)
    # as computed, before disclosure control; the recomputation leaves out the small counts
    # (1 to 4), which must be withheld
    rows = warehouse.execute(
        "select area_level, area_code, breakdown_code, period_grain, period_start, value "
        "from indicators.indicator_values_computed "
        "where indicator_id = 'oral_health_visits_per_1000'"
    ).fetchall()
    actual = {tuple(r[:5]): r[5] for r in rows}
    withheld = {
        (
            r["area_level"],
            r["area_code"],
            r["breakdown_code"],
            r["period_grain"],
            r["period_start"],
        ): r["suppressed"]
        for r in values(warehouse, "oral_health_visits_per_1000")
    }
    assert set(actual) == set(expected) == set(withheld)
    assert {k[2] for k in expected} == {"dentist", "dental_hygienist", "total"}
    mismatches = {
        k: (actual[k], expected[k])
        for k in expected
        if expected[k] is not None and not close(actual[k], expected[k])
    }
    assert not mismatches
    assert all(withheld[k] for k in expected if expected[k] is None)
    county = actual["county", SPEC.county, "total", "year", date(2025, 1, 1)]
    dentists = actual["county", SPEC.county, "dentist", "year", date(2025, 1, 1)]
    assert 500 < county < 1100 and 0.55 < dentists / county < 0.8
    # the dental clinics are not health stations: primary care's visits do not count them
    oral = warehouse.execute(
        "select count(*) from marts.fct_visits join marts.dim_unit using (unit_id) "
        "where unit_type = 'oral_health'"
    ).fetchone()[0]
    assert oral > 0


def test_visits_of_patients_with_an_invalid_identifier_count_unlinked(run, warehouse):
    """A patient whose henkilötunnus is invalid is quarantined (the identifier withheld), but
    their own system's visits still count in their municipality (the physician visits above
    compare them with the sources): with no pseudonym or person column, and none of them in
    fct_visits, where people are linked across systems."""
    expected = independent.rows_of_unidentified_patients(SESSION_DATA, "visits")
    unlinked = warehouse.execute(
        "select visit_key, home_municipality_code from "
        "intermediate.int_visits_of_unidentified_patients"
    ).fetchall()
    assert expected > 0 and len(unlinked) == expected
    assert all(municipality for _, municipality in unlinked)
    columns = {
        name
        for name, *_ in warehouse.execute(
            "describe intermediate.int_visits_of_unidentified_patients"
        ).fetchall()
    }
    assert not {c for c in columns if "pseudonym" in c or "patient" in c or "person" in c}
    linked = warehouse.execute(
        "select count(*) from marts.fct_visits where visit_key in "
        "(select visit_key from intermediate.int_visits_of_unidentified_patients)"
    ).fetchone()[0]
    assert linked == 0
    # their inpatient episodes too, in specialist_inpatient_episodes_per_1000
    episodes = independent.rows_of_unidentified_patients(SESSION_DATA, "inpatient_episodes")
    unlinked = warehouse.execute(
        "select count(*), count(home_municipality_code) from "
        "intermediate.int_inpatient_episodes_of_unidentified_patients"
    ).fetchone()
    assert unlinked == (episodes, episodes)
    # the indicator's municipal months (as computed, before disclosure control) count both
    counted, expected = warehouse.execute(
        "with months as (select area_code, period_start, numerator "
        "  from indicators.indicator_values_computed where area_level = 'municipality' "
        "  and period_grain = 'month' "
        "  and indicator_id = 'specialist_inpatient_episodes_per_1000'), "
        "episodes as (select home_municipality_code, admitted_date "
        "  from marts.fct_inpatient_episodes "
        "  union all select home_municipality_code, admitted_date "
        "  from intermediate.int_inpatient_episodes_of_unidentified_patients) "
        "select (select sum(numerator) from months), count(*) from episodes "
        "inner join months on months.area_code = episodes.home_municipality_code "
        "and months.period_start = date_trunc('month', episodes.admitted_date)"
    ).fetchone()
    assert counted == expected
    assert (
        counted
        > warehouse.execute(
            "select count(*) from marts.fct_inpatient_episodes inner join "
            "(select distinct area_code, period_start from indicators.indicator_values_computed "
            " where indicator_id = 'specialist_inpatient_episodes_per_1000' "
            " and area_level = 'municipality' and period_grain = 'month') as months "
            "on months.area_code = home_municipality_code "
            "and months.period_start = date_trunc('month', admitted_date)"
        ).fetchone()[0]
    )


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
    for indicator_id in catalogue_ids():
        assert indicators.count(f'data-indicator="{indicator_id}"') == 2  # Finnish and Swedish
    assert "Läkarbesök inom primärvårdens öppenvård" in indicators  # Swedish page
    quality = (reports / "quality" / "index.html").read_text(encoding="utf-8")
    assert "hetu_bad_checksum" in quality and "unified_record.patients" in quality
    # the GX Data Docs of the loads and of the marts, each its own site (one would replace the
    # other's pages when built), both linked
    for site, batch in (("loads", "unified_record.patients"), ("marts", "marts.fct_visits")):
        assert f'href="gx/{site}/index.html" data-docs="{site}"' in quality
        assert batch in (reports / "quality" / "gx" / site / "index.html").read_text()


def test_no_henkilotunnus_anywhere_in_what_the_pipeline_wrote(run):
    files, hits = scan_tree(SESSION_DATA)
    assert files > 50  # lake, warehouse, reports, Airflow and dbt logs
    assert not hits


def test_the_scan_finds_a_planted_henkilotunnus(tmp_path):
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "notes.log").write_text("patient 131052-308T visited\n")
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "input.csv").write_text("131052-308T\n")  # inputs are skipped
    run = tmp_path / "bench" / "runs" / "20000x1"  # a benchmark run's: its inputs too
    (run / "landing").mkdir(parents=True)
    (run / "landing" / "visits.csv").write_text("131052-308T\n")
    (run / "lake").mkdir()
    (run / "lake" / "out.log").write_text("131052-308T\n")
    files, hits = scan_tree(tmp_path)
    assert files == 2
    assert sorted(hits) == [str(run / "lake" / "out.log"), str(tmp_path / "lake" / "notes.log")]
    json.dumps(hits)


# Indicators whose numerator is known by cost centre, which serve the whole county: no
# municipality values.
COUNTY_ONLY = {
    "net_cost_per_resident",
    "purchased_services_share_of_costs",
    "budget_deviation_pct",
    "sick_leave_days_per_person_year",
    "disability_services_net_cost_per_client",
    "home_care_net_cost_per_client",
    "pc_net_cost_per_visit",
    "pc_net_cost_per_client",
    "oral_health_net_cost_per_visit",
    "mental_health_net_cost_per_client",
}
# Plausible county values for a year in Finland (wide: a 3 000-resident demo county is noisy).
PLAUSIBLE = {
    "pc_physician_visits_per_1000": (600, 1600),
    "pc_nurse_visits_per_1000": (1000, 3000),
    "pc_emergency_visits_per_1000": (100, 450),
    "specialist_emergency_visits_per_1000": (80, 350),
    "pc_physician_waits_over_7_days_share": (35, 85),
    "specialist_waits_over_90_days_share": (2, 40),
    "specialist_inpatient_episodes_per_1000": (50, 200),
    "home_care_75_share": (4, 15),
    "round_the_clock_care_75_share": (3, 12),
    "child_welfare_care_days_per_1000_children": (1000, 9000),
    "purchased_services_share_of_costs": (10, 40),
    "budget_deviation_pct": (-10, 10),
    "multi_service_clients_share": (2, 20),
    "digital_contacts_share": (3, 30),
    "sick_leave_days_per_person_year": (8, 25),
    "population_aged_75_plus_share": (6, 16),
    "population_aged_0_17_share": (14, 24),
    "t3_median_days": (2, 40),
    "disability_services_clients_per_1000": (10, 40),
    "disability_housing_client_days_per_1000": (300, 1500),
    "disability_services_net_cost_per_client": (5_000, 40_000),
    "home_care_net_cost_per_client": (8_000, 60_000),
    "adult_social_work_clients_per_1000": (10, 45),
    "social_assistance_recipients_per_1000": (5, 25),
    "social_assistance_euros_per_recipient": (200, 2_000),
    "pc_physician_continuity_index": (0.2, 0.7),
    "pc_emergency_returns_48h_share": (2, 12),
    "pc_net_cost_per_visit": (50, 250),
    "pc_net_cost_per_client": (200, 1_200),
    "oral_health_visits_per_1000": (500, 1100),
    "oral_health_clients_per_1000": (250, 550),
    "oral_health_net_cost_per_visit": (80, 400),
    "mental_health_outpatient_visits_per_1000": (80, 400),
    "mental_health_substance_abuse_clients_per_1000": (25, 65),
    "mental_health_net_cost_per_client": (2_000, 15_000),
}


def catalogue_ids() -> list[str]:
    import csv

    seed = get_settings().dbt_project / "seeds" / "indicator_definitions.csv"
    with open(seed, encoding="utf-8") as f:
        return [row["indicator_id"] for row in csv.DictReader(f)]


def test_every_indicator_has_values_at_municipality_and_county_level(run, warehouse):
    ids = catalogue_ids()
    assert len(ids) >= 17
    levels = dict(
        warehouse.execute(
            "select indicator_id, list_sort(list_distinct(list(area_level))) "
            "from marts.indicator_values group by all"
        ).fetchall()
    )
    assert set(levels) == set(ids)
    for indicator_id in ids:
        expected = {"county"} if indicator_id in COUNTY_ONLY else {"county", "municipality"}
        assert expected <= set(levels[indicator_id]), indicator_id
    # as computed, before disclosure control (a small county's total may be withheld)
    totals = dict(
        warehouse.execute(
            "select indicator_id, value from indicators.indicator_values_computed "
            "where area_level = 'county' and period_grain = 'year' "
            "and period_start = date '2025-01-01' "
            "and breakdown_code in ('total', 'physician', 'none')"
        ).fetchall()
    )
    implausible = {
        i: totals.get(i)
        for i, (lo, hi) in PLAUSIBLE.items()
        if not lo <= (totals.get(i) or -1e9) <= hi
    }
    assert not implausible, implausible
    assert totals["population_residents"] == SPEC.residents


def test_indicator_formulas_pass_their_unit_tests(run):
    """The dbt unit tests (hand-computed rows) of every formula, on this warehouse's types."""
    import yaml

    from sotelake.transform.dbt_build import run_dbt

    project = get_settings().dbt_project
    tests = yaml.safe_load(
        (project / "models" / "marts" / "indicators" / "_indicators__unit_tests.yml").read_text()
    )["unit_tests"]
    formulas = {p.stem for p in (project / "models/marts/indicators/formulas").glob("ind_*.sql")}
    assert len(formulas) == len(catalogue_ids())  # one formula per catalogue indicator
    assert formulas <= {t["model"] for t in tests}, "every formula has a unit test"
    result = run_dbt(["test", "--select", "test_type:unit"])
    # on-run-start registers the lake on Spark and creates the table of rebuilds, on-run-end
    # grants on PostgreSQL
    hooks = {"success": 3}
    assert result.statuses == {"pass": len(tests), **hooks}


def test_visits_count_where_the_person_lived_on_their_day(run, warehouse):
    """People who moved within the county during the year: their visits before the move count
    in the municipality they left, from the move on in the new one (the record system's
    residence history, independently read)."""
    con = sqlite3.connect(SESSION_DATA / "sources" / "unified_record.sqlite")
    history = independent.residences(con)
    movers = {pid: h for pid, h in history.items() if len(h) > 1}
    visits = con.execute(
        "select visit_id, patient_id, visit_start from visits where not is_deleted "
        f"and patient_id in ({', '.join('?' * len(movers))})",
        list(movers),
    ).fetchall()
    expected = {
        f"U{v}": independent.residence_on(movers[p], date.fromisoformat(s[:10]))
        for v, p, s in visits
    }
    actual = dict(
        warehouse.execute(
            "select visit_key, home_municipality_code from marts.fct_visits "
            f"where visit_key in ({', '.join('?' * len(expected))})",
            list(expected),
        ).fetchall()
    )
    # the visits of movers whose henkilötunnus is invalid are not in the mart (quarantined)
    assert len(actual) > 0.9 * len(expected)
    assert {key: expected[key] for key in actual} == actual
    now = {patient: sorted(h)[-1][2] for patient, h in movers.items()}
    before = [f"U{v}" for v, p, _ in visits if expected[f"U{v}"] != now[p]]
    assert [key for key in before if key in actual], "some movers had visits before their move"


def test_a_person_known_to_several_systems_is_one_person(run, warehouse):
    persons = independent.persons(SESSION_DATA)
    both = sum(1 for systems in persons.values() if {"unified_record", "legacy_record"} <= systems)
    assert both > 0  # the legacy municipalities' residents moved to the unified system
    rows = warehouse.execute(
        "select count(*), count(distinct person_pseudonym), "
        "count(*) filter (where known_in like '%legacy_record%unified_record%') "
        "from marts.dim_person"
    ).fetchone()
    assert rows == (len(persons), len(persons), both)


def test_public_marts_have_enforced_contracts_and_docs(run):
    manifest = json.loads((SESSION_DATA / "dbt" / "target" / "manifest.json").read_text())
    public = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] in ("marts", "dq")
    ]
    marts = Path(__file__).parents[2] / "dbt" / "models" / "marts"
    model_files = {
        f.stem for folder in ("core", "dq", "indicators") for f in (marts / folder).glob("*.sql")
    }
    assert {n["name"] for n in public} == model_files and len(model_files) >= 30
    unenforced = [n["name"] for n in public if not n["config"]["contract"]["enforced"]]
    assert not unenforced
    undocumented = [n["name"] for n in public if not n["description"]]
    assert not undocumented
    docs = (get_settings().reports / "dbt-docs" / "index.html").read_text(encoding="utf-8")
    assert "fct_visits" in docs and "indicator_values" in docs


def package_rows(package: str) -> list[dict]:
    import csv

    folder = get_settings().reports / "packages" / f"{SPEC.county}-2025"
    with open(folder / f"{package}.csv", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


MUNICIPALITIES = 14  # of the demo county
PACKAGES = (
    "primary_care",
    "specialist_care",
    "older_peoples_services",
    "child_and_family_services",
    "disability_services",
    "adult_social_work",
    "oral_health",
    "mental_health_and_substance_abuse",
)


def test_packages_have_their_sections_in_csv_parquet_and_html(run, warehouse):
    import pyarrow.parquet as pq

    folder = get_settings().reports / "packages" / f"{SPEC.county}-2025"
    for package in PACKAGES:
        rows = package_rows(package)
        assert {r["section_id"] for r in rows} == {
            "population_and_need",
            "service_use",
            "access",
            "costs",
        }, package
        table = pq.read_table(folder / f"{package}.parquet").to_pylist()
        assert len(table) == len(rows) > 0
        published = {
            (i, a, c, b): v
            for i, a, c, b, v in warehouse.execute(
                "select indicator_id, area_level, area_code, breakdown_code, value "
                "from marts.indicator_values where period_grain = 'year' "
                "and period_start = date '2025-01-01'"
            ).fetchall()
        }
        for row in table:
            key = (row["indicator_id"], row["area_level"], row["area_code"], row["breakdown_code"])
            assert close(row["value"], published[key]), key
        html = (folder / f"{package}.html").read_text(encoding="utf-8")
        # four sections, in Finnish and Swedish, and where the package has an indicator that
        # Sotkanet has, the national comparison (test_the_national_comparison_...)
        national = html.count('data-section="national"')
        assert html.count('data-section="') - national == 8 and national in (0, 2)


def test_small_cells_are_suppressed_in_every_package(run, warehouse):
    """Every package value whose count is 1-4 is withheld, and the package withholds exactly
    the cells marts.indicator_values withholds, with neither numerator nor denominator."""
    computed = {
        (i, a, c, b): n
        for i, a, c, b, n in warehouse.execute(
            "select computed.indicator_id, area_level, area_code, breakdown_code, "
            "computed.numerator "
            "from indicators.indicator_values_computed as computed "
            "join marts.indicator_catalog using (indicator_id) "
            "where suppress_small_cells and period_grain = 'year' "
            "and period_start = date '2025-01-01'"
        ).fetchall()
    }
    withheld = {
        (i, a, c, b): s
        for i, a, c, b, s in warehouse.execute(
            "select indicator_id, area_level, area_code, breakdown_code, suppressed "
            "from marts.indicator_values where period_grain = 'year' "
            "and period_start = date '2025-01-01'"
        ).fetchall()
    }
    suppressed = 0
    for package in PACKAGES:
        for row in package_rows(package):
            key = (row["indicator_id"], row["area_level"], row["area_code"], row["breakdown_code"])
            assert (row["suppressed"] == "true") == withheld[key], key
            if key in computed and 0 < computed[key] < 5:
                assert row["suppressed"] == "true", key
            if row["suppressed"] == "true":
                suppressed += 1
                assert row["value"] == row["numerator"] == row["denominator"] == "", key
    assert suppressed > 0, "a 3 000-resident county has small cells in its municipalities"


def test_every_output_withholds_the_cells_indicator_values_withholds(run, warehouse, bi_postgres):
    """The gold zone (and its public/ folder), the PostgreSQL warehouse and a package withhold
    exactly what marts.indicator_values withholds, and the disclosure audit finds no withheld
    cell that any of them gives away (the demo county)."""
    from sotelake.publish.disclosure_audit import audit_path

    keys = "indicator_id, area_level, area_code, period_grain, period_start, breakdown_code"
    withheld = {
        tuple(map(str, row))
        for row in warehouse.execute(
            f"select {keys} from marts.indicator_values where suppressed"
        ).fetchall()
    }
    assert len(withheld) > 100
    gold = get_settings().lake / "gold"
    for file in (gold / "marts", gold / "public" / "marts"):
        with duckdb.connect() as con:
            in_file = {
                tuple(map(str, row))
                for row in con.execute(
                    f"select {keys} from read_parquet('{file / 'indicator_values.parquet'}') "
                    "where suppressed and numerator is null and denominator is null"
                ).fetchall()
            }
        assert in_file == withheld, file
    in_postgres = set(
        bi_postgres.query(
            f"select {keys} from marts.indicator_values where suppressed "
            "and numerator is null and denominator is null and value is null"
        )
    )
    assert in_postgres == withheld
    audited = audit_path(get_settings().warehouse)
    assert audited.withheld == len(withheld) and not audited.failures, audited.summary()
    assert not audit_path(gold / "public").failures
    package = get_settings().reports / "packages" / f"{SPEC.county}-2025" / "primary_care.csv"
    assert not audit_path(package).failures


def test_packages_show_the_suppression_to_a_reader(run, browser):
    from support.chromium import open_page

    folder = get_settings().reports / "packages" / f"{SPEC.county}-2025"
    for package in PACKAGES:
        expected = sum(1 for r in package_rows(package) if r["suppressed"] == "true")
        page, errors = open_page(browser, (folder / f"{package}.html").as_uri() + "#sv")
        swedish = page.locator("#sv")
        assert swedish.is_visible() and not page.locator("#fi").is_visible()
        assert swedish.locator('td[data-state="suppressed"]').count() == expected
        if expected:
            assert swedish.locator('td[data-state="suppressed"]').first.inner_text() == "×"
        assert "liten cell (n < 5) skyddad" in swedish.locator("header").inner_text()
        # every value of the files is on the page, once; no row is a county-only row of "·"
        shown = sum(1 for r in package_rows(package) if r["suppressed"] == "false")
        assert swedish.locator('td[data-state="value"]').count() == shown
        assert swedish.locator('td[data-state="not_available"]').count() == 0
        county_only = {
            r["indicator_id"]
            for r in package_rows(package)
            if not any(
                o["area_level"] == "municipality" and o["indicator_id"] == r["indicator_id"]
                for o in package_rows(package)
            )
        }
        listed = swedish.locator("table.county-only tr[data-indicator]").evaluate_all(
            "rows => rows.map(r => r.dataset.indicator)"
        )
        assert set(listed) == county_only
        # areas as rows, the first column and the header fixed, a chart per section
        for table in swedish.locator("table.areas-as-rows").all():
            assert table.locator("tr[data-area]").count() == 1 + MUNICIPALITIES
            first = table.locator('th[scope="row"]').first
            assert first.evaluate("e => getComputedStyle(e).position") == "sticky"
            header = table.locator("thead th").first
            assert header.evaluate("e => getComputedStyle(e).position") == "sticky"
        municipal = swedish.locator(".package-table").count()
        assert municipal and swedish.locator("figure.section-chart svg").count() == municipal
        assert errors == []
        page.close()
    index = get_settings().reports / "packages" / "index.html"
    page, errors = open_page(browser, index.as_uri())
    headers = page.locator("#fi table.packages thead th").all_inner_texts()
    assert headers[:2] == ["Paketti", "Tiedostot"] and errors == []
    page.close()


def indicator_withheld_in_the_county(indicator_id: str) -> bool:
    """Every county value of the indicator's trend is withheld: its months, or its years when
    it has no monthly values (people of a year), as the report draws the trend."""
    with duckdb.connect(str(get_settings().warehouse), read_only=True) as con:
        monthly, yearly = con.execute(
            "select bool_and(suppressed) filter (where period_grain = 'month'), "
            "bool_and(suppressed) filter (where period_grain = 'year') "
            "from marts.indicator_values where indicator_id = ? and area_level = 'county'",
            [indicator_id],
        ).fetchone()
        return yearly if monthly is None else monthly


def only_the_county_total(indicator_id: str) -> bool:
    """The indicator has only the county's total (county-only, no breakdown: a cost per client):
    nothing to compare it with."""
    with duckdb.connect(str(get_settings().warehouse), read_only=True) as con:
        return not con.execute(
            "select count(*) from marts.indicator_values where indicator_id = ? "
            "and (area_level <> 'county' or breakdown_code <> 'total')",
            [indicator_id],
        ).fetchone()[0]


def test_the_indicator_report_shows_trend_and_comparison_in_both_languages(run, browser):
    from support.chromium import open_page

    report = get_settings().reports / "indicators" / "index.html"
    page, errors = open_page(browser, report.as_uri() + "#sv")
    sections = page.locator("#sv section.indicator")
    assert sections.count() == len(catalogue_ids())
    for k in range(sections.count()):
        section = sections.nth(k)
        # a trend (one period: its number) and a comparison
        shown = section.locator("svg.chart, .single-value").count()
        # or, where disclosure control withholds every county value, a note that says so
        withheld = section.locator(".withheld").count()
        indicator_id = section.get_attribute("data-indicator")
        assert shown + withheld >= (1 if only_the_county_total(indicator_id) else 2), indicator_id
        assert not section.locator(".comparison p.empty").count(), indicator_id
        if withheld:
            assert "skyddat" in section.locator(".withheld").inner_text()
            assert indicator_withheld_in_the_county(section.get_attribute("data-indicator"))
        assert "Definition" in section.inner_text()
    # grouped by the packages' themes, with a table of contents that lists each indicator once
    toc = page.locator("#sv nav.contents ul a").evaluate_all("a => a.map(x => x.hash)")
    assert sorted(toc) == sorted(f"#sv-{i}" for i in catalogue_ids())
    assert page.locator("#sv section.group").first.get_attribute("data-group") == "primary_care"
    # the headline is the county's latest month, as the sources give it
    expected = independent.physician_visits_per_1000(SESSION_DATA, SPEC.county)
    card = page.locator('#fi section[data-indicator="pc_physician_visits_per_1000"]')
    headline = card.locator(".headline").first
    period = headline.get_attribute("data-period")
    key = ("county", SPEC.county, "month", date.fromisoformat(period + "-01"))
    assert close(float(headline.get_attribute("data-value")), expected[key])
    assert card.locator('.change[data-change="previous"]').count() == 1
    # municipalities sorted by value with the county as a reference line
    bars = card.locator(".comparison rect.bar title").evaluate_all(
        "titles => titles.map(t => t.textContent)"
    )
    shown = [float(t.rsplit(": ", 1)[1].replace("\u202f", "").replace(",", ".")) for t in bars]
    assert len(shown) > 5 and shown == sorted(shown, reverse=True)
    assert card.locator(".comparison line.reference").count() == 1
    # every class of a breakdown is compared: T3 of physicians and of nurses
    t3 = page.locator('#fi section[data-indicator="t3_median_days"] .comparison')
    assert sorted(t3.evaluate_all("c => c.map(x => x.dataset.class)")) == ["nurse", "physician"]
    t3_card = page.locator('#fi section[data-indicator="t3_median_days"]')
    assert "pienempi on parempi" in t3_card.inner_text()
    # the run named is the values' own
    run_of_values = (
        duckdb.connect(str(get_settings().warehouse), read_only=True)
        .execute("select max(run_id) from marts.indicator_values")
        .fetchone()[0]
    )
    assert page.locator("#fi code.as-of").inner_text() == run_of_values
    assert errors == []
    page.close()


def test_the_national_comparison_puts_sotkanet_beside_the_county_s_own(run, warehouse, browser):
    """The demo's Sotkanet downloads (landing/sotkanet, the API's format) reach
    marts.indicator_comparison: the country and every wellbeing services county, each county
    placed by its Finnish name. The residents Sotkanet gives the county are those of its
    population files (added up here from the files), and so are the project's own; the report
    and the packages show Sotkanet's values beside the county's."""
    from support.chromium import open_page

    rows = warehouse.execute(
        "select indicator_id, year, area_level, area_code, comparison, sotkanet_value, own_value "
        "from marts.indicator_comparison"
    ).fetchall()
    counties = {r[3] for r in rows if r[2] == "county"}
    reference = (REPO_ROOT / "dbt" / "seeds" / "reference" / "wellbeing_counties.csv").read_text()
    assert counties == {line.split(",")[0] for line in reference.splitlines()[1:]}
    assert {r[4] for r in rows if r[2] == "county" and r[3] == SPEC.county} == {"own"}
    assert {(r[3], r[4]) for r in rows if r[2] == "country"} == {("FI", "country")}
    residents: dict[int, int] = {}
    for path in (SESSION_DATA / "landing" / "population").glob("residents_*.csv"):
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            year, _, _, _, count = line.split(";")
            residents[int(year)] = residents.get(int(year), 0) + int(count)
    own = {
        r[1]: (r[5], r[6])
        for r in rows
        if r[0] == "population_residents" and r[2] == "county" and r[3] == SPEC.county
    }
    assert own == {year: (float(n), float(n)) for year, n in residents.items()}
    # the report: the county's Sotkanet value and its own, the country as the reference line
    page, errors = open_page(
        browser, (get_settings().reports / "indicators" / "index.html").as_uri()
    )
    national = page.locator('#fi section[data-indicator="population_residents"] .national')
    assert float(national.get_attribute("data-own")) == residents[max(residents)]
    assert float(national.get_attribute("data-sotkanet")) == residents[max(residents)]
    assert national.locator("line.reference").count() == 1
    assert national.locator("rect.bar").count() == len(counties)
    assert errors == []
    page.close()
    # the packages: a section of Sotkanet's values beside the county's own
    folder = get_settings().reports / "packages" / f"{SPEC.county}-2025"
    html = (folder / "primary_care.html").read_text(encoding="utf-8")
    assert 'data-section="national"' in html and "Sotkanet" in html
    assert 'class="national-comparison"' in html


def test_every_page_the_run_wrote_works_offline(run, browser):
    """Every HTML page of the reports folder (indicators, packages, the steward report, the GX
    Data Docs, the dbt docs) opened in Chromium with the network off: not one request outside
    the data folder, no console error, and what a reader looks for is there."""
    from support.chromium import open_offline

    reports = get_settings().reports
    pages = sorted(reports.rglob("*.html"))
    kinds = {p.relative_to(reports).parts[0] for p in pages}
    assert kinds == {"indicators", "packages", "quality", "dbt-docs"}, kinds
    measured = []
    for path in pages:
        page, errors, outside, seconds = open_offline(browser, path, get_settings().data_dir)
        if path.parent.name == "dbt-docs":  # AngularJS draws it after the load event
            page.wait_for_selector("text=How the data flows")
            page.wait_for_timeout(300)
        assert outside == [], (path, outside)
        assert errors == [], (path, errors)
        measured.append((path.stat().st_size, seconds, path.relative_to(reports)))
        page.context.close()
    for site in ("loads", "marts"):
        index = reports / "quality" / "gx" / site / "index.html"
        page, errors, outside, _ = open_offline(browser, index, get_settings().data_dir)
        rows = page.locator("table.validations tr[data-run-name]")
        names = set(rows.evaluate_all("rows => rows.map(r => r.dataset.runName)"))
        assert rows.count() > 0 and names == {LOAD_DATE.isoformat()}, (site, names)
        first = rows.first.locator("a")
        first.click()
        assert "Overview" in page.inner_text("body") and errors == []
        page.context.close()
    # what a reader looks for: an indicator's headline, the stewards' report in plain words
    page, errors, _, _ = open_offline(browser, reports / "indicators" / "index.html", reports)
    card = page.locator('#fi section[data-indicator="pc_physician_visits_per_1000"]')
    figure = card.locator(".headline .figure").first.inner_text()
    assert re.match(r"[\d\u202f]+,\d /", figure), figure  # e.g. 1 066,0 / 1 000 asukasta
    page.context.close()
    page, errors, _, _ = open_offline(browser, reports / "quality" / "index.html", reports)
    page.goto(page.url + "#sv")
    assert page.locator("#sv h1").inner_text() == "Datakvalitet"
    assert "Informationslagrets tester (dbt)" in page.locator("#sv").inner_text()
    for row in page.locator("#sv table.quarantine tr[data-reason]").all():
        meaning = row.locator("td.meaning").inner_text()
        assert len(meaning.split()) > 4, meaning  # a sentence, not the reason code
    assert errors == []
    page.context.close()
    for size, seconds, name in sorted(measured, reverse=True)[:5]:
        print(f"{name}: {size / 1024:.0f} kB, {seconds:.2f} s to load")


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


def test_gold_zone_exports_every_public_mart_with_a_manifest(run, warehouse):
    import pyarrow.parquet as pq

    gold = get_settings().lake / "gold"
    manifest = json.loads((gold / "manifest.json").read_text())
    public = public_relations(warehouse)
    assert [t["table"] for t in manifest["tables"]] == public and len(public) >= 30
    assert not STEWARDS_ONLY & set(public) and manifest["run_id"].startswith("manual__")
    for entry in manifest["tables"]:
        rows = warehouse.execute(f"select count(*) from {entry['table']}").fetchone()[0]
        assert entry["rows"] == rows == pq.read_metadata(gold / entry["file"]).num_rows, entry
        described = warehouse.execute(f"describe {entry['table']}").fetchall()
        assert [c["name"] for c in entry["columns"]] == [c[0] for c in described]
    exported = duckdb.sql(
        "select count(*), sum(value), count(*) filter (where suppressed) from "
        f"read_parquet('{gold / 'marts' / 'indicator_values.parquet'}')"
    ).fetchone()
    assert (
        exported
        == warehouse.execute(
            "select count(*), sum(value), count(*) filter (where suppressed) "
            "from marts.indicator_values"
        ).fetchone()
    )


def test_bi_warehouse_in_postgres_has_the_public_marts(run, warehouse, bi_postgres):
    for relation in [*public_relations(warehouse), *STEWARDS_ONLY]:
        (pg_rows,) = bi_postgres.query(f"select count(*) from {relation}")[0]
        rows = warehouse.execute(f"select count(*) from {relation}").fetchone()[0]
        assert int(pg_rows) == rows, relation
    pg_sum = bi_postgres.query(
        "select round(sum(value)::numeric, 4), count(*) filter (where suppressed) "
        "from marts.indicator_values"
    )[0]
    duck_sum = warehouse.execute(
        "select round(sum(value), 4), count(*) filter (where suppressed) "
        "from marts.indicator_values"
    ).fetchone()
    assert (float(pg_sum[0]), int(pg_sum[1])) == (float(duck_sum[0]), duck_sum[1])
    types = dict(
        bi_postgres.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'indicator_values'"
        )
    )
    assert types["value"] == "double precision" and types["period_start"] == "date"
    schemas = {
        s
        for (s,) in bi_postgres.query("select nspname from pg_namespace")
        if not s.startswith(("pg_", "information_schema"))
    }
    assert schemas == {"marts", "dq", "sotelake", "public"}, "no raw or internal models"


def test_bi_reader_reads_the_public_marts_and_nothing_else(run, bi_postgres):
    assert cli.main(["publish-postgres", bi_postgres.url]) == 0  # again: grants are kept
    for user, role in (("alice", "bi_reader"), ("steve", "dq_steward")):
        bi_postgres.create_role(user)
        bi_postgres.execute(f"grant {role} to {user}")

    def as_user(user: str, sql: str) -> str:
        try:
            return bi_postgres.execute(sql, user=user).strip()
        except subprocess.CalledProcessError as error:
            assert "permission denied" in error.stderr or "must be owner" in error.stderr, (
                error.stderr
            )
            return "denied"

    assert int(as_user("alice", "select count(*) from marts.indicator_values")) > 1000
    assert int(as_user("alice", "select count(*) from dq.validation_results")) > 0
    for denied in (
        "select count(*) from dq.quarantine",
        "select count(*) from dq.validation_examples",
        "select count(*) from sotelake.publications",
        "insert into marts.dim_date select * from marts.dim_date limit 1",
        "update marts.indicator_values set value = 0",
        "delete from dq.load_audit",
        "create table marts.mine (x int)",
        "create table public.mine (x int)",
        "drop table marts.dim_date",
    ):
        assert as_user("alice", denied) == "denied", denied
    assert int(as_user("steve", "select count(*) from dq.quarantine")) > 0
    assert int(as_user("steve", "select count(*) from dq.validation_examples")) >= 0
    assert as_user("steve", "delete from dq.quarantine") == "denied"
    publications = bi_postgres.query("select count(*) from sotelake.publications")[0][0]
    assert int(publications) >= 2


def test_bi_public_reads_the_aggregates_only(run, bi_postgres):
    """The role for wide audiences, tried against every schema and table of the warehouse and
    at writing: the indicators and the dimensions without persons, nothing person-level, no
    quality record; the gold zone's public/ folder holds the same relations and nothing else."""
    data, bi = get_settings().data_dir, bi_postgres
    bi.create_role("paula")
    bi.execute("grant bi_public to paula")

    def as_paula(sql: str) -> str:
        try:
            return bi.execute(sql, user="paula").strip()
        except subprocess.CalledProcessError as error:
            return f"denied: {error.stderr.strip()}"

    readable = {
        f"{s}.{t}"
        for s, t in bi.query(
            "select schemaname, tablename from pg_tables "
            "where schemaname not in ('pg_catalog', 'information_schema') "
            "and has_table_privilege('paula', schemaname || '.' || tablename, 'SELECT')"
        )
    }
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        from sotelake.transform.public_interface import aggregate_relations

        aggregates = set(aggregate_relations(con))
    assert readable == aggregates
    assert {
        "marts.indicator_values",
        "marts.indicator_catalog",
        "marts.indicator_value_history",
        "marts.indicator_revisions",
        "marts.dim_municipality",
    } <= readable
    assert not {t for t in readable if not t.startswith(("marts.indicator_", "marts.dim_"))}
    assert int(as_paula("select count(*) from marts.indicator_values")) > 100
    for sql in (
        "select count(*) from marts.fct_visits",
        "select count(*) from marts.dim_person",
        "select count(*) from marts.dim_person_residence",
        "select count(*) from dq.load_audit",
        "select count(*) from dq.quarantine",
        "select * from sotelake.publications",
        "update marts.indicator_values set value = 0",
        "delete from marts.indicator_catalog",
        "insert into marts.dim_date select * from marts.dim_date limit 1",
        "create table marts.mine (x int)",
        "create temporary table mine (x int)",
        "set role bi_reader",
    ):
        assert "denied" in as_paula(sql), sql
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        persons = {
            f"{s}.{t}"
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.columns "
                "where column_name = 'person_pseudonym'"
            ).fetchall()
        }
    assert {"marts.fct_visits", "marts.dim_person"} <= persons and not persons & readable
    public = data / "lake" / "gold" / "public"
    files = {f"{p.parent.name}.{p.stem}" for p in public.rglob("*.parquet")}
    assert files == aggregates


@pytest.mark.slow  # minutes: `make test-slow` and CI run it
def test_the_same_models_build_on_postgresql_with_the_same_indicators(run, warehouse, bi_postgres):
    """The dbt project's postgres target: the lake copied in, every model built and tested on
    PostgreSQL, and marts.indicator_values equal to the DuckDB build's, row for row."""
    from sotelake.transform.dbt_build import build_on_postgres

    bi_postgres.create_database("built_in_postgres")
    url = bi_postgres.url_for(bi_postgres.user, bi_postgres.password, "built_in_postgres")
    result = build_on_postgres(url, "pg-run", get_settings())
    assert not result.failures and result.statuses["success"] >= 80
    key = "indicator_id, area_level, area_code, period_grain, period_start, breakdown_code"
    duck = {
        row[:6]: row[6:]
        for row in warehouse.execute(
            f"select {key}, numerator, denominator, value, suppressed from marts.indicator_values"
        ).fetchall()
    }
    pg = {
        (i, a, c, g, date.fromisoformat(d), b): (n, dn, v, s)
        for i, a, c, g, d, b, n, dn, v, s in bi_postgres.query(
            f"select {key}, numerator, denominator, value, suppressed::text "
            "from marts.indicator_values",
            dbname="built_in_postgres",
        )
    }
    assert set(pg) == set(duck) and len(pg) > 1000

    def number(text: str):
        return float(text) if text != "" else None

    for k, (n, dn, v, s) in pg.items():
        expected = duck[k]
        got = (number(n), number(dn), number(v), s == "true")
        assert all(close(a, b) for a, b in zip(got[:3], expected[:3], strict=True)), k
        assert got[3] == expected[3], k
    # bi_reader reads the public marts there too, and nothing of the lake or the models below
    bi_postgres.create_role("carol", "carol-pw")
    bi_postgres.execute("grant bi_reader to carol")
    for sql, allowed in (
        ("select count(*) from marts.indicator_values", True),
        ("select count(*) from marts.fct_visits", True),
        ("select count(*) from dq.quarantine", False),
        ("select count(*) from lake_unified_record.patients", False),
        ("select count(*) from staging.stg_unified_record__visits", False),
        ("insert into marts.dim_date select * from marts.dim_date limit 1", False),
    ):
        try:
            bi_postgres.execute(sql, dbname="built_in_postgres", user="carol")
            assert allowed, sql
        except subprocess.CalledProcessError as error:
            assert not allowed and "permission denied" in error.stderr, (sql, error.stderr)


def lineage_of_the_run(run) -> tuple[list[dict], list[dict]]:
    """The OpenLineage events of the module's DAG run: its tasks', and their children's."""
    events = openlineage_events.read(lineage_file())
    return openlineage_events.of_dag_run(events, run[1].run_id)


def dbt_manifest() -> dict:
    return json.loads((SESSION_DATA / "dbt" / "target" / "manifest.json").read_text())


def test_lineage_has_every_task_and_dbt_model_started_and_completed(run, warehouse):
    tasks, children = lineage_of_the_run(run)
    task_runs = {}
    for event in tasks:
        instance = event["run"]["facets"]["airflow"]["taskInstance"]
        task = event["job"]["name"].removeprefix("sotelake_pipeline.")
        task_runs.setdefault((task, instance.get("map_index", -1)), set()).add(event["eventType"])
    instances = {(t.split("[")[0], ("[" in t)) for t in run[1].task_states}
    assert {t for t, _ in task_runs} == {t for t, _ in instances}
    assert sum(t == "extract" for t, _ in task_runs) == TABLES, "every mapped load"
    assert all(kinds == {"START", "COMPLETE"} for kinds in task_runs.values()), task_runs
    dbt_runs = {}
    for event in children:
        dbt_runs.setdefault(event["job"]["name"], set()).add(event["eventType"])
    manifest = dbt_manifest()
    models = [n for key, n in manifest["nodes"].items() if key.startswith("model.")]
    assert len(models) > 70
    for node in models:  # openlineage-dbt's job names: <database>.<schema>.<project>.<model>
        name = f"{node['database']}.{node['schema']}.sotelake.{node['name']}.build.run"
        assert dbt_runs.get(name) == {"START", "COMPLETE"}, name
    # a table built says its rows; a view has no count (counting would run its query)
    written = {
        e["job"]["name"].split(".")[3]: e["outputs"][0]
        for e in children
        if e["eventType"] == "COMPLETE" and e["job"]["name"].endswith(".build.run")
    }
    visits = warehouse.execute("select count(*) from marts.fct_visits").fetchone()[0]
    assert written["fct_visits"]["outputFacets"]["outputStatistics"]["rowCount"] == visits
    assert "outputStatistics" not in written["ind_pc_net_cost_per_visit"].get("outputFacets", {})
    tested = [name for name in dbt_runs if name.endswith(".build.test")]
    assert len(tested) > 30 and all(dbt_runs[n] == {"START", "COMPLETE"} for n in tested)
    for table in all_tables(load_registry()):
        for step in ("load", "validate"):
            assert dbt_runs.get(f"sotelake.{step}.{table.qualified_name}") == {"START", "COMPLETE"}
    for event in tasks + children:
        openlineage_events.validate(event)
    broken = json.loads(json.dumps(children[0]))
    del broken["run"]["runId"]
    with pytest.raises(jsonschema.ValidationError):
        openlineage_events.validate(broken)  # the check can fail


def test_lineage_walks_back_from_indicator_values_to_the_raw_partitions_of_the_loads(
    run, warehouse
):
    tasks, children = lineage_of_the_run(run)
    settings = get_settings()
    reached, read_with = openlineage_events.walk_back(
        tasks + children, warehouse_dataset(settings, "marts.indicator_values")
    )
    # what dbt says indicator_values is made from: the raw tables of its upstream sources
    manifest = dbt_manifest()
    parents, upstream = manifest["parent_map"], set()
    queue = ["model.sotelake.indicator_values"]
    while queue:
        for parent in parents.get(queue.pop(), []):
            if parent.startswith("source.") and parent not in upstream:
                upstream.add(parent)
            elif parent not in upstream:
                queue.append(parent)
    raw_tables = {
        f"{manifest['sources'][s]['source_name']}.{manifest['sources'][s]['name']}"
        for s in upstream
        if manifest["sources"][s]["source_name"] != "lake_dq"
    }
    assert len(raw_tables) >= 15
    loads = dict(
        warehouse.execute(
            "select source || '.' || table_name, load_id from dq.load_audit where load_date = ?",
            [LOAD_DATE],
        ).fetchall()
    )
    lake = settings.lake.resolve()
    for table in raw_tables:
        source, name = table.split(".")
        folder = ("file", str(lake / "raw" / source / name))
        assert folder in reached, f"the walk does not reach {table}"
        partition = (
            lake / "raw" / source / name / f"load_date={LOAD_DATE}" / f"{loads[table]}.parquet"
        )
        locations = {
            location
            for facets in read_with[folder]
            for location in facets.get("subset", {}).get("inputCondition", {}).get("locations", [])
        }
        assert f"file://{partition}" in locations, f"{table}: its load's partition is not named"
    # and the loads' own runs say they wrote those partitions, with their rows
    loaded = {
        e["job"]["name"].removeprefix("sotelake.load."): e
        for e in children
        if e["job"]["name"].startswith("sotelake.load.") and e["eventType"] == "COMPLETE"
    }
    rows = dict(
        warehouse.execute(
            "select source || '.' || table_name, loaded from dq.load_audit where load_date = ?",
            [LOAD_DATE],
        ).fetchall()
    )
    for table in raw_tables:
        (raw,) = [d for d in loaded[table]["outputs"] if "/raw/" in d["name"]]
        assert raw["outputFacets"]["outputStatistics"]["rowCount"] == rows[table]
        assert raw["facets"]["schema"]["fields"], table


def test_validations_carry_the_gx_results_as_assertions(run, warehouse):
    _, children = lineage_of_the_run(run)
    (patients,) = [
        e
        for e in children
        if e["job"]["name"] == "sotelake.validate.unified_record.patients"
        and e["eventType"] == "COMPLETE"
    ]
    (raw,) = patients["inputs"]
    checked = raw["inputFacets"]["dataQualityAssertions"]["assertions"]
    stored = warehouse.execute(
        "select expectation_type, success from dq.validation_results "
        "where source = 'unified_record' and table_name = 'patients' and load_date = ?",
        [LOAD_DATE],
    ).fetchall()
    assert sorted((a["assertion"], a["success"]) for a in checked) == sorted(stored)
    assert {a["severity"] for a in checked} >= {"critical"}


def test_asset_events_carry_what_the_run_changed(run, warehouse):
    _, summary = run
    events = openlineage_events.asset_events(summary.run_id)
    raw = {(e["source"], e["table"]): e for name, e in events if name == "sotelake.lake.raw"}
    loaded = {
        (source, table): (rows, load_id)
        for source, table, rows, load_id in warehouse.execute(
            "select source, table_name, loaded, load_id from dq.load_audit where loaded > 0"
        ).fetchall()
    }
    assert {k: (e["rows"], e["load_id"]) for k, e in raw.items()} == loaded
    assert all(
        e["run_id"] == summary.run_id and e["load_date"] == LOAD_DATE.isoformat()
        for e in raw.values()
    )
    marts = {name: e for name, e in events if name.startswith("sotelake.warehouse.")}
    values = marts["sotelake.warehouse.marts.indicator_values"]
    count = warehouse.execute("select count(*) from marts.indicator_values").fetchone()[0]
    assert values["rows"] == count and values["status"] == "rebuilt"
    assert len(marts) == len(public_marts()), "a whole build rebuilds every public mart"
    assert "sotelake.warehouse.dq.quarantine" not in marts, "for stewards only: no asset"
    published = {name for name, _ in events}
    assert {"sotelake.lake.gold", "sotelake.reports", "sotelake.bi_warehouse"} <= published


def test_rerunning_the_same_load_date_changes_nothing(run):
    before = snapshot()
    assert len(before) > 40 and sum(len(rows) for rows in before.values()) > 50_000
    assert run_pipeline(LOAD_DATE).succeeded
    after = snapshot()
    # the record of what each build rebuilt grows by one entry per model and build
    changed = [n for n in before if before[n] != after.get(n) and n != "intermediate.rebuilds"]
    assert not changed and set(after) == set(before)


@pytest.mark.slow  # minutes: `make test-slow` and CI run it
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
    # primary care's new contacts and the new oral health and mental health visits
    added = ("new_visits", "new_oral_health_visits", "new_mental_health_visits")
    assert new == sum(c[k] for c in changes for k in added) - independent_new_visits_of_invalid(
        changes
    )
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


@pytest.mark.slow  # minutes: `make test-slow` and CI run it
def test_the_same_events_reach_an_http_endpoint_when_one_is_set(run, tmp_path):
    """A daily run with OPENLINEAGE_URL set (a real HTTP receiver on this machine): the tasks'
    and the steps' events arrive there, valid, and none are written to the file."""
    import http.server
    import threading

    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, json.loads(body)))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args):
            pass

    advance(SESSION_DATA, date(2026, 1, 4))  # the day's deliveries (none late: no open item)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    before = lineage_file().read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__OPENLINEAGE__")}
    env["OPENLINEAGE_URL"] = f"http://127.0.0.1:{server.server_port}"
    try:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("sotelake")), "run", "--load-date", "2026-01-04"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert {path for path, _ in received} == {"/api/v1/lineage"}
    events = [event for _, event in received]
    (dag_run,) = {
        e["run"]["facets"]["airflow"]["dagRun"]["run_id"]
        for e in events
        if "airflow" in e["run"]["facets"]
    }
    tasks, children = openlineage_events.of_dag_run(events, dag_run)
    assert len(children) > 50, "the steps' runs, under the tasks'"
    written = openlineage_events.read(lineage_file())[len(before.splitlines()) :]
    # a late DAG-run event of the in-process run may still arrive in the file; none of this run
    mixed = openlineage_events.of_dag_run(written + tasks, dag_run)
    assert mixed == (tasks, []), "the events went to the endpoint, not the file"
    for event in events:
        openlineage_events.validate(event)
    jobs = {}
    for event in events:
        jobs.setdefault(event["job"]["name"], set()).add(event["eventType"])
    for task in ("plan", "extract", "validate", "transform", "publish", "conclude"):
        assert jobs.get(f"sotelake_pipeline.{task}") == {"START", "COMPLETE"}, task
    assert jobs.get("sotelake.load.unified_record.visits") == {"START", "COMPLETE"}
    models = [name for name in jobs if name.endswith(".build.run")]  # what the day's build ran
    assert "warehouse.dq.sotelake.load_audit.build.run" in models
    assert all(jobs[name] == {"START", "COMPLETE"} for name in models)
