"""The real scheduler runs the DAG on its own: `airflow standalone`, a daily run and a backfill.

Slow (a few minutes): Airflow's scheduler, DAG processor, API server and triggerer start as
separate processes, tasks run in LocalExecutor workers, and the DuckDB pool serialises the
warehouse tasks of runs that overlap. Runs in CI (`make test-slow`), not in `make test`.

Airflow's metadata lives in a throwaway PostgreSQL server, as in server mode: with SQLite, a
CLI command that writes while the scheduler writes (``backfill create`` here) can fail at once
with "database is locked" (a WAL reader that turns writer after another commit cannot wait),
which made this test flaky.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from datetime import date
from pathlib import Path

import duckdb
import httpx
import pytest
from support.postgres import ThrowawayPostgres, free_port

from sotelake import airflow_env
from sotelake.demo.changes import advance
from sotelake.demo.generate import DemoSpec, generate
from sotelake.settings import REPO_ROOT

pytestmark = pytest.mark.slow
DAG = "sotelake_pipeline"
TIMEOUT = 900


def _wait(condition, timeout: float, what: str, process: subprocess.Popen, log: Path):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            pytest.fail(
                f"airflow standalone exited while waiting for {what}:\n" + log.read_text()[-3000:]
            )
        try:
            value = condition()
            if value:
                return value
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        time.sleep(2)
    pytest.fail(f"timed out waiting for {what}:\n" + log.read_text()[-3000:])


@pytest.fixture(scope="module")
def metadata_db():
    """Airflow's metadata database: a private PostgreSQL server for the module."""
    with ThrowawayPostgres(
        user="airflow", dbname="airflow", settings={"max_connections": "200"}
    ) as pg:
        yield pg.url.replace("postgresql://", "postgresql+psycopg2://", 1)


@pytest.fixture(scope="module")
def standalone(tmp_path_factory, metadata_db):
    data = tmp_path_factory.mktemp("scheduled")
    generate(DemoSpec(residents=1_000, seed=3), data)
    advance(data, date(2026, 1, 2))
    # The scheduled run loads today, long after the demo county's last day: every declared
    # delivery would be late (an open item, and a failed run), so this run checks none.
    config = data / "config"
    shutil.copytree(REPO_ROOT / "config", config)
    registry = (config / "sources.yml").read_text(encoding="utf-8")
    (config / "sources.yml").write_text(
        "".join(line for line in registry.splitlines(True) if "    delivery:" not in line),
        encoding="utf-8",
    )
    port = free_port()
    env = {**os.environ, "SOTELAKE_DATA_DIR": str(data), "SOTELAKE_CONFIG": str(config)}
    os.environ["SOTELAKE_DATA_DIR"], saved = str(data), os.environ["SOTELAKE_DATA_DIR"]
    try:
        env.update(airflow_env.environment())
    finally:
        os.environ["SOTELAKE_DATA_DIR"] = saved
    env.update(
        {
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
        }
    )
    log = data / "standalone.log"
    sotelake = Path(sys.executable).with_name("sotelake")
    process = subprocess.Popen(
        [str(sotelake), "airflow", "standalone"],
        env=env,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        _wait(
            lambda: all(
                v["status"] == "healthy"
                for v in client.get("/api/v2/monitor/health").json().values()
            ),
            240,
            "a healthy Airflow",
            process,
            log,
        )
        passwords = data / "airflow" / "simple_auth_manager_passwords.json.generated"
        token = client.post(
            "/auth/token",
            json={"username": "admin", "password": json.loads(passwords.read_text())["admin"]},
        ).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        _wait(
            lambda: client.get(f"/api/v2/dags/{DAG}").status_code == 200,
            120,
            "the DAG to be parsed",
            process,
            log,
        )
        yield client, env, data, process, log
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """Stop airflow standalone and everything it started (its session's process group): the
    LocalExecutor's workers ignore SIGINT and would outlive it."""
    for sig, wait in ((signal.SIGINT, 60), (signal.SIGTERM, 30)):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=wait)
            break
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(process.pid, signal.SIGKILL)  # what is left of the group
    except ProcessLookupError:
        pass


def test_the_scheduler_runs_the_daily_dag_and_a_backfill_on_its_own(standalone):
    client, env, data, process, log = standalone
    sotelake = str(Path(sys.executable).with_name("sotelake"))

    def airflow(*args: str) -> None:
        done = subprocess.run([sotelake, "airflow", *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

    airflow("dags", "unpause", DAG)

    # The backfill starts while the scheduled run runs, as a steward's would: its runs do not
    # count against max_active_runs, so both runs' tasks interleave (the pools keep the
    # warehouse's writers and the lake zones' asset events one at a time)
    airflow(
        *[
            "backfill",
            "create",
            "--dag-id",
            DAG,
            "--from-date",
            "2026-01-01",
            "--to-date",
            "2026-01-02",
            "--max-active-runs",
            "1",
        ]
    )

    def finished():
        runs = client.get(f"/api/v2/dags/{DAG}/dagRuns").json()["dag_runs"]
        kinds = {r["run_type"] for r in runs}
        if {"scheduled", "backfill"} <= kinds and all(
            r["state"] in ("success", "failed") for r in runs
        ):
            return runs
        return None

    runs = _wait(finished, TIMEOUT, "the scheduled run and the backfill", process, log)
    failed = {r["dag_run_id"]: r["state"] for r in runs if r["state"] != "success"}
    assert not failed, failed
    assert sum(r["run_type"] == "backfill" for r in runs) == 2
    run_id = urllib.parse.quote(
        next(r["dag_run_id"] for r in runs if r["run_type"] == "backfill"), safe=""
    )
    tasks = client.get(f"/api/v2/dags/{DAG}/dagRuns/{run_id}/taskInstances").json()
    assert {t["state"] for t in tasks["task_instances"]} == {"success"}
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    dates = {d for (d,) in con.execute("select distinct load_date from dq.load_audit").fetchall()}
    assert {date(2026, 1, 1), date(2026, 1, 2)} <= dates
    events = client.get(
        "/api/v2/assets/events",
        params={"source_dag_id": DAG, "order_by": "-timestamp", "limit": 100},  # the latest
    ).json()["asset_events"]
    updated = {e.get("name") or e["uri"] for e in events}
    assert {
        "sotelake.lake.raw",
        "sotelake.lake.gold",
        "sotelake.warehouse.marts.indicator_values",
        "sotelake.warehouse.dq.validation_results",
    } <= updated, "runs update the assets of the zones and marts they write"
    assert (data / "lake" / "gold" / "manifest.json").exists()
    logs = list((data / "logs" / "airflow").rglob("attempt=*.log"))
    assert logs, "task logs are written where the README says"
