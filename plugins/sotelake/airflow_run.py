"""Run the pipeline DAG once through Airflow, in this process (``dag.test()``).

This is how ``make demo`` and the end-to-end tests run the real DAG without a scheduler: every
task runs with Airflow's task runner, XComs and metadata database (SQLite), one after another.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sotelake import airflow_env
from sotelake.errors import PermanentError
from sotelake.settings import REPO_ROOT, Settings, get_settings

log = logging.getLogger(__name__)
DAG_ID = "sotelake_pipeline"


@dataclass
class DagRunSummary:
    run_id: str
    state: str
    seconds: float
    task_states: dict[str, str] = field(default_factory=dict)  # task id (map index) -> state
    task_tries: dict[str, int] = field(default_factory=dict)  # task id (map index) -> tries
    stage_seconds: dict[str, float] = field(default_factory=dict)  # task id -> summed run time

    @property
    def succeeded(self) -> bool:
        return self.state == "success"


class AlreadyRunning(PermanentError):
    """Another process is running the DAG for the same load date."""


@contextmanager
def date_lock(load_date: date, settings: Settings | None = None) -> Iterator[None]:
    """Hold ``<data>/runs/<load date>.lock`` while the date runs; another holder: AlreadyRunning.

    A run of a date replaces the date's Airflow run, so two at once would pull each other's
    task instances away. The lock is the operating system's (``flock``): it is released when
    the process ends, however it ends, so a killed run never blocks the next one. The file
    says which process holds it."""
    settings = settings or get_settings()
    path = settings.data_dir / "runs" / f"{load_date.isoformat()}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise AlreadyRunning(
                f"the load date {load_date} is already running ({holder}; lock {path})"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n")
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)


def run_pipeline(load_date: date, settings: Settings | None = None) -> DagRunSummary:
    """One run of the DAG for ``load_date``; AlreadyRunning if another process runs the date."""
    settings = settings or get_settings()
    with date_lock(load_date, settings):
        return _run_pipeline(load_date, settings)


def _run_pipeline(load_date: date, settings: Settings) -> DagRunSummary:
    airflow_env.configure(settings)
    started = time.perf_counter()
    airflow_env.migrate_database()
    start_task_api()
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    dag = bag.get_dag(DAG_ID)
    logical = datetime(load_date.year, load_date.month, load_date.day, tzinfo=UTC)
    try:
        run = dag.test(logical_date=logical, run_conf={"load_date": load_date.isoformat()})
    finally:
        _flush_dag_run_lineage()
    summary = DagRunSummary(run.run_id, str(run.state), round(time.perf_counter() - started, 1))
    instances = run.get_task_instances()
    for ti in sorted(instances, key=lambda t: (t.start_date or logical, t.task_id, t.map_index)):
        name = (
            ti.task_id
            if ti.map_index < 0
            else f"{ti.task_id}[{ti.rendered_map_index or ti.map_index}]"
        )
        summary.task_states[name] = str(ti.state)
        summary.task_tries[name] = ti.try_number
        if ti.start_date and ti.end_date:  # stages in the order they ran; mapped tasks summed
            seconds = (ti.end_date - ti.start_date).total_seconds()
            total = summary.stage_seconds.get(ti.task_id, 0) + seconds
            summary.stage_seconds[ti.task_id] = round(total, 2)
    return summary


def _flush_dag_run_lineage() -> None:
    """Send the DAG run's own OpenLineage events and stop the process pool that Airflow's
    provider sends them from (a scheduler does so when it stops): left running, the pool's
    worker outlives the run, and the process waits for it when it exits."""
    try:
        from airflow.providers.openlineage.plugins.listener import get_openlineage_listener
    except ImportError:
        return
    get_openlineage_listener().before_stopping(component=None)


def start_task_api() -> None:
    """Start the in-process task API that ``dag.test``'s tasks report to; later calls are cheap.

    Its first request builds a router for every version of the API, which a deployment's API
    server does once when it starts; a backfill in one process pays it once.
    The benchmark starts it before it times a daily run."""
    import httpx
    from airflow.sdk.execution_time.supervisor import in_process_api_server  # what dag.test uses

    httpx.Client(transport=in_process_api_server().transport, base_url="http://task-api").get(
        "/health"
    )


def run_range(first: date, last: date, settings: Settings | None = None) -> list[DagRunSummary]:
    """A backfill: one run per load date from ``first`` to ``last`` in order; stops at a failure."""
    runs = []
    day = first
    while day <= last:
        runs.append(run_pipeline(day, settings))
        log.info("backfill %s: %s", day, runs[-1].state)
        if not runs[-1].succeeded:
            break
        day += timedelta(days=1)
    return runs
