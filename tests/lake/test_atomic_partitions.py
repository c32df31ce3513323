"""A partition becomes visible in one step, and a killed run's scratch goes with its next run.

A writer process swaps a partition again and again (``storage.replace_dir``, as every load
does) while this process reads it, and is killed with SIGKILL at random moments: the partition
is always there, whole, with exactly one load's file. A real load killed mid-way leaves its
scratch, which the next run of the load removes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sotelake.lake import storage, zones

OWNER = "src__table__2026-01-01"
# Writes load after load into one partition, as fast as it can; prints each swap's number.
WRITER = """
import sys
from pathlib import Path
import pyarrow as pa, pyarrow.parquet as pq
from sotelake.lake import storage

lake = Path(sys.argv[1])
target = lake / "raw" / "src" / "table" / "load_date=2026-01-01"
for n in range(int(sys.argv[2])):
    new = storage.scratch_dir(lake, "src__table__2026-01-01")
    (new / "raw").mkdir()
    rows = pa.table({"load": [n] * 2000, "value": list(range(2000))})
    pq.write_table(rows, new / "raw" / f"load_{n:06d}.parquet")
    storage.replace_dir(target, new / "raw")
    storage.release_scratch(new)
    print(n, flush=True)
"""


def writer(lake: Path, swaps: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(lake), str(swaps)],
        stdout=subprocess.PIPE,
        text=True,
    )


def partition(lake: Path) -> Path:
    return zones.partition(lake, zones.RAW, "src", "table", date(2026, 1, 1))


def whole(folder: Path) -> bool:
    """The partition holds exactly one load's file, and the file is complete."""
    try:
        files = os.listdir(folder)
    except FileNotFoundError:
        return False
    if len(files) != 1:
        return False
    try:
        return pq.read_metadata(folder / files[0]).num_rows == 2000
    except FileNotFoundError:  # swapped out between the listing and the read: the next one is
        return whole(folder)


def test_a_reader_never_finds_the_partition_missing_while_it_is_replaced(tmp_path):
    process = writer(tmp_path, 400)
    assert process.stdout.readline().strip() == "0"  # the first load is in place
    target, looks, missing = partition(tmp_path), 0, 0
    while process.poll() is None:
        looks += 1
        try:
            os.stat(target)  # the path leads to a partition (the old one or the new one)
        except FileNotFoundError:
            missing += 1
    process.wait()
    assert process.returncode == 0
    assert looks > 1000 and missing == 0
    assert whole(target) and os.listdir(target) == ["load_000399.parquet"]


def test_a_writer_killed_at_any_moment_leaves_one_whole_partition_and_its_scratch_is_cleared(
    tmp_path,
):
    rng = random.Random(20)
    for _ in range(12):
        process = writer(tmp_path, 10_000)
        assert process.stdout.readline()  # at least one swap done
        time.sleep(rng.uniform(0.0, 0.3))
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert whole(partition(tmp_path)), os.listdir(partition(tmp_path))
    left = storage.scratch_root(tmp_path) / OWNER
    assert any(left.iterdir()), "a killed writer leaves its scratch"
    # a scratch folder in use by a live process is left alone
    live = writer(tmp_path, 10_000)
    try:
        assert live.stdout.readline()
        cleared = storage.clear_scratch(tmp_path, OWNER)
        assert cleared
        live.send_signal(signal.SIGSTOP)  # hold it while its folder is looked at
        held = [p for p in left.glob("*.lock")]
        assert len(held) <= 1, "only the live writer's folder is left"
    finally:
        live.kill()
        live.wait()
    storage.clear_scratch(tmp_path, OWNER)
    # nothing of the owner is left: its folder is empty, or gone with its last scratch
    assert not (left.exists() and list(left.iterdir())) and whole(partition(tmp_path))


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    from sotelake.demo.generate import DemoSpec, generate

    data = tmp_path_factory.mktemp("atomic")
    generate(DemoSpec(residents=1_500, seed=5), data)
    return data


LOAD = """
import sys
from datetime import date
from sotelake.lake.load import load_table
from sotelake.sources.registry import load_registry

registry = load_registry()
source = registry["unified_record"]
load_table(source, source.tables["visits"], date(2026, 1, 1), b"k" * 32)
"""


def test_a_load_killed_mid_way_leaves_scratch_that_its_next_run_removes(small_demo, monkeypatch):
    from sotelake.lake.audit import read_audit
    from sotelake.lake.load import load_table
    from sotelake.sources.registry import load_registry

    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(small_demo))
    lake = small_demo / "lake"
    owner = zones.load_name("unified_record", "visits", date(2026, 1, 1))
    scratch = storage.scratch_root(lake) / owner
    process = subprocess.Popen([sys.executable, "-c", LOAD], env=dict(os.environ))
    deadline = time.monotonic() + 60
    while not list(scratch.glob("*/raw")):  # the load is writing its partition
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list(scratch.glob("*")), "the killed load left its scratch"
    registry = load_registry()
    source = registry["unified_record"]
    result = load_table(source, source.tables["visits"], date(2026, 1, 1), b"k" * 32)
    assert not scratch.exists() or not list(scratch.iterdir()), "the next run removed it"
    raw = zones.partition(lake, zones.RAW, "unified_record", "visits", date(2026, 1, 1))
    assert storage.parquet_rows(storage.files(raw)) == result.loaded > 0
    assert read_audit(lake, "unified_record", "visits", date(2026, 1, 1)).loaded == result.loaded
