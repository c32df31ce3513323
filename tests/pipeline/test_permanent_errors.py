"""Errors that cannot heal stop at once, in every task and in the command line; errors that may
heal are retried, and the task says when.

Real parts: the DAG run through Airflow (``dag.test``) on a small demo county, the loads, dbt on
a copy of the project, the command line as a subprocess. Each permanent error must end the run
in seconds (a retry would wait 2 minutes).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from support.probe_dags import run_probe_dag

from sotelake.airflow_retries import RetryWhatMayHeal
from sotelake.airflow_run import run_pipeline
from sotelake.demo.generate import DemoSpec, generate
from sotelake.errors import is_permanent
from sotelake.settings import REPO_ROOT, get_settings
from sotelake.sources.registry import RegistryError, load_registry

DAY = date(2026, 1, 1)
SPEC = DemoSpec(residents=300, seed=5)
POLICY = RetryWhatMayHeal()


@pytest.fixture(scope="module")
def demo(airflow_db, tmp_path_factory):
    """A small demo county in a data folder of its own (the module's tests share it)."""
    data = tmp_path_factory.mktemp("permanent")
    saved = os.environ["SOTELAKE_DATA_DIR"]
    os.environ["SOTELAKE_DATA_DIR"] = str(data)
    try:
        generate(SPEC, data)
        yield data
    finally:
        os.environ["SOTELAKE_DATA_DIR"] = saved


def files_in(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def registry_with(tmp_path: Path, old: str, new: str) -> Path:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    text = (REPO_ROOT / "config" / "sources.yml").read_text(encoding="utf-8")
    assert old in text
    (config / "sources.yml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return config


FINANCE_DIALECT = (
    'dialect: {delimiter: ";", decimal: ",", date_format: "%d.%m.%Y", encoding: utf-8}'
)
REGISTRY_FAULTS = {
    "a YAML error": ("sources:\n", "sources:\n  broken: [unclosed\n", "Cannot read"),
    "an unknown column type": (
        "sick_leave_days: {type: integer",
        "sick_leave_days: {type: integr",
        "sources.hr.tables.staff_months.columns.sick_leave_days.type: unknown type 'integr'",
    ),
    "a missing primary key": (
        "        primary_key: [cost_centre, period]\n",
        "",
        "sources.hr.tables.staff_months: missing key 'primary_key'",
    ),
    "a missing glob": (
        '        files: "hr_*.csv"\n',
        "",
        "sources.hr.tables.staff_months: missing key 'files'",
    ),
    "source: for sources:": (
        "\nsources:\n",
        "\nsource:\n",
        "(top level): unknown key 'source' (did you mean 'sources'? allowed: sources)",
    ),
    "a misspelt delimiter": (
        FINANCE_DIALECT,
        FINANCE_DIALECT.replace("delimiter", "delimeter"),
        "sources.finance.dialect: unknown key 'delimeter' (did you mean 'delimiter'? "
        "allowed: date_format, decimal, delimiter, encoding, timestamp_format)",
    ),
}


@pytest.mark.parametrize("fault", REGISTRY_FAULTS)
def test_a_wrong_registry_stops_the_run_at_the_plan_and_moves_nothing(
    demo, tmp_path, monkeypatch, fault
):
    old, new, message = REGISTRY_FAULTS[fault]
    config = registry_with(tmp_path, old, new)
    with pytest.raises(RegistryError if "Cannot" not in message else Exception) as raised:
        load_registry(config / "sources.yml")
    assert message in str(raised.value) and str(config / "sources.yml") in str(raised.value)
    monkeypatch.setenv("SOTELAKE_CONFIG", str(config))
    landing = files_in(demo / "landing")
    started = time.perf_counter()
    summary = run_pipeline(DAY)
    assert not summary.succeeded
    assert summary.task_states["plan"] == "failed" and summary.task_tries["plan"] == 1
    assert summary.task_states["extract"] == "upstream_failed"
    assert time.perf_counter() - started < 30, "failed at once, not after retries"
    assert files_in(demo / "landing") == landing, "nothing moved out of landing"


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("SOTELAKE_PSEUDONYM_KEY", "short-key", "at least 32 characters"),
        ("SOTELAKE_PSEUDONYM_KEY_FILE", "/nonexistent/pseudonym.key", "which is not a file"),
    ],
)
def test_a_missing_or_short_key_stops_the_run_at_once(demo, monkeypatch, variable, value, message):
    from sotelake import settings

    monkeypatch.delenv("SOTELAKE_PSEUDONYM_KEY")
    monkeypatch.setenv(variable, value)
    with pytest.raises(settings.ConfigurationError, match=message) as raised:
        settings.pseudonym_key()
    assert POLICY.evaluate(raised.value, 1, 3).action.value == "fail"
    started = time.perf_counter()
    summary = run_pipeline(DAY)
    assert summary.task_states["plan"] == "failed" and summary.task_tries["plan"] == 1
    assert time.perf_counter() - started < 30
    assert not (demo / "lake" / "raw").exists(), "no load started"


def test_a_missing_source_database_fails_its_loads_at_once(demo, tmp_path, monkeypatch):
    from sotelake.pipeline import extract
    from sotelake.settings import pseudonym_key

    monkeypatch.setenv("SOTELAKE_SOURCE_UNIFIED_RECORD_URL", f"sqlite:///{tmp_path}/gone.sqlite")
    load = {"source": "unified_record", "table": "units", "load_date": DAY.isoformat()}
    with pytest.raises(FileNotFoundError, match="gone.sqlite does not exist") as raised:
        # the lake's own key: a load checks it first (lake.pseudonym_key)
        extract({**load, "name": "unified_record.units"}, pseudonym_key())
    assert is_permanent(raised.value)
    assert POLICY.evaluate(raised.value, 1, 3).action.value == "fail"


@pytest.fixture
def dbt_copy(demo, tmp_path, monkeypatch):
    """A copy of the dbt project (its warehouse in this test's folder) to break."""
    project = tmp_path / "dbt"
    shutil.copytree(
        get_settings().dbt_project, project, ignore=shutil.ignore_patterns("target", "logs")
    )
    monkeypatch.setenv("SOTELAKE_DBT_PROJECT", str(project))
    monkeypatch.setenv("SOTELAKE_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    (project / "tests" / "always_fails.sql").write_text("select 1 as failing_row\n")
    return project


def test_dbt_compilation_errors_and_failing_tests_are_permanent(dbt_copy):
    from sotelake.transform.dbt_build import DbtBuildFailed, run_dbt

    started = time.perf_counter()
    with pytest.raises(DbtBuildFailed, match="fail") as failing_test:
        run_dbt(["test", "--select", "always_fails"])
    model = dbt_copy / "models" / "marts" / "core" / "dim_date.sql"
    model.write_text(model.read_text() + "\n-- {{ ref('no_such_model') }}\n")
    with pytest.raises(DbtBuildFailed, match="no_such_model") as compilation:
        run_dbt(["compile", "--select", "dim_date"])
    for error in (failing_test.value, compilation.value):
        assert POLICY.evaluate(error, 1, 3).action.value == "fail"
    assert time.perf_counter() - started < 60


def test_a_warehouse_locked_by_another_process_is_retried_and_says_when(dbt_copy, tmp_path):
    from sotelake.transform.dbt_build import DbtBuildError, DbtBuildFailed, run_dbt

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
            "print('locked', flush=True); time.sleep(60)",
            str(tmp_path / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(DbtBuildError, match="lock") as locked:
            run_dbt(["test", "--select", "always_fails"])
    finally:
        holder.kill()
        holder.wait()
    assert not isinstance(locked.value, DbtBuildFailed) and not is_permanent(locked.value)
    decision = POLICY.evaluate(locked.value, 2, 3)
    assert decision.action.value == "retry" and decision.retry_delay == timedelta(minutes=4)
    assert "try 2 of 4 failed; the next starts in 4 min, at " in decision.reason
    assert POLICY.evaluate(locked.value, 4, 3).action.value == "default"  # the last try


RETRY_DAG = """
import pendulum
from airflow.sdk import dag, task
from sotelake.airflow_retries import RetryWhatMayHeal
from sotelake.settings import ConfigurationError

@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1), default_args={
    "retries": 2, "retry_delay": pendulum.duration(seconds=1),
    "retry_exponential_backoff": 2.0, "retry_policy": RetryWhatMayHeal()})
def retries_probe():
    @task
    def refused(ti=None):
        if ti.try_number < 3:
            raise ConnectionRefusedError("the source database refused the connection")

    @task
    def misconfigured():
        raise ConfigurationError("SOTELAKE_X is wrong")

    refused()
    misconfigured()

retries_probe()
"""


def test_airflow_retries_what_may_heal_saying_when_and_fails_the_rest_at_once(
    airflow_db, tmp_path, caplog
):
    """The policy in a real Airflow run: a refused connection twice, then success; a
    configuration error once."""
    with caplog.at_level("WARNING"):
        run = run_probe_dag(RETRY_DAG, tmp_path, "retries_probe")
    tries = {ti.task_id: (str(ti.state), ti.try_number) for ti in run.get_task_instances()}
    assert tries == {"refused": ("success", 3), "misconfigured": ("failed", 1)}
    said = caplog.text
    assert "try 1 of 3 failed; the next starts in 1 s" in said
    assert "try 2 of 3 failed; the next starts in 2 s" in said
    assert "ConfigurationError cannot heal: failed at once, without retries" in said


def cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sotelake.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def test_the_command_line_says_already_running_and_stops_on_sigterm(demo):
    lock = demo / "runs" / f"{DAY}.lock"
    first = cli("run", "--load-date", DAY.isoformat())
    try:
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().startswith("pid ")):
            assert time.monotonic() < deadline and first.poll() is None, first.stdout.read()
            time.sleep(0.2)
        running = int(lock.read_text().split()[1])
        started = time.perf_counter()
        second = cli("run", "--load-date", DAY.isoformat())
        output, _ = second.communicate(timeout=60)
        assert second.returncode == 2, output
        assert f"the load date {DAY} is already running (pid {running}" in output
        assert time.perf_counter() - started < 15
        started = time.perf_counter()
        first.send_signal(signal.SIGTERM)
        output, _ = first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 128 + signal.SIGTERM, output[-2000:]
    assert "stopped by SIGTERM" in output and time.perf_counter() - started < 10
    with pytest.raises(ProcessLookupError):
        os.kill(running, 0)  # the run's own process is gone too


def test_reading_a_warehouse_no_build_has_written_fails_at_once(tmp_path):
    """After a first build that failed (a dbt project that does not compile), publish finds no
    warehouse: that is the build's error, not one a retry heals."""
    from sotelake.engine import connect_warehouse

    with pytest.raises(Exception, match="does not exist: no build has written it yet") as missing:
        connect_warehouse(tmp_path / "warehouse.duckdb")
    assert POLICY.evaluate(missing.value, 1, 3).action.value == "fail"
