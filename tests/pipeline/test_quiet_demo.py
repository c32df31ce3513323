"""`make demo` prints the project's own progress and little else: the generation's bar, one
line per task as it ends, the outputs; the other programs' output goes to a log it names."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SOTELAKE = str(Path(sys.executable).with_name("sotelake"))

# a minute (a whole small demo, as `make demo` runs it): `make test-slow` and CI run it
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("quiet-demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SOTELAKE_"))}
    env["SOTELAKE_DATA_DIR"] = str(data)
    done = subprocess.run(
        [SOTELAKE, "demo", "--residents", "300"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return data, done


def test_a_small_demo_prints_its_own_progress_in_at_most_60_lines(small_demo):
    data, done = small_demo
    printed = done.stdout + done.stderr
    assert done.returncode == 0, printed[-3000:]
    lines = printed.splitlines()
    assert len(lines) <= 60, printed
    assert sum("generated the demo county: 300 residents" in line for line in lines) == 1
    task_lines = [line for line in lines if line.startswith("  ") and " ok " in line]
    tasks = {line.split()[0] for line in task_lines}
    assert tasks == {"plan", "extract", "validate", "transform", "publish", "conclude"}, lines
    assert any(line.split()[:2] == ["extract", "unified_record.visits"] for line in task_lines)
    # what the other programs say is not on the terminal
    for noise in ("Skipping registering function", "[DAG TEST]", "\x1b[", "Traceback", "INFO"):
        assert noise not in printed, noise
    for output in ("reports/indicators/index.html", "reports/quality/index.html"):
        assert output in printed


def test_the_other_programs_output_is_in_the_log_the_demo_names(small_demo):
    data, done = small_demo
    (log,) = (data / "logs").glob("run-*.log")
    assert str(log) in done.stdout
    text = log.read_text()
    assert "[DAG TEST]" in text and "dbt" in text.lower()
    assert len(text.splitlines()) > 10 * len(done.stdout.splitlines())
