"""The dbt project's spark target: the pipeline's transform and publish with
SOTELAKE_DBT_TARGET=spark build the same models on a real Spark (local mode, in this process),
reading the lake's Parquet files as external tables, and publish them: the gold zone and the
reports hold the Spark-built marts, and marts.indicator_values equals the DuckDB build's row for
row.

One demo county through Airflow (the DuckDB build, kept as the reference), then the pipeline's
transform and publish steps on Spark over the same lake: one Spark session for the module.
Slow: Spark runs each of the project's ~180 nodes as its own jobs (minutes on two cores).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from datetime import date

import duckdb
import pytest
import yaml

from sotelake import pipeline
from sotelake.airflow_run import run_pipeline
from sotelake.demo.generate import DemoSpec, generate
from sotelake.publish.steward_report import collect
from sotelake.quality.suite_spec import build_mart_suites
from sotelake.settings import DBT_TARGET_ENV, get_settings
from sotelake.transform.dbt_build import run_dbt, spark_environment

pytestmark = pytest.mark.slow

SPEC = DemoSpec(residents=3_000, seed=11)
DAY = date(2026, 1, 1)
RUN = "spark-test"
KEY = "indicator_id, area_level, area_code, period_grain, period_start, breakdown_code"
FIGURES = "numerator, denominator, value, suppressed"
REL_TOL = 1e-9  # floating point: sums and divisions in another order, nothing more


@pytest.fixture(scope="module")
def built(airflow_db, tmp_path_factory):
    """The demo county built on DuckDB (the DAG through Airflow; its warehouse and gold manifest
    kept as the reference), then transform and publish with SOTELAKE_DBT_TARGET=spark. The
    Spark session stays up for the tests to read, and is stopped at the end of the module."""
    data = tmp_path_factory.mktemp("spark")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SOTELAKE_DATA_DIR", str(data))
        try:
            generate(SPEC, data)
            assert run_pipeline(DAY).succeeded
            reference = data / "duckdb-build"
            reference.mkdir()
            settings = get_settings()
            shutil.copy(settings.warehouse, reference / "warehouse.duckdb")
            shutil.copy(settings.lake / "gold" / "manifest.json", reference / "manifest.json")
            env.setenv(DBT_TARGET_ENV, "spark")
            settings = get_settings()
            started = time.perf_counter()
            transformed = pipeline.transform(RUN, [], DAY, settings)
            transform_seconds = time.perf_counter() - started
            published = pipeline.publish(RUN, settings)
            print(
                f"\ntransform on Spark: {transform_seconds:.0f} s (dbt build "
                f"{transformed['seconds']:.0f} s {transformed['statuses']}), publish "
                f"{time.perf_counter() - started - transform_seconds:.0f} s"
            )
            yield settings, reference, transformed, published
        finally:
            _stop_spark()


def _stop_spark() -> None:
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


def spark_rows(sql: str) -> list[tuple]:
    from pyspark.sql import SparkSession

    # the session dbt-spark started in this process, with its warehouse and metastore
    return [tuple(row) for row in SparkSession.builder.getOrCreate().sql(sql).collect()]


def close(a, b) -> bool:
    return (a is None and b is None) or (
        a is not None and b is not None and math.isclose(a, b, rel_tol=REL_TOL)
    )


def duckdb_rows(database, sql: str) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def stewards(database) -> dict:
    """What the steward report shows, from a warehouse file."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        return collect(con)
    finally:
        con.close()


def differences(rows: list[tuple], reference: list[tuple]) -> dict:
    """Indicator rows (key, figures) that differ from the reference beyond REL_TOL."""
    mine = {row[:6]: row[6:] for row in rows}
    theirs = {row[:6]: row[6:] for row in reference}
    assert set(mine) == set(theirs) and len(mine) > 1000
    return {
        key: (figures, theirs[key])
        for key, figures in mine.items()
        if not all(close(a, b) for a, b in zip(figures[:3], theirs[key][:3], strict=True))
        or figures[3] != theirs[key][3]
    }


def test_every_model_and_test_passes_on_spark(built):
    _, _, transformed, _ = built
    assert transformed["target"] == "spark" and not transformed["failures"]
    assert transformed["statuses"]["success"] >= 80 and transformed["statuses"]["pass"] >= 80


def test_indicator_values_on_spark_equal_the_duckdb_build(built):
    _, reference, _, _ = built
    duck = duckdb_rows(
        reference / "warehouse.duckdb", f"select {KEY}, {FIGURES} from marts.indicator_values"
    )
    spark = spark_rows(f"select {KEY}, {FIGURES} from marts.indicator_values")
    different = differences(spark, duck)
    assert not different, list(different.items())[:5]
    indicators = {row[0] for row in spark}
    catalogue = duckdb_rows(
        reference / "warehouse.duckdb", "select indicator_id from marts.indicator_catalog"
    )
    assert indicators == {row[0] for row in catalogue}, indicators


def test_the_gold_zone_holds_the_spark_built_marts(built):
    """Every public mart of the Spark build, with Spark's row count, in the layout and with the
    columns and types of the DuckDB build's export."""
    settings, reference, transformed, _ = built
    manifest = json.loads((settings.lake / "gold" / "manifest.json").read_text())
    duck = json.loads((reference / "manifest.json").read_text())
    assert manifest["dbt_target"] == "spark" and manifest["run_id"] == RUN
    assert [t["table"] for t in manifest["tables"]] == [t["table"] for t in duck["tables"]]
    for table, duck_table in zip(manifest["tables"], duck["tables"], strict=True):
        (rows,) = spark_rows(f"select count(*) from {table['table']}")[0]
        assert table["rows"] == rows, table["table"]
        assert table["file"] == duck_table["file"], table["table"]
        assert (settings.lake / "gold" / table["file"]).is_file()
        assert table["columns"] == duck_table["columns"], table["table"]
    assert "dq.quarantine" not in {t["table"] for t in manifest["tables"]}  # stewards only
    assert transformed["served"]["dq.quarantine"] > 0  # but the steward report has it


def test_gold_indicator_values_equal_the_duckdb_build(built):
    settings, reference, _, _ = built
    gold = settings.lake / "gold" / "marts" / "indicator_values.parquet"
    rows = duckdb.execute(f"select {KEY}, {FIGURES} from read_parquet('{gold}')").fetchall()
    duck = duckdb_rows(
        reference / "warehouse.duckdb", f"select {KEY}, {FIGURES} from marts.indicator_values"
    )
    different = differences(rows, duck)
    assert not different, list(different.items())[:5]
    runs = duckdb.execute(f"select distinct run_id from read_parquet('{gold}')").fetchall()
    assert runs == [(RUN,)]


def test_the_marts_checks_and_reports_read_the_spark_build(built):
    settings, reference, transformed, published = built
    suites = build_mart_suites(settings.expectations / "specs.yml")
    assert len(transformed["mart_checks"]) == len(suites)
    assert all(c["status"] in ("passed", "warnings") for c in transformed["mart_checks"])
    (checked,) = spark_rows(
        f"select count(*) from dq.validation_results where load_id = 'build_{RUN}'"
    )[0]
    assert checked > 0  # the marts' results reached Spark's dq.validation_results
    report = (settings.reports / "indicators" / "index.html").read_text()
    assert RUN in report and "T3" in report
    packages = sorted((settings.reports / "packages").glob("*/*.csv"))
    assert published["packages"] and len(packages) >= 4
    # the stewards see the same loads, checks and reconciliation as after the DuckDB build
    served, duck = (stewards(path) for path in (settings.warehouse, reference / "warehouse.duckdb"))
    assert [(s["source"], s["table_name"], s["loaded"]) for s in served["loads"]] == [
        (s["source"], s["table_name"], s["loaded"]) for s in duck["loads"]
    ]
    assert served["reconciliation"]["checked"] == duck["reconciliation"]["checked"] > 0
    assert not served["reconciliation"]["failed"]
    assert (settings.reports / "quality" / "index.html").exists()
    assert (settings.reports / "dbt-docs" / "index.html").exists()


def test_the_lake_is_read_where_it_lies(built):
    """The raw tables are external tables over the lake's folders, not copies."""
    settings, *_ = built
    (location,) = [
        value
        for name, value, *_ in spark_rows("describe table extended lake_unified_record.visits")
        if name == "Location"
    ]
    assert location.endswith(str(settings.lake / "raw" / "unified_record" / "visits"))
    assert spark_rows("select count(*) from marts.fct_visits")[0][0] > 1_000


def test_the_formulas_pass_their_unit_tests_on_spark(built):
    settings, *_ = built
    result = run_dbt(
        ["test", "--select", "test_type:unit"],
        settings=settings,
        extra_env=spark_environment(settings),
    )
    unit_tests = yaml.safe_load(
        (settings.dbt_project / "models/marts/indicators/_indicators__unit_tests.yml").read_text()
    )["unit_tests"]
    # on-run-start registers the lake and creates the record of rebuilds (none on Spark),
    # on-run-end grants (none here)
    hooks = {"success": 3}
    assert result.statuses == {"pass": len(unit_tests), **hooks}
