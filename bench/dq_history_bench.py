"""What the daily build's quality sources cost as the days of daily runs add up.

    .venv/bin/python bench/dq_history_bench.py [--days 1,30,365,730] [--loads 21]

Every daily run adds one load-audit file per load (21) and one validation-results file per
validated batch to the lake's dq zone, and the dbt sources ``lake_dq.load_audit`` and
``lake_dq.validation_results`` (dbt/models/staging/lake_dq/_lake_dq__sources.yml) read every
file on every build. This measures that read, the sources' own SQL, on synthetic audit and
result files of the pipeline's shape: ``loads`` files a day for ``days`` days (the validation
results at a third of that). It prints a table: days, files, seconds, files per second.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "dbt" / "models" / "staging" / "lake_dq" / "_lake_dq__sources.yml"
LAKE_ENV = re.compile(r"\{\{\s*env_var\('SOTELAKE_LAKE'[^}]*\}\}")


def source_reads(lake: Path) -> dict[str, str]:
    """The external locations of the lake_dq sources, for a lake at ``lake``."""
    (source,) = yaml.safe_load(SOURCES.read_text())["sources"]
    return {
        table["name"]: LAKE_ENV.sub(str(lake), table["meta"]["external_location"])
        for table in source["tables"]
        if table["name"] in ("load_audit", "validation_results")
    }


def write_days(lake: Path, days: int, loads: int) -> dict[str, int]:
    """``days`` days of audit and result files (one row each, the columns that matter)."""
    con = duckdb.connect()
    counts = {"load_audit": 0, "validation_results": 0}
    first = date(2025, 1, 1)
    for name in counts:
        (lake / "dq" / name).mkdir(parents=True, exist_ok=True)
    for d in range(days):
        day = (first + timedelta(days=d)).isoformat()
        for n in range(loads):
            for name, every in (("load_audit", 1), ("validation_results", 3)):
                if n % every:
                    continue
                path = lake / "dq" / name / f"source{n}__table{n}__{day}.parquet"
                con.execute(
                    f"copy (select 'load-{day}-{n}' as load_id, 'source{n}' as source, "
                    f"'table{n}' as table_name, date '{day}' as load_date, 100 as extracted, "
                    f"100 as loaded, 0 as quarantined, 'passed' as status, now() as recorded_at) "
                    f"to '{path}' (format parquet)"
                )
                counts[name] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", default="1,30,365,730")
    parser.add_argument("--loads", type=int, default=21)
    args = parser.parse_args()
    print(f"{'days':>6} {'source':<20} {'files':>7} {'seconds':>8} {'files/s':>8}")
    for days in (int(d) for d in args.days.split(",")):
        lake = Path(tempfile.mkdtemp(prefix="dq-history-"))
        try:
            counts = write_days(lake, days, args.loads)
            for name, read in source_reads(lake).items():
                con = duckdb.connect()
                started = time.perf_counter()
                con.execute(f"create table copied as select * from {read}")
                seconds = time.perf_counter() - started
                files = counts[name]
                print(f"{days:>6} {name:<20} {files:>7} {seconds:>8.2f} {files / seconds:>8.0f}")
                con.close()
        finally:
            shutil.rmtree(lake, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
