"""Server mode's source: the same DAG extracts the record system from a real PostgreSQL server.

A throwaway PostgreSQL cluster holds the demo record system; the DAG finds it through the
Airflow connection ``sotelake_unified_record`` (given as AIRFLOW_CONN_... in the environment,
as a deployment would), and the indicators come out as computed from the sources.
"""

from __future__ import annotations

import math
from datetime import date

import duckdb
import pytest
from support import independent
from support.postgres import ThrowawayPostgres

from sotelake.airflow_run import run_pipeline
from sotelake.demo.generate import DemoSpec, generate
from sotelake.demo.to_postgres import copy_record_system

SPEC = DemoSpec(residents=1_500, seed=21)

# a minute (a PostgreSQL cluster and a whole run): `make test-slow` and CI run it
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres():
    with ThrowawayPostgres(user="sotelake", dbname="unified_record") as pg:
        yield pg


def test_the_dag_extracts_the_record_system_from_postgresql(
    postgres, airflow_db, tmp_path, monkeypatch
):
    manifest = generate(SPEC, tmp_path)
    sqlite = tmp_path / "sources" / "unified_record.sqlite"
    copied = copy_record_system(sqlite, postgres.url)
    assert copied == {k: v for k, v in manifest["rows"]["unified_record"].items()}
    expected = independent.physician_visits_per_1000(tmp_path, SPEC.county)
    sqlite.rename(tmp_path / "sources" / "not_the_source.sqlite")  # only PostgreSQL is left
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_SOTELAKE_UNIFIED_RECORD", postgres.url)
    summary = run_pipeline(date(2026, 1, 1))
    assert summary.succeeded, summary.task_states

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    audit = dict(
        con.execute(
            "select table_name, extracted from dq.load_audit where source = 'unified_record'"
        ).fetchall()
    )
    assert audit == manifest["rows"]["unified_record"]
    rows = con.execute(
        "select area_level, area_code, period_grain, period_start, value, suppression_reason "
        "from marts.indicator_values "
        "where indicator_id = 'pc_physician_visits_per_1000'"
    ).fetchall()
    actual = {r[:4]: r[4] for r in rows}
    reasons = {r[:4]: r[5] for r in rows}
    assert set(actual) == set(expected)
    # the small cells are withheld (primary); a value may also be withheld to protect them
    # (secondary), never changed
    assert all(
        (expected[k] is None and reasons[k] == "primary")
        or (actual[k] is None and reasons[k] == "secondary")
        or (actual[k] is not None and math.isclose(actual[k], expected[k], rel_tol=1e-9))
        for k in expected
    )
