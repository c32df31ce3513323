"""What ``sotelake run`` and ``sotelake demo`` print: the project's own progress, one line per
task as it ends (name, rows, seconds), then the outputs; everything the other programs print
(Airflow, dbt, Great Expectations) goes to a log file under ``<data>/logs/``, whose path is
printed. Warnings of the project's own code stay on the terminal.

The run happens in this process (``dag.test``), so the other programs' output is taken at the
file descriptors (1 and 2), which their loggers and subprocesses write to, and the terminal is
written through a copy of the original descriptor.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import IO

from sotelake.settings import Settings

# Tasks whose instance has ended, in Airflow's words
ENDED = {"success", "failed", "upstream_failed", "skipped", "removed"}


@contextmanager
def other_programs_to(log_file: Path) -> Iterator[IO[str]]:
    """Send what this process writes to stdout and stderr into ``log_file``; yield a stream
    to the terminal. Restores both when done, however it ends."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved[0]), "w", buffering=1, encoding="utf-8")
    own_warnings = OwnWarnings(terminal)
    sotelake_log = logging.getLogger("sotelake")
    with open(log_file, "a", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sotelake_log.addHandler(own_warnings)
        try:
            yield terminal
        finally:
            sotelake_log.removeHandler(own_warnings)
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            terminal.flush()
            terminal.close()


# Why each task failed, as its alert said (``sotelake_pipeline.<task> failed (run ...): why``):
# the task's line on the terminal ends with it, so the alert itself is not printed there
FAILURES: dict[str, str] = {}
ALERT = re.compile(r"sotelake alert: .*?\.(?P<task>[\w\[\].\-]+) failed \(run [^)]*\): (?P<why>.*)")
# Loggers whose records the terminal leaves to the log: a retry's decision (the task's line
# says it failed) and the alerts (their reason ends the task's line)
LEFT_TO_THE_LOG = {"sotelake.airflow_retries", "sotelake.alerts"}
SHOWN = 240  # characters of a warning on the terminal; the log has it whole


class OwnWarnings(logging.Handler):
    """The project's own warnings and errors, on the terminal, one line each."""

    def __init__(self, terminal: IO[str]) -> None:
        super().__init__(level=logging.WARNING)
        self.terminal = terminal

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.name == "sotelake.alerts" and (alert := ALERT.match(message)):
                FAILURES[alert["task"]] = alert["why"].splitlines()[0]
            if record.name in LEFT_TO_THE_LOG:
                return
            line = message.splitlines()[0] if message else ""
            if len(line) > SHOWN:
                line = line[: SHOWN - 3] + "..."
            print(f"  {record.levelname} {record.name}: {line}", file=self.terminal)
        except Exception:
            self.handleError(record)


def run_log_file(settings: Settings, load_date: date) -> Path:
    """``<data>/logs/run-<load date>-<when>.log``: one file per run, so none hides another."""
    return settings.logs / f"run-{load_date.isoformat()}-{datetime.now():%Y%m%dT%H%M%S}.log"


def number(n: int) -> str:
    """1 000 000: thousands apart by a space, as Finnish writes them."""
    return f"{n:,}".replace(",", " ")


def what_a_task_did(task_id: str, value) -> str:
    """A few words of what an ended task returned (its XCom): rows, batches, models."""
    if task_id == "plan" and isinstance(value, list):
        return f"{len(value)} loads"
    if not isinstance(value, dict):
        return ""
    if task_id == "extract":
        words = f"{number(value.get('extracted') or 0)} rows"
        for key in ("quarantined", "rejected"):
            if value.get(key):
                words += f", {number(value[key])} {key}"
        if value.get("error"):
            words += f": {value['error']}"
        return words
    if task_id == "validate":
        summaries = value.get("summaries") or []
        rows = sum(s.get("rows") or 0 for s in summaries)
        words = f"{number(rows)} rows in {len(summaries)} batches"
        if value.get("held_back"):
            words += f"; held back: {', '.join(value['held_back'])}"
        return words
    if task_id == "transform":
        statuses = value.get("statuses") or {}
        words = ", ".join(f"{n} {status}" for status, n in statuses.items())
        return f"dbt: {words}" if words else ""
    if task_id == "conclude":
        new, persisting = len(value.get("new") or []), len(value.get("persisting") or [])
        return f"open items: {new} new, {persisting} persisting"
    if task_id == "publish":
        return "reports, packages, gold zone"
    return ""


def task_line(name: str, state: str, seconds: float | None, did: str) -> str:
    mark = {"success": "ok", "failed": "FAILED", "upstream_failed": "not run"}.get(state, state)
    took = "" if seconds is None else f"{seconds:6.1f} s"
    return f"  {name:<50} {mark:<7} {took:>8}  {did}".rstrip()


def _shortened(text: str, most: int = 160) -> str:
    return text if len(text) <= most else text[: most - 3] + "..."


def _decoded(value):
    """An XCom as the metadata database holds it: JSON, sometimes JSON of a JSON string."""
    for _ in range(2):
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return value
    return value


class TaskWatcher:
    """Reports each task instance of the run of ``dag_id`` at ``logical_date`` as it ends, by
    reading Airflow's metadata database every ``every`` seconds in a thread of its own (the
    run goes on in the main thread); ``report`` gets the task's line."""

    def __init__(
        self, dag_id: str, logical_date: datetime, report: Callable[[str], None], every=0.5
    ) -> None:
        self.dag_id, self.logical_date, self.report, self.every = (
            dag_id,
            logical_date,
            report,
            every,
        )
        self.started = datetime.now().astimezone()
        self.seen: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="task-watcher", daemon=True)

    def __enter__(self) -> TaskWatcher:
        # Airflow's models imported and their mappers configured here, in the calling thread
        # (after airflow_env.configure): the watcher's first query would otherwise do both in
        # its thread while the run imports Airflow in this one, and the two deadlock on the
        # import locks
        import airflow.utils.session  # noqa: F401
        from airflow.models import import_all_models
        from sqlalchemy.orm import configure_mappers

        import_all_models()
        configure_mappers()

        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.poll()  # what ended after the last look

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.poll()
            except Exception:  # the database busy or not there yet: look again
                logging.getLogger(__name__).debug("task watcher", exc_info=True)

    def poll(self) -> None:
        from airflow.models.dagrun import DagRun
        from airflow.models.taskinstance import TaskInstance
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            run = session.scalars(
                select(DagRun).where(
                    DagRun.dag_id == self.dag_id, DagRun.logical_date == self.logical_date
                )
            ).first()
            if run is None:
                return
            ended = session.scalars(
                select(TaskInstance)
                .where(TaskInstance.dag_id == self.dag_id, TaskInstance.run_id == run.run_id)
                .order_by(TaskInstance.end_date)
            ).all()
            for ti in ended:
                key = (ti.task_id, ti.map_index)
                if key in self.seen or str(ti.state) not in ENDED:
                    continue
                if ti.end_date and ti.end_date < self.started:
                    continue  # an earlier run of the date, not yet cleared
                self.seen.add(key)
                value = session.scalar(
                    select(XComModel.value).where(
                        XComModel.dag_id == self.dag_id,
                        XComModel.run_id == run.run_id,
                        XComModel.task_id == ti.task_id,
                        XComModel.map_index == ti.map_index,
                        XComModel.key == "return_value",
                    )
                )
                name, key = ti.task_id, ti.task_id
                if ti.map_index >= 0:
                    name += f" {ti.rendered_map_index or ti.map_index}"
                    key += f"[{ti.rendered_map_index or ti.map_index}]"
                seconds = (
                    (ti.end_date - ti.start_date).total_seconds()
                    if ti.start_date and ti.end_date
                    else None
                )
                did = what_a_task_did(ti.task_id, _decoded(value))
                if str(ti.state) == "failed" and key in FAILURES:
                    did = _shortened(FAILURES[key])
                self.report(task_line(name, str(ti.state), seconds, did))


class Progress:
    """Generation's progress bar on the terminal (rich), one step a part of the county."""

    def __init__(self, terminal: IO[str], steps: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("  generating {task.description:<32}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=Console(file=terminal),
            transient=False,
        )
        self._task = self._bar.add_task("", total=steps)
        self._started = time.perf_counter()

    def __enter__(self) -> Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.update(self._task, description="done")
        self._bar.stop()

    def step(self, what: str) -> None:
        self._bar.update(self._task, advance=1, description=what)
