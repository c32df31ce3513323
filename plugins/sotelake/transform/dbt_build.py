"""Run dbt in-process (dbtRunner): one ``dbt build`` per pipeline run.

DuckDB allows one writing process, so the embedded warehouse is built by a single invocation
that uses DuckDB's threads inside it (DESIGN.md). In-process invocation saves the start of a
``dbt`` subprocess.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sotelake.errors import PermanentError
from sotelake.settings import ConfigurationError, Settings, get_settings

log = logging.getLogger(__name__)


class DbtBuildError(RuntimeError):
    """dbt build failed; the message lists the failing nodes and their messages. This class
    itself is an error that may heal (a lock, a refused connection): a retry may pass."""


class DbtBuildFailed(DbtBuildError, PermanentError):
    """dbt failed for a reason no retry fixes: the project does not compile, a test fails, a
    model's SQL is wrong for the data. Fix the project or the data, then run again."""


# What dbt reports when the warehouse was busy or out of reach: the failures a retry may heal.
MAY_HEAL = re.compile(
    r"could not set lock|conflicting lock|database is locked|connection refused|"
    r"could not connect|connection to server .* failed|server closed the connection|"
    r"too many (clients|connections)|timeout expired|timed out|temporarily unavailable",
    re.IGNORECASE,
)


@dataclass
class DbtResult:
    command: list[str]
    seconds: float
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    built: list[str] = field(default_factory=list)  # schema.model of the models it (re)built
    # those of them it built incrementally, and the column of the day they are rebuilt by
    # (meta day_column: dbt/macros/history.sql), if they have one
    by_day: dict[str, str | None] = field(default_factory=dict)


DQ_CHANGES_ENV = "SOTELAKE_DQ_CHANGES"  # the quality files a daily build reads (changes.dq_changes)
LOAD_DATE_ENV = "SOTELAKE_LOAD_DATE"  # the day the published periods' status is as of
HELD_BACK_ENV = "SOTELAKE_HELD_BACK"  # the sources a build left out (indicator_values names them)


def dq_environment(settings: Settings, since: datetime | None) -> dict[str, str]:
    """The environment of a dbt invocation that reads only the quality records written since
    ``since`` (the previous build's start: dbt/macros/dq_changes.sql), listed as it starts;
    none without ``since`` (every record is read)."""
    if since is None:
        return {}
    from sotelake.transform.changes import dq_changes

    return {DQ_CHANGES_ENV: json.dumps(dq_changes(settings.lake, since))}


def dbt_environment(settings: Settings) -> dict[str, str]:
    """Environment variables the dbt project reads (profiles.yml, sources)."""
    return {
        "SOTELAKE_LAKE": str(settings.lake),
        "SOTELAKE_WAREHOUSE": str(settings.warehouse),
        "DBT_TARGET_PATH": str(settings.data_dir / "dbt" / "target"),
        "DBT_LOG_PATH": str(settings.logs / "dbt"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "SOTELAKE_MIN_CELL_SIZE": str(settings.min_cell_size),
        "SOTELAKE_PERIOD_CLOSE_DAYS": str(settings.period_close_days),
        DQ_CHANGES_ENV: "",  # a daily build lists the quality files to read (none: all)
        HELD_BACK_ENV: "",  # and a build the sources it leaves out
    }


@contextmanager
def _environment(values: dict[str, str]):
    """Set environment variables for the duration of a dbt invocation, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_dbt(
    args: list[str],
    settings: Settings | None = None,
    target: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> DbtResult:
    """Invoke ``dbt <args>`` on the project with the pipeline's settings; raise on failure."""
    from dbt.cli.main import dbtRunner  # heavy import: only when dbt runs

    settings = settings or get_settings()
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    command = [
        *args,
        "--project-dir",
        str(settings.dbt_project),
        "--profiles-dir",
        str(settings.dbt_project),
    ]
    if target:
        command += ["--target", target]
    started = time.perf_counter()
    log.info("dbt %s", " ".join(command))
    env = {**dbt_environment(settings), **(extra_env or {})}
    with _environment(env):
        try:
            outcome = dbtRunner().invoke(command)
        finally:
            _release_duckdb()
    result = DbtResult(command, round(time.perf_counter() - started, 2))
    refreshed = "--full-refresh" in args
    for node_result in getattr(outcome.result, "results", None) or []:
        status = str(node_result.status)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        # a run-operation's results name no node
        node = getattr(node_result, "node", None)
        if status in ("error", "fail"):
            where = node.unique_id if node else args[0]
            result.failures.append(f"{where}: {status}: {node_result.message}")
        elif status == "success" and node is not None and node.resource_type == "model":
            result.built.append(f"{node.schema}.{node.alias}")
            if node.config.materialized == "incremental" and not refreshed:
                day = (node.config.meta or {}).get("day_column")
                result.by_day[result.built[-1]] = day
    log.info("dbt finished in %.1f s: %s", result.seconds, result.statuses)
    if not outcome.success:
        detail = "\n".join(result.failures) or str(outcome.exception)
        error = DbtBuildError if MAY_HEAL.search(detail) else DbtBuildFailed
        raise error(f"dbt {args[0]} failed:\n{detail}")
    return result


def _release_duckdb() -> None:
    """Close dbt-duckdb's process-wide database handle.

    dbt-duckdb keeps the warehouse file open after ``invoke`` returns (a class-level
    environment), which would lock out the report tasks when Airflow runs them in this same
    process (``dag.test()``).
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter
        return
    if DuckDBConnectionManager._ENV is not None:
        DuckDBConnectionManager._ENV.close()
    DuckDBConnectionManager.close_all_connections()


# the whole project with its tests; unit tests check the formulas' logic on fixed inputs: `make
# test` runs them, the daily build does not (dbt's advice for production)
WHOLE_BUILD = ["build", "--exclude-resource-type", "unit_test"]


def build(
    run_id: str,
    settings: Settings | None = None,
    select: str | None = None,
    exclude_sources: list[str] | None = None,
    target_env: dict[str, str] | None = None,
    dq_since: datetime | None = None,
    load_date: date | None = None,
    exclude: list[str] | None = None,
    keep_views: bool = False,
) -> DbtResult:
    """``dbt build``: seeds, staging, intermediate and marts, with their tests.

    Without ``select``, a whole build: every model refreshed (``--full-refresh``), but the
    history of published values, which is never rebuilt. With ``select`` (the daily build of
    what the day's changes feed: transform.changes), the incremental models take the changes:
    the facts and indicators rebuild the days and years the changes touch
    (dbt/macros/history.sql) and the quality records read the files written since
    ``dq_since``. ``exclude_sources`` leaves out everything downstream of those sources (their
    last good state stays in the warehouse): used when a source's batch was rejected or its
    load failed. ``target_env`` selects another target than DuckDB (``postgres_environment``,
    ``spark_environment``). ``load_date``: the day the published periods' status is as of.
    ``exclude``: what to leave out instead of everything downstream of ``exclude_sources``
    (transform.changes.held_back_exclusion keeps the indicators that do not read them).
    ``keep_views``: a daily build leaves the views as they are (DuckDB binds a view's query
    when it is read, and a daily build runs the project the views were made with:
    transform.changes); PostgreSQL's dbt drops a rebuilt table's views with it.
    """
    args = list(WHOLE_BUILD)
    args += ["--select", select] if select else ["--full-refresh"]
    held_back = sorted(exclude_sources or [])
    excluded = exclude if exclude is not None else [f"source:{name}+" for name in held_back]
    if select and keep_views:
        excluded = [*excluded, "config.materialized:view"]
    if excluded:
        args += ["--exclude", *excluded]
    env = {**(target_env or {}), "SOTELAKE_RUN_ID": run_id, HELD_BACK_ENV: ",".join(held_back)}
    if select:
        env.update(dq_environment(settings or get_settings(), dq_since))
    if load_date:
        env[LOAD_DATE_ENV] = load_date.isoformat()
    try:
        return run_dbt(args, settings=settings, extra_env=env)
    finally:  # a failed build's tests are what the stewards most need to see
        settings = settings or get_settings()
        target = Path({**dbt_environment(settings), **env}["DBT_TARGET_PATH"])
        record_test_results(target, settings, run_id)


TEST_RESULTS = "test_results.json"  # in <data>/dbt: the dbt tests' latest results (steward report)


def test_results_file(settings: Settings) -> Path:
    return settings.data_dir / "dbt" / TEST_RESULTS


def record_test_results(target: Path, settings: Settings, run_id: str) -> Path | None:
    """Keep the results of the tests a build ran, from its ``run_results.json`` (and what each
    test is, from its ``manifest.json``), for the steward report: the latest result of every
    test (a daily build runs the tests of what it rebuilt, so a test it did not run keeps its
    earlier result) and, under ``before``, each test's status before this build (so the report
    can tell new failures from persisting and resolved ones). Later dbt commands overwrite
    ``run_results.json``; this file is only written by builds."""
    try:
        results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
        nodes = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    except (OSError, ValueError, KeyError) as error:
        log.warning("dbt test results not recorded (%s): %s", target, error)
        return None
    path = test_results_file(settings)
    kept = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    tests = dict(kept.get("tests", {}))
    before = {uid: test["status"] for uid, test in tests.items()}
    at = results.get("metadata", {}).get("generated_at")
    for result in results.get("results", []):
        uid = result.get("unique_id", "")
        node = nodes.get(uid)
        if not uid.startswith("test.") or node is None:
            continue
        attached = node.get("attached_node") or next(
            iter(node.get("depends_on", {}).get("nodes", [])), ""
        )
        tests[uid] = {
            "test": (node.get("test_metadata") or {}).get("name") or node["name"],
            "name": node["name"],
            "model": attached.split(".")[-1],
            "column": node.get("column_name"),
            "severity": (node.get("config") or {}).get("severity", "error").lower(),
            "status": result["status"],
            "failures": result.get("failures"),
            "message": result.get("message"),
            "run_id": run_id,
            "at": at,
        }
    written = {"run_id": run_id, "at": at, "tests": tests, "before": before}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(written, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return path


def publish_docs(
    settings: Settings | None = None, target_env: dict[str, str] | None = None
) -> Path:
    """``dbt docs generate --static`` into ``<reports>/dbt-docs/index.html``: one file with the
    models, their columns, contracts and tests, and the lineage graph, readable without a
    server. Runs after the build on the same target, whose compiled manifest it reuses
    (``--no-compile``).

    The documentation describes the project, not the data: when no file of the dbt project has
    changed since the docs were written (``changes.project_digest``) from the same dbt output
    (the catalog's column types are the engine's), they are kept as they are, which saves a dbt
    invocation on every daily run."""
    from sotelake.transform.changes import project_digest

    settings = settings or get_settings()
    env = {**dbt_environment(settings), **(target_env or {})}
    chosen = {**os.environ, **env}
    output = chosen.get("SOTELAKE_DBT_OUTPUT") or chosen.get("SOTELAKE_DBT_TARGET", "duckdb")
    path = settings.reports / "dbt-docs" / "index.html"
    stamp = path.with_name(".project-digest")
    digest = f"{project_digest(settings.dbt_project)} {output} {OFFLINE_DOCS}"
    if path.exists() and stamp.exists() and stamp.read_text() == digest:
        log.info("dbt docs: %s (the dbt project has not changed)", path)
        return path
    run_dbt(["docs", "generate", "--static", "--no-compile"], settings=settings, extra_env=env)
    target = Path(env["DBT_TARGET_PATH"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    page = (target / "static_index.html").read_text(encoding="utf-8")
    tmp.write_text(offline_docs(page), encoding="utf-8")
    tmp.replace(path)
    stamp.write_text(digest)
    log.info("dbt docs: %s", path)
    return path


# dbt's page binds two addresses as plain attributes, which the browser fetches before AngularJS
# fills them in: from file:// a refused request for ``{{ getIcon(...) }}`` and ``{{ logo }}``
# (a console error each, on a network or not). AngularJS's own attributes set them when known.
# Its favicon is a build placeholder that was never filled in (``${require(...)}``): none.
_UNBOUND = {
    'xlink:href="{{ getIcon(': 'ng-attr-xlink:href="{{ getIcon(',
    'src="{{ logo }}"': 'ng-src="{{ logo }}"',
    "href=\"${require('./assets/favicons/favicon.ico')}\"": 'href="data:,"',
}
OFFLINE_DOCS = "offline-1"  # in the digest: docs written before this rewrite are written again


def offline_docs(page: str) -> str:
    """dbt's static documentation page with its unbound addresses bound (``_UNBOUND``); the
    page loads nothing else (its data are inside, anonymous usage statistics are off)."""
    for plain, bound in _UNBOUND.items():
        page = page.replace(plain, bound)
    return page


def postgres_environment(url: str, settings: Settings) -> dict[str, str]:
    """The environment of the dbt ``postgres`` target (profiles.yml) for a warehouse URL."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        raise ValueError(f"not a PostgreSQL URL (postgresql://user:pw@host:port/db): {url!r}")
    return {
        "SOTELAKE_DBT_TARGET": "postgres",
        "SOTELAKE_PG_HOST": parts.hostname,
        "SOTELAKE_PG_PORT": str(parts.port or 5432),
        "SOTELAKE_PG_USER": unquote(parts.username or ""),
        "SOTELAKE_PG_PASSWORD": unquote(parts.password or ""),
        "SOTELAKE_PG_DBNAME": parts.path.lstrip("/") or "postgres",
        # its own manifest: the DuckDB build's stays what the docs and the tests read
        "DBT_TARGET_PATH": str(settings.data_dir / "dbt" / "target-postgres"),
    }


def build_on_postgres(
    url: str,
    run_id: str,
    settings: Settings | None = None,
    select: str | None = None,
    exclude_sources: list[str] | None = None,
    load_date: date | None = None,
) -> DbtResult:
    """The dbt build on a PostgreSQL warehouse: copy the lake in, then ``dbt build`` with the
    ``postgres`` target (the same models; grants give bi_reader the public marts)."""
    from sotelake.transform.bi_warehouse import ensure_roles
    from sotelake.transform.lake_copy import copy_lake_to_postgres

    settings = settings or get_settings()
    ensure_roles(url)
    copy_lake_to_postgres(url, settings)
    environment = postgres_environment(url, settings)
    return build(run_id, settings, select, exclude_sources, environment, load_date=load_date)


# Spark through a Spark Thrift Server (a cluster) instead of a session in this process
SPARK_THRIFT_HOST_ENV = "SOTELAKE_SPARK_THRIFT_HOST"


def spark_environment(settings: Settings) -> dict[str, str]:
    """The environment of the dbt ``spark`` target (profiles.yml): Spark in this process, its
    tables and metastore under ``<data>/spark-warehouse``; or, when ``SOTELAKE_SPARK_THRIFT_HOST``
    names a Spark Thrift Server, the ``spark_thrift`` output (the server's own warehouse and
    metastore)."""
    env = {
        "SOTELAKE_DBT_TARGET": "spark",
        "SOTELAKE_SPARK_WAREHOUSE": str(spark_warehouse(settings)),
        "DBT_TARGET_PATH": str(settings.data_dir / "dbt" / "target-spark"),
    }
    if os.environ.get(SPARK_THRIFT_HOST_ENV):
        env["SOTELAKE_DBT_OUTPUT"] = "spark_thrift"
    return env


def spark_warehouse(settings: Settings) -> Path:
    return settings.data_dir / "spark-warehouse"


def build_on_spark(
    run_id: str,
    settings: Settings | None = None,
    select: str | None = None,
    exclude_sources: list[str] | None = None,
    load_date: date | None = None,
) -> DbtResult:
    """The dbt build on Spark (local mode in this process, or a Thrift Server): the lake's
    Parquet files become external tables (the project's on-run-start hook), then the same
    models and tests.

    A local Spark session stays up afterwards (pyspark's ``SparkSession.builder.getOrCreate()``
    returns it), so the caller can read the tables; it ends with the process."""
    from sotelake.lake.storage import on_object_store

    settings = settings or get_settings()
    if on_object_store(settings.lake):
        raise ConfigurationError(
            f"SOTELAKE_LAKE={settings.lake}: the spark target reads the lake through Hadoop's "
            "file systems, and s3a:// needs the hadoop-aws jars (from Maven), which are not "
            "installed here; build on Spark from a local lake, or on a cluster that has them"
        )
    spark_warehouse(settings).mkdir(parents=True, exist_ok=True)
    return build(
        run_id, settings, select, exclude_sources, spark_environment(settings), load_date=load_date
    )
