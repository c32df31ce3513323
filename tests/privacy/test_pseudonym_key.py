"""The pseudonymisation key is guarded: never made silently, recorded in the lake by its
fingerprint, checked before every load, and changed only by `sotelake rotate-key`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sotelake import cli, pipeline
from sotelake.demo.generate import DemoSpec, generate
from sotelake.lake import pseudonym_key, zones
from sotelake.settings import PSEUDONYM_KEY_ENV, PSEUDONYM_KEY_FILE_ENV, get_settings

KEY_A = b"a" * 40
KEY_B = b"b" * 40
DAY = date(2026, 1, 1)
LEGACY = {"source": "legacy_record", "table": "visits", "load_date": DAY.isoformat()}
LEGACY["name"] = "legacy_record.visits"
SOTELAKE = str(Path(sys.executable).with_name("sotelake"))


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    path = tmp_path_factory.mktemp("county")
    generate(DemoSpec(residents=1_000, seed=31), path)
    return path


@pytest.fixture
def data(county, tmp_path, monkeypatch):
    """A data folder with the county's sources and no key configured."""
    for folder in ("sources", "landing"):
        shutil.copytree(county / folder, tmp_path / folder)
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    for name in (PSEUDONYM_KEY_ENV, PSEUDONYM_KEY_FILE_ENV):  # restored after the test
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return tmp_path


def every_file(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def sotelake_run(data: Path, key: bytes | None) -> tuple[subprocess.CompletedProcess, float]:
    """`sotelake run` as an operator starts it (no Airflow set-up inherited from the tests)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SOTELAKE_PSEU"))}
    env |= {PSEUDONYM_KEY_ENV: key.decode()} if key else {}
    started = time.perf_counter()
    done = subprocess.run(
        [SOTELAKE, "run", "--load-date", DAY.isoformat()],
        env=env | {"SOTELAKE_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, time.perf_counter() - started


def test_a_missing_key_stops_the_run_at_once_and_makes_nothing(data):
    before = every_file(data)
    done, seconds = sotelake_run(data, None)
    assert done.returncode == 2 and "No pseudonymisation key" in done.stderr
    assert seconds < 15, "it stops before Airflow starts"
    assert every_file(data) == before, "no key file, no Airflow home, no lake"


def test_the_lake_records_its_key_and_another_key_stops_the_run(data):
    loaded = pipeline.extract(LEGACY, KEY_A)  # the first load records key A
    assert loaded["status"] == "loaded"
    record = pseudonym_key.recorded(get_settings().lake)
    assert record["fingerprint"] == pseudonym_key.fingerprint(KEY_A) and not record["adopted"]
    assert KEY_A.decode() not in json.dumps(record) and "a" * 32 not in json.dumps(record)
    before = every_file(data)
    done, seconds = sotelake_run(data, KEY_B)
    assert done.returncode == 2 and seconds < 15
    assert "does not match" in done.stderr
    assert pseudonym_key.fingerprint(KEY_A)[:16] in done.stderr
    assert pseudonym_key.fingerprint(KEY_B)[:16] in done.stderr
    assert every_file(data) == before
    # whoever calls a load: another key loads nothing
    with pytest.raises(pseudonym_key.KeyMismatch, match="Nothing was loaded"):
        pipeline.extract({**LEGACY, "load_date": "2026-01-02"}, KEY_B)
    later = zones.partition(data / "lake", zones.RAW, "legacy_record", "visits", date(2026, 1, 2))
    assert not later.exists()


def test_only_the_demo_makes_a_key_and_later_commands_use_it(data):
    assert not cli.use_demo_key()
    assert not cli.demo_key_path().exists()
    cli.create_demo_key()  # what `sotelake demo` does first
    made = cli.demo_key_path().read_text().strip()
    assert len(made) == 64 and oct(cli.demo_key_path().stat().st_mode)[-3:] == "600"
    os.environ.pop(PSEUDONYM_KEY_FILE_ENV)
    assert (
        cli.use_demo_key() and Path(os.environ[PSEUDONYM_KEY_FILE_ENV]).read_text().strip() == made
    )
    cli.create_demo_key()  # an existing key is never replaced
    assert cli.demo_key_path().read_text().strip() == made


def test_a_lake_without_a_record_adopts_the_first_key_with_a_warning(data, caplog):
    lake = get_settings().lake
    pipeline.extract(LEGACY, KEY_A)
    pseudonym_key.record_path(lake).unlink()  # a lake made before fingerprints were kept
    pipeline.check_key(KEY_A)
    assert pseudonym_key.recorded(lake)["adopted"] is True
    assert "has data but no record of its pseudonymisation key" in caplog.text


def test_rotating_the_key_starts_a_new_lake_and_keeps_the_old(data, capsys):
    settings = get_settings()
    first = pipeline.extract(LEGACY, KEY_A)
    raw = zones.partition(settings.lake, zones.RAW, "legacy_record", "visits", DAY)
    old = set(pq.read_table(raw, columns=["person_pseudonym"])[0].to_pylist())
    settings.warehouse.write_bytes(b"an old warehouse")
    os.environ[PSEUDONYM_KEY_ENV] = KEY_A.decode()
    assert cli.main(["rotate-key", "--yes"]) == 2  # the key configured is the lake's own
    assert "is the lake's own" in capsys.readouterr().err
    os.environ[PSEUDONYM_KEY_ENV] = KEY_B.decode()
    assert cli.main(["rotate-key"]) == 1  # without --yes it says what it would do
    assert raw.exists() and "Run again with --yes" in capsys.readouterr().out
    assert cli.main(["rotate-key", "--yes"]) == 0
    retired = next((data / "retired").iterdir())
    assert {p.name for p in retired.iterdir()} == {"lake", "warehouse.duckdb", "README.txt"}
    assert pseudonym_key.recorded(retired / "lake")["fingerprint"] == pseudonym_key.fingerprint(
        KEY_A
    )
    assert pseudonym_key.recorded(settings.lake)["fingerprint"] == pseudonym_key.fingerprint(KEY_B)
    assert not settings.warehouse.exists()
    # the new lake is extracted again, with new pseudonyms for the same people
    again = pipeline.extract(LEGACY, KEY_B)
    assert again["extracted"] == first["extracted"]
    new = set(pq.read_table(raw, columns=["person_pseudonym"])[0].to_pylist())
    assert len(new) == len(old) and not new & old
    with pytest.raises(pseudonym_key.KeyMismatch):
        pipeline.extract(LEGACY, KEY_A)
    docs = (Path(__file__).parents[2] / "docs" / "privacy.md").read_text(encoding="utf-8")
    assert "sotelake rotate-key" in docs


def test_in_airflow_the_plan_stops_a_run_with_another_key(data, airflow_db, monkeypatch):
    """A deployment's scheduler runs the DAG without the command line's check: its first task
    checks the key, and nothing else runs."""
    from sotelake.airflow_run import run_pipeline

    pipeline.check_key(KEY_A)  # the lake's key
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY_B.decode())
    summary = run_pipeline(DAY)
    states = summary.task_states
    assert summary.state == "failed" and states["plan"] == "failed"
    assert {s for t, s in states.items() if t != "plan"} == {"upstream_failed"}, states
    assert not (data / "lake" / "raw").exists() and not (data / "warehouse.duckdb").exists()
