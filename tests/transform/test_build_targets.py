"""The engine of the pipeline's build, chosen by SOTELAKE_DBT_TARGET: the setting is checked in
one place, and each engine's build feeds the same DuckDB file that the checks and publish read.

The postgres target runs for real here (a small county through the pipeline's steps, a
throwaway PostgreSQL cluster as the BI warehouse it builds in); the spark target's build is in
tests/transform/test_spark_build.py (slow).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from support.postgres import ThrowawayPostgres

from sotelake import pipeline
from sotelake.demo.generate import DemoSpec, generate
from sotelake.publish.steward_report import collect
from sotelake.quality.suite_spec import build_mart_suites
from sotelake.settings import DBT_TARGET_ENV, ConfigurationError, get_settings
from sotelake.transform.bi_warehouse import URL_ENV
from sotelake.transform.dbt_build import SPARK_THRIFT_HOST_ENV
from sotelake.transform.public_interface import STEWARDS_ONLY
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


def test_a_dbt_command_after_the_build_leaves_the_builds_artifacts(tmp_path, monkeypatch):
    """The build's lineage and test results read its ``run_results.json`` and
    ``manifest.json``; after a failed Spark build only once the serving copy's ``dbt
    run-operation`` has run. That command, and every other one after a build, must leave the
    build's files as the build wrote them (dbt would replace them with its own)."""
    from sotelake.transform.dbt_build import dbt_environment
    from sotelake.transform.targets import BuildTarget

    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    settings = get_settings()
    artifacts = Path(dbt_environment(settings)["DBT_TARGET_PATH"])
    artifacts.mkdir(parents=True)
    builds = {
        "run_results.json": json.dumps(
            {"metadata": {"invocation_id": "the-build"}, "results": [{"status": "error"}]}
        ),
        "manifest.json": json.dumps({"metadata": {"invocation_id": "the-build"}, "nodes": {}}),
    }
    for name, text in builds.items():
        (artifacts / name).write_text(text)
    result = BuildTarget("duckdb", {DBT_TARGET_ENV: "duckdb"}).run(
        ["run-operation", "grant_public_marts"], settings
    )
    assert result.statuses == {"success": 1}  # dbt ran
    assert {name: (artifacts / name).read_text() for name in builds} == builds


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


@pytest.mark.slow  # minutes: `make test-slow` and CI run it
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
        assert "staging" not in schemas  # that stays in the engine, and of intermediate all
        # but the record of what the build rebuilt, which the marts' checks read
        intermediate = con.execute(
            "select table_name from information_schema.tables where table_schema = 'intermediate'"
        ).fetchall()
        assert intermediate == [("rebuilds",)]
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


@pytest.mark.slow  # minutes: `make test-slow` and CI run it
def test_publish_reads_the_served_marts_and_leaves_the_bi_warehouse_to_dbt(on_postgres):
    pg, settings, transformed, published = on_postgres
    manifest = json.loads((settings.lake / "gold" / "manifest.json").read_text())
    assert manifest["dbt_target"] == "postgres" and manifest["run_id"] == RUN
    gold = {t["table"]: t["rows"] for t in manifest["tables"]}
    public = {r: n for r, n in transformed["served"].items() if r.split(".")[0] in ("marts", "dq")}
    assert gold == {r: n for r, n in public.items() if r not in STEWARDS_ONLY}
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


@pytest.mark.slow  # minutes: `make test-slow` and CI run it
def test_a_daily_build_on_postgresql_rebuilds_what_it_touched(on_postgres):
    """The next day on the postgres target: fct_visits replaces the visits the day's changes
    name in PostgreSQL (its pre-hook's delete, dbt's delete+insert) and equals a whole
    rebuild. (Runs after the tests above: it moves the warehouse on by a day.)"""
    from datetime import timedelta

    from support.record_edits import edit_the_record_system

    from sotelake.demo.changes import advance
    from sotelake.transform.changes import BuildState

    pg, settings, _, _ = on_postgres
    day = DAY + timedelta(days=1)
    advance(settings.data_dir, day)
    edits = edit_the_record_system(settings.data_dir, day)

    def daily_run() -> dict:
        loads = pipeline.plan_loads(day)
        extracted = [pipeline.extract(load, b"k" * 40) for load in loads]
        checked = pipeline.validate(loads, extracted, f"pg-{day}")
        return pipeline.transform(
            f"pg-{day}", checked["held_back"], day, changed=checked["changed"]
        )

    columns = ", ".join(
        name
        for (name,) in pg.query(
            "select column_name from information_schema.columns where table_schema = 'marts' "
            "and table_name = 'fct_visits' and column_name <> '_published_at' "
            "order by ordinal_position"
        )
    )
    visits = f"select {columns} from marts.fct_visits order by visit_key"
    merged = daily_run()
    assert merged["selected"] and "marts.fct_visits" in merged["built"]
    after_merge = pg.query(visits)
    moved = pg.query(
        "select distinct home_municipality_code from marts.fct_visits where source_visit_id in ("
        + ", ".join(str(v) for v, day in edits["moved_visits"].items() if day >= edits["moved_on"])
        + ")"
    )
    assert [tuple(row) for row in moved] == [(edits["moved_to"],)]
    rebuilt = [c for c in merged["mart_checks"] if c["table"] == "marts.fct_visits"]
    assert "2025-10-01" < rebuilt[0]["rebuilt_from"] <= edits["moved_on"].isoformat()
    deleted = f"select count(*) from marts.fct_visits where visit_key = 'U{edits['deleted_visit']}'"
    assert int(pg.query(deleted)[0][0]) == 0

    BuildState.forget(settings)
    whole = daily_run()
    assert whole["selected"] is None
    assert pg.query(visits) == after_merge


def test_the_lake_copy_keeps_its_tables_and_replaces_one_whose_columns_changed(
    tmp_path, monkeypatch
):
    """A second copy replaces the rows and keeps the table (dbt's staging views read it); a
    table whose columns changed is made again with its rows, the views that read it dropped."""
    from sotelake.transform.lake_copy import copy_lake_to_postgres

    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    settings = get_settings()
    folder = settings.lake / "raw" / "finance" / "cost_centres" / "load_date=2026-01-01"
    folder.mkdir(parents=True)
    part = folder / "load1.parquet"
    duckdb.sql(f"copy (select range as cost_centre, 'l1' as _load_id from range(3)) to '{part}'")
    with ThrowawayPostgres() as pg:
        assert copy_lake_to_postgres(pg.url, settings) == {"lake_finance.cost_centres": 3}
        pg.execute("create view public.reader as select * from lake_finance.cost_centres")
        duckdb.sql(
            f"copy (select range as cost_centre, 'l1' as _load_id from range(4)) to '{part}'"
        )
        assert copy_lake_to_postgres(pg.url, settings) == {"lake_finance.cost_centres": 4}
        assert int(pg.query("select count(*) from public.reader")[0][0]) == 4  # the view stays
        duckdb.sql(
            "copy (select range as cost_centre, 'l1' as _load_id, 'x' as name from range(5)) "
            f"to '{part}'"
        )
        assert copy_lake_to_postgres(pg.url, settings) == {"lake_finance.cost_centres": 5}
        assert int(pg.query("select count(*) from lake_finance.cost_centres")[0][0]) == 5
        assert not pg.query("select 1 from pg_views where viewname = 'reader'")
