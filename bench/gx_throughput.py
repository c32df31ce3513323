"""Great Expectations throughput on a raw table of a million rows (or more).

    .venv/bin/python bench/gx_throughput.py [--rows 1000000] [--faulty 0.001]

Builds a raw ``unified_record.visits`` batch with the lake's schema (pseudonymised, typed,
lineage columns), validates it with the project's own suite through the same code the DAG uses
(``quality.gx_runner``), and prints rows, seconds, rows per second and peak memory. Each
measurement runs in a fresh process so the peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]


def make_batch(rows: int, faulty: float, path: Path) -> None:
    rng = np.random.default_rng(1)
    start = np.datetime64("2025-01-01T08:00:00") + rng.integers(0, 365 * 86400, rows).astype(
        "timedelta64[s]"
    )
    group = rng.choice(["LK", "SH"], rows)
    bad = rng.random(rows) < faulty
    group[bad] = "XX"
    table = pa.table(
        {
            "visit_id": np.arange(1, rows + 1),
            "patient_id": rng.integers(100_000, 900_000, rows),
            "unit_id": rng.integers(1, 60, rows),
            "appointment_id": rng.integers(1, rows, rows),
            "visit_start": start,
            "professional_group": group,
            "service_code": rng.choice(["T11", "ESH"], rows),
            "specialty": pa.nulls(rows, pa.string()),
            "urgency": rng.choice(["kiireellinen", "kiireeton"], rows),
            "contact_type": rng.choice(["R10", "R50", "R56"], rows),
            "is_deleted": np.zeros(rows, dtype=bool),
            "updated_at": start + np.timedelta64(3, "h"),
            "_load_id": pa.array(["bench"] * rows),
            "_source_file": pa.nulls(rows, pa.string()),
        }
    )
    pq.write_table(table, path)


def measure(path: Path) -> dict:
    sys.path.insert(0, str(ROOT / "plugins"))
    from sotelake.quality.gx_runner import GreatExpectations
    from sotelake.quality.suites import read_suite

    suite_file = ROOT / "expectations" / "raw" / "unified_record" / "visits.json"
    started = time.perf_counter()
    gx = GreatExpectations()
    imported = time.perf_counter() - started
    batch = pq.read_table(path)
    read = time.perf_counter() - started - imported
    begin = time.perf_counter()
    outcome = gx.validate(
        batch,
        read_suite(suite_file),
        suite_file,
        {
            "run_id": "bench",
            "load_id": "bench",
            "source": "unified_record",
            "table_name": "visits",
            "load_date": None,
        },
    )
    seconds = time.perf_counter() - begin
    failed = {
        r["expectation_type"]: r["unexpected_count"] for r in outcome.rows if not r["success"]
    }
    return {
        "rows": batch.num_rows,
        "expectations": len(outcome.rows),
        "seconds": round(seconds, 2),
        "rows_per_s": round(batch.num_rows / seconds),
        "import_s": round(imported, 2),
        "read_s": round(read, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "failed": failed,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--faulty", type=float, default=0.001)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    out = ROOT / "data" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"{'rows':>10} {'expectations':>12} {'seconds':>8} {'rows/s':>10} {'peak MB':>8}  failing"
    )
    for rows in args.rows:
        path = out / f"gx_visits_{rows}.parquet"
        make_batch(rows, args.faulty, path)
        done = subprocess.run(
            [sys.executable, __file__, "--measure", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{r['rows']:>10} {r['expectations']:>12} {r['seconds']:>8} {r['rows_per_s']:>10} "
            f"{r['peak_rss_mb']:>8}  {r['failed']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
