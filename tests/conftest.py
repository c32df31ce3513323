"""Test set-up: every test session works in its own data folder and Airflow home.

The environment is set here, at import, before anything imports Airflow (which reads its
configuration once, at import time).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SESSION_DATA = Path(tempfile.mkdtemp(prefix="sotelake-test-"))
os.environ["SOTELAKE_DATA_DIR"] = str(SESSION_DATA)
for name in ("SOTELAKE_LAKE", "SOTELAKE_WAREHOUSE", "SOTELAKE_REPORTS"):
    os.environ.pop(name, None)
os.environ["SOTELAKE_PSEUDONYM_KEY"] = "test-key-" + "k" * 40

from sotelake import airflow_env  # noqa: E402

os.environ.update(airflow_env.environment())

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata database (SQLite) for the session."""
    (SESSION_DATA / "airflow").mkdir(parents=True, exist_ok=True)
    airflow_env.migrate_database()
    return SESSION_DATA / "airflow"


@pytest.fixture(scope="session")
def browser():
    """A real headless Chromium, driven by Playwright, for tests that look at the HTML reports."""
    from playwright.sync_api import sync_playwright
    from support.chromium import CHROMIUM, CHROMIUM_FLAGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-packages` installs Debian's chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
        _stop_forked_listener_workers()


def _stop_forked_listener_workers() -> None:
    """Stop the worker processes Airflow's listeners forked during the session, as an Airflow
    component does when it stops. OpenLineage's listener forks a pool worker for DAG-run events
    when a run first ends; forked after the browser started, it holds Playwright's pipe to its
    driver, which then never sees the pipe close and never exits: the session hung at its end."""
    from airflow.listeners.listener import get_listener_manager

    get_listener_manager().hook.before_stopping(component=None)


def pytest_sessionfinish(session, exitstatus):
    """Remove the session's data folder; SOTELAKE_KEEP_TEST_DATA=1 keeps it for debugging."""
    if os.environ.get("SOTELAKE_KEEP_TEST_DATA"):
        print(f"\ntest data kept in {SESSION_DATA}")
        return
    import shutil

    shutil.rmtree(SESSION_DATA, ignore_errors=True)
