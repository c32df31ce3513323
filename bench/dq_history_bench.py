"""What the builds' quality sources cost as the days of daily runs add up.

    .venv/bin/python bench/dq_history_bench.py [--days 1,30,365,730]

Every daily run adds one load-audit file per load (21) and one validation-results file per
validated batch to the lake's dq zone. A whole build reads every file through the dbt sources
``lake_dq.load_audit`` and ``lake_dq.validation_results``
(dbt/models/staging/lake_dq/_lake_dq__sources.yml); a daily build reads the files written since
the previous build began (dbt/macros/dq_changes.sql, listed by
``sotelake.transform.changes.dq_changes``). This measures both reads, on the audit files of
``days`` days of loads of every registered table (written by the loads' own audit writer, a day
apart) and a results file for every third table and day. It prints a table: days, source,
build, files read, seconds, files per second.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
from sotelake.lake import zones  # noqa: E402

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


def write_days(lake: Path, days: int) -> dict[str, int]:
    """``days`` days of quality records: the load audit as the loads write it (one file per
    table of the source registry), and a results file of 10 expectations for every third."""
    from sotelake.lake.audit import LoadResult, write_audit
    from sotelake.sources.registry import all_tables, load_registry

    tables = all_tables(load_registry(ROOT / "config" / "sources.yml"))
    con = duckdb.connect()
    counts = {"load_audit": 0, "validation_results": 0}
    (lake / "dq" / "validation_results").mkdir(parents=True)
    for d in range(days):
        day = date(2025, 1, 1) + timedelta(days=d)
        written = written_on(day).timestamp()
        for n, table in enumerate(tables):
            load_id = f"{day:%Y%m%d}T000000Z_{table.source}_{table.name}"
            load = LoadResult(
                load_id, table.source, table.name, day.isoformat(), extracted=100, loaded=100
            )
            path = write_audit(load, lake)
            os.utime(path, (written, written))
            counts["load_audit"] += 1
            if n % 3:
                continue
            path = zones.dq_file(lake, "validation_results", table.source, table.name, day)
            con.execute(
                f"copy (select 'run' as run_id, '{load_id}' as load_id, '{table.source}' as "
                f"source, '{table.name}' as table_name, date '{day}' as load_date, "
                "'suite' as suite_name, 'expect_column_values_to_not_be_null' as "
                "expectation_type, 'column_' || i as column_name, '{}' as kwargs_json, "
                "'completeness' as kahn_category, 'error' as severity, true as success, "
                "100 as element_count, 0 as unexpected_count, 0.0 as unexpected_percent, "
                "null::varchar as observed_value, '{}' as unexpected_shapes_json, "
                "'[]' as examples_json, now() as validated_at from range(10) t(i)) "
                f"to '{path}' (format parquet, compression zstd)"
            )
            os.utime(path, (written, written))
            counts["validation_results"] += 1
    con.close()
    return counts


def written_on(day: date) -> datetime:
    """When the daily run of ``day`` wrote its quality files: at 03:00 the next morning."""
    return datetime(day.year, day.month, day.day, 3, tzinfo=UTC) + timedelta(days=1)


def daily_reads(lake: Path, days: int) -> dict[str, tuple[int, str]]:
    """What the day's build reads of each source, the last day's run having begun after the
    previous build: (files, the models' read) as dbt/macros/dq_changes.sql makes it."""
    from sotelake.transform.changes import dq_changes

    last = date(2025, 1, 1) + timedelta(days=days - 1)
    changed = dq_changes(lake, written_on(last) - timedelta(minutes=1))
    return {
        name: (len(files), f"read_parquet({files!r}, union_by_name = true)")
        for name, files in changed.items()
        if name in ("load_audit", "validation_results")
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", default="1,30,365,730")
    args = parser.parse_args()
    print(f"{'days':>6} {'source':<20} {'build':<6} {'files':>7} {'seconds':>8} {'files/s':>8}")
    for days in (int(d) for d in args.days.split(",")):
        lake = Path(tempfile.mkdtemp(prefix="dq-history-"))
        try:
            counts = write_days(lake, days)
            whole = {name: (counts[name], read) for name, read in source_reads(lake).items()}
            for build, reads in (("whole", whole), ("daily", None)):
                started = time.perf_counter()
                reads = reads or daily_reads(lake, days)  # the daily build lists them first
                for name, (files, read) in reads.items():
                    con = duckdb.connect()
                    con.execute(f"create table copied as select * from {read}")
                    seconds = time.perf_counter() - started
                    rate = f"{files / seconds:>8.0f}"
                    print(f"{days:>6} {name:<20} {build:<6} {files:>7} {seconds:>8.2f} {rate}")
                    con.close()
                    started = time.perf_counter()
        finally:
            shutil.rmtree(lake, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
