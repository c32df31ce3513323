"""The dbt project's spark target: the same models built on a real Spark (local mode, in this
process), reading the lake's Parquet files as external tables, give the DuckDB build's
marts.indicator_values row for row.

One demo county through Airflow (the DuckDB build), then one dbt build on Spark over the same
lake. Slow: Spark runs each of the project's ~180 nodes as its own jobs (minutes on two cores).
"""

from __future__ import annotations

import math
import os
import time
from datetime import date

import duckdb
import pytest
import yaml

from sotelake.airflow_run import run_pipeline
from sotelake.demo.generate import DemoSpec, generate
from sotelake.settings import get_settings
from sotelake.transform.dbt_build import build_on_spark, run_dbt, spark_environment

pytestmark = pytest.mark.slow

SPEC = DemoSpec(residents=3_000, seed=11)
DAY = date(2026, 1, 1)
KEY = "indicator_id, area_level, area_code, period_grain, period_start, breakdown_code"
FIGURES = "numerator, denominator, value, suppressed"
REL_TOL = 1e-9  # floating point: sums and divisions in another order, nothing more


@pytest.fixture(scope="module")
def built(airflow_db, tmp_path_factory):
    """The demo county built on DuckDB (the pipeline) and on Spark; the Spark session stays
    up for the tests to read, and is stopped at the end of the module."""
    data = tmp_path_factory.mktemp("spark")
    saved = os.environ["SOTELAKE_DATA_DIR"]
    os.environ["SOTELAKE_DATA_DIR"] = str(data)
    try:
        generate(SPEC, data)
        assert run_pipeline(DAY).succeeded
        started = time.perf_counter()
        result = build_on_spark("spark-test", get_settings())
        print(f"\ndbt build on Spark: {time.perf_counter() - started:.0f} s {result.statuses}")
        yield get_settings(), result
    finally:
        os.environ["SOTELAKE_DATA_DIR"] = saved
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


def test_every_model_and_test_passes_on_spark(built):
    _, result = built
    assert not result.failures
    assert result.statuses["success"] >= 80 and result.statuses["pass"] >= 80


def test_indicator_values_on_spark_equal_the_duckdb_build(built):
    settings, _ = built
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        duck = {
            row[:6]: row[6:]
            for row in con.execute(
                f"select {KEY}, {FIGURES} from marts.indicator_values"
            ).fetchall()
        }
    finally:
        con.close()
    spark = {
        row[:6]: row[6:]
        for row in spark_rows(f"select {KEY}, {FIGURES} from marts.indicator_values")
    }
    assert set(spark) == set(duck) and len(spark) > 1000
    different = {
        key: (figures, duck[key])
        for key, figures in spark.items()
        if not all(close(a, b) for a, b in zip(figures[:3], duck[key][:3], strict=True))
        or figures[3] != duck[key][3]
    }
    assert not different, list(different.items())[:5]
    indicators = {key[0] for key in spark}
    assert len(indicators) == 20, indicators


def test_the_lake_is_read_where_it_lies(built):
    """The raw tables are external tables over the lake's folders, not copies."""
    settings, _ = built
    (location,) = [
        value
        for name, value, *_ in spark_rows("describe table extended lake_unified_record.visits")
        if name == "Location"
    ]
    assert location.endswith(str(settings.lake / "raw" / "unified_record" / "visits"))
    assert spark_rows("select count(*) from marts.fct_visits")[0][0] > 1_000


def test_the_formulas_pass_their_unit_tests_on_spark(built):
    settings, _ = built
    result = run_dbt(
        ["test", "--select", "test_type:unit"],
        settings=settings,
        extra_env=spark_environment(settings),
    )
    unit_tests = yaml.safe_load(
        (settings.dbt_project / "models/marts/indicators/_indicators__unit_tests.yml").read_text()
    )["unit_tests"]
    hooks = {"success": 2}  # on-run-start registers the lake, on-run-end grants (none here)
    assert result.statuses == {"pass": len(unit_tests), **hooks}
