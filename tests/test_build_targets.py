"""The engine of the pipeline's build, chosen by SOTELAKE_DBT_TARGET: the setting is checked in
one place, and each engine's build feeds the same DuckDB file that the checks and publish read.

The postgres target runs for real here (a small county through the pipeline's steps, a
throwaway PostgreSQL cluster as the BI warehouse it builds in); the spark target's build is in
tests/test_spark_build.py (slow).
"""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from sotelake import pipeline
from sotelake.demo.generate import DemoSpec, generate
from sotelake.devtools.postgres import ThrowawayPostgres
from sotelake.publish.bi_warehouse import URL_ENV
from sotelake.quality.steward_report import collect
from sotelake.quality.suite_spec import build_mart_suites
from sotelake.settings import DBT_TARGET_ENV, ConfigurationError, get_settings
from sotelake.transform.dbt_build import SPARK_THRIFT_HOST_ENV
from sotelake.transform.targets import build_target

SPEC = DemoSpec(residents=500, seed=5)  # every indicator has values at 500 residents
DAY = date(2026, 1, 1)
RUN = "pg-target"


@pytest.mark.parametrize(
    "value, engine",
    [
        (None, "duckdb"),
        ("", "duckdb"),
        ("duckdb", "duckdb"),
        (" Spark ", "spark"),
        ("postgres", "postgres"),
    ],
)
def test_the_engine_comes_from_one_setting(monkeypatch, value, engine):
    if value is None:
        monkeypatch.delenv(DBT_TARGET_ENV, raising=False)
    else:
        monkeypatch.setenv(DBT_TARGET_ENV, value)
    assert get_settings().dbt_target == engine


def test_an_unknown_engine_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(DBT_TARGET_ENV, "snowflake")
    with pytest.raises(ConfigurationError) as error:
        get_settings()
    assert "SOTELAKE_DBT_TARGET='snowflake'" in str(error.value)
    assert "duckdb, postgres, spark" in str(error.value)


def test_the_postgres_target_needs_the_bi_warehouse(monkeypatch):
    monkeypatch.setenv(DBT_TARGET_ENV, "postgres")
    monkeypatch.delenv(URL_ENV, raising=False)
    with pytest.raises(ConfigurationError, match=f"{URL_ENV}.*sotelake_bi_warehouse"):
        build_target(get_settings(), connection_lookup=lambda conn_id: None)
    url = "postgresql://builder:pw@warehouse-db:5432/warehouse"
    target = build_target(get_settings(), connection_lookup={"sotelake_bi_warehouse": url}.get)
    assert target.name == "postgres" and target.warehouse_url == url
    assert target.env["SOTELAKE_PG_HOST"] == "warehouse-db"


def test_the_spark_target_is_a_local_session_or_a_thrift_server(monkeypatch):
    monkeypatch.setenv(DBT_TARGET_ENV, "spark")
    monkeypatch.delenv(SPARK_THRIFT_HOST_ENV, raising=False)
    session = build_target(get_settings())
    assert session.name == "spark" and "SOTELAKE_DBT_OUTPUT" not in session.env
    monkeypatch.setenv(SPARK_THRIFT_HOST_ENV, "spark-thrift")
    assert build_target(get_settings()).env["SOTELAKE_DBT_OUTPUT"] == "spark_thrift"
    assert build_target(get_settings()).env["SOTELAKE_DBT_TARGET"] == "spark"


def test_a_failed_build_is_served_and_its_error_raised(monkeypatch):
    """After a failed Spark or PostgreSQL build, publish shows what did build (as after a
    failed DuckDB build); if even that copy fails, the build's error is the one raised."""
    from sotelake.transform import serving
    from sotelake.transform.dbt_build import DbtBuildError
    from sotelake.transform.targets import BuildTarget

    monkeypatch.setenv(DBT_TARGET_ENV, "spark")
    refreshed = []

    def fail(*args, **kwargs):
        raise DbtBuildError("dbt build failed:\nmodel.sotelake.fct_visits: error: boom")

    def refresh(target, settings, relations=None):
        refreshed.append(target.name)
        raise RuntimeError("the Thrift Server is down too")

    monkeypatch.setattr(BuildTarget, "build", fail)
    monkeypatch.setattr(serving, "refresh", refresh)
    with pytest.raises(DbtBuildError, match="fct_visits"):
        pipeline.transform(RUN, [], DAY)
    assert refreshed == ["spark"]


@pytest.fixture(scope="module")
def on_postgres(tmp_path_factory):
    """A small county through the pipeline's steps with SOTELAKE_DBT_TARGET=postgres."""
    data = tmp_path_factory.mktemp("pg-target")
    with ThrowawayPostgres() as pg, pytest.MonkeyPatch.context() as env:
        env.setenv("SOTELAKE_DATA_DIR", str(data))
        env.setenv(DBT_TARGET_ENV, "postgres")
        env.setenv(URL_ENV, pg.url)
        generate(SPEC, data)
        loads = pipeline.plan_loads(DAY)
        key = b"k" * 40
        checked = pipeline.validate(loads, [pipeline.extract(load, key) for load in loads], RUN)
        transformed = pipeline.transform(RUN, checked["held_back"], DAY)
        published = pipeline.publish(RUN)
        yield pg, get_settings(), transformed, published


def test_the_pipeline_builds_in_postgresql_and_serves_its_marts(on_postgres):
    pg, settings, transformed, published = on_postgres
    assert transformed["target"] == "postgres" and not transformed["failures"]
    assert transformed["statuses"]["success"] >= 80
    # the serving copy holds what dbt built in PostgreSQL, row for row
    served = transformed["served"]
    assert {"marts.indicator_values", "dq.validation_results", "dq.quarantine"} <= set(served)
    for relation, rows in served.items():
        assert int(pg.query(f"select count(*) from {relation}")[0][0]) == rows, relation
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        schemas = {s for (s,) in con.execute("select schema_name from duckdb_schemas()").fetchall()}
        assert not {"staging", "intermediate"} & schemas  # those stay in the engine
        # the marts' GX checks ran on the served copy, and their results reached dq
        (mart_results,) = con.execute(
            "select count(*) from dq.validation_results where load_id = ?", [f"build_{RUN}"]
        ).fetchone()
        stewards = collect(con)
    finally:
        con.close()
    suites = build_mart_suites(settings.expectations / "specs.yml")
    assert len(transformed["mart_checks"]) == len(suites) and mart_results > 0
    assert all(c["status"] in ("passed", "warnings") for c in transformed["mart_checks"])
    assert len(stewards["loads"]) == len(pipeline.plan_loads(DAY))
    assert stewards["reconciliation"]["checked"] > 0 and not stewards["reconciliation"]["failed"]


def test_publish_reads_the_served_marts_and_leaves_the_bi_warehouse_to_dbt(on_postgres):
    pg, settings, transformed, published = on_postgres
    manifest = json.loads((settings.lake / "gold" / "manifest.json").read_text())
    assert manifest["dbt_target"] == "postgres" and manifest["run_id"] == RUN
    gold = {t["table"]: t["rows"] for t in manifest["tables"]}
    assert gold == {r: n for r, n in transformed["served"].items() if r != "dq.quarantine"}
    assert "bi_warehouse" not in published  # nothing copied back: dbt built it there
    schemas = {s for (s,) in pg.query("select nspname from pg_namespace")}
    assert "sotelake" not in schemas  # the publication log of publish_to_postgres
    grants = pg.query(
        "select count(*) from information_schema.role_table_grants "
        "where grantee = 'bi_reader' and table_schema = 'marts'"
    )
    assert int(grants[0][0]) >= 20  # dbt's on-run-end hook gave bi_reader the marts
    report = (settings.reports / "indicators" / "index.html").read_text()
    assert RUN in report and "T3" in report
    assert (settings.reports / "quality" / "index.html").exists()
    assert published["packages"] and (settings.reports / "packages" / "index.html").exists()
