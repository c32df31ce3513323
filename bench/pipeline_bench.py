"""The pipeline at county scale: seconds, rows per second and peak memory per stage, and the
distance to the engine's floor.

    .venv/bin/python bench/pipeline_bench.py [--scales 20000x1,200000x1,650000x1,650000x2]
    make bench [SCALES=20000x1,200000x1]

For each scale (residents x years) it generates the demo county, then runs the real pipeline's
steps (sotelake.pipeline: the code the DAG's tasks call) one stage per fresh process, so each
stage's peak resident memory is its own: extract (with pseudonymisation, reported also on its
own), validate (Great Expectations), dbt build (with the marts' checks), reports. Then:

- the whole run through Airflow (``dag.test``: the same load date again, which replaces it);
- an incremental daily run: one day of new and changed rows (``sotelake advance``), then its run;
- floors in the same machine and data: the extract floor is DuckDB alone copying the same
  source tables and files into Parquet (no types, checks or pseudonyms); the transform floor is
  the dbt models' compiled SQL (``dbt compile --full-refresh``) run in one DuckDB connection,
  in dependency order, without dbt and without tests;
- at the scales up to ``--spark-up-to`` residents (200 000), the same dbt build on Spark (local
  mode, ``sotelake.transform.dbt_build.build_on_spark``), its JVM's memory included.

Prints one table and writes it to ``data/bench/pipeline.csv`` and ``.json``, and into the
benchmarks page (``docs/benchmarks.md``, between its two markers; ``--page ''`` leaves it).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key-" + "x" * 40  # a throwaway pseudonymisation key for generated data


# -- one stage, in this process (called as a child) --------------------------------------------


def stage(name: str, data: Path, residents: int, years: int) -> dict:
    data = data.resolve()
    os.environ["SOTELAKE_DATA_DIR"] = str(data)
    os.environ["SOTELAKE_PSEUDONYM_KEY"] = KEY
    sys.path.insert(0, str(ROOT / "plugins"))
    from sotelake import pipeline
    from sotelake.settings import get_settings

    settings = get_settings()
    manifest_file = data / "sources" / "demo_manifest.json"
    load_date = (
        date.fromisoformat(json.loads(manifest_file.read_text())["extraction_day"])
        if manifest_file.exists()
        else None
    )
    state_file = data / "bench_state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    out: dict = {}
    started = time.perf_counter()
    if name == "generate":
        from sotelake.demo.generate import DemoSpec, generate

        made = generate(DemoSpec(residents=residents, years=years, seed=1), data)
        out["rows"] = sum(
            n for tables in made["rows"].values() for name, n in tables.items() if name != "files"
        )
    elif name == "extract":
        planned = pipeline.plan_loads(load_date, settings)
        loads = [pipeline.extract(load, KEY.encode(), settings=settings) for load in planned]
        state.update(planned=planned, loads=loads)
        out["rows"] = sum(load["extracted"] for load in loads)
        out["pseudonymise_seconds"] = round(sum(ld["pseudonymise_seconds"] for ld in loads), 2)
    elif name == "validate":
        checked = pipeline.validate(state["planned"], state["loads"], "bench", settings)
        state["checked"] = checked
        out["rows"] = sum(load["loaded"] for load in state["loads"])
    elif name == "dbt build":
        checked = state["checked"]
        built = pipeline.transform(
            "bench", checked["held_back"], load_date, settings, changed=checked["changed"]
        )
        out["rows"] = sum(load["loaded"] for load in state["loads"])
        out["dbt_seconds"] = built["seconds"]
    elif name == "reports":
        import duckdb

        pipeline.publish("bench", settings)
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            out["rows"] = con.execute("select count(*) from marts.indicator_values").fetchone()[0]
    elif name in ("whole run (Airflow)", "incremental day (Airflow)"):
        from sotelake.airflow_run import run_pipeline

        day = load_date
        if name.startswith("incremental"):
            from sotelake import airflow_env
            from sotelake.airflow_run import start_task_api
            from sotelake.demo.changes import advance

            day = load_date + timedelta(days=1)
            out["changes"] = advance(data, day)
            # The day's run as a deployment runs it: Airflow's services already up (timed on
            # their own: a scheduler and an API server start once, not every day)
            started = time.perf_counter()
            airflow_env.configure(settings)
            airflow_env.migrate_database()
            start_task_api()
            out["airflow_start_seconds"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
        from sotelake.publish.lineage import lineage_file

        events = lineage_file(settings)
        before = _lines(events)
        summary = run_pipeline(day, settings)
        if not summary.succeeded:
            raise RuntimeError(f"{name}: {summary.state} {summary.task_states}")
        if name.startswith("incremental") and _built_whole(settings):
            # a model the warehouse lacks or a changed project builds everything: not a day
            raise RuntimeError(f"{name}: the day's build rebuilt everything (transform's log)")
        out["rows"] = sum(state_rows(data, day))
        out["stages"] = summary.stage_seconds
        # the run's OpenLineage events (docs/lineage.md): SOTELAKE_LINEAGE=off times it without
        out["lineage_events"] = _lines(events) - before
    elif name == "extract floor":
        out["rows"] = extract_floor(settings, data / "floor")
    elif name == "dbt build (Spark)":
        from sotelake.transform.dbt_build import build_on_spark

        built = build_on_spark("bench", settings)
        out["rows"] = sum(load["loaded"] for load in state["loads"])
        out["dbt_seconds"] = built.seconds
        out["jvm_peak_mb"] = _children_peak_mb()
    elif name == "disclosure audit":
        # The LP audit of what the last run published (sotelake audit-disclosure), then of
        # every past publication (--history); and the suppression's own model, rebuilt alone:
        # what disclosure control costs each build (a daily one included: it rebuilds it whole)
        from sotelake.publish.disclosure_audit import audit_history, audit_path
        from sotelake.transform.dbt_build import run_dbt

        result = audit_path(settings.warehouse)
        if result.failures:
            raise RuntimeError(result.summary())
        out["rows"] = result.cells
        out["withheld"] = result.withheld
        out["audit_seconds"] = round(time.perf_counter() - started, 2)
        history_started = time.perf_counter()
        past = audit_history(settings.warehouse)
        out["history_seconds"] = round(time.perf_counter() - history_started, 2)
        out["history_publications"] = len(past)
        run_dbt(
            ["run", "--select", "indicator_values_suppressed"],
            settings=settings,
            extra_env={"SOTELAKE_RUN_ID": "bench"},
        )
        target = settings.data_dir / "dbt" / "target" / "run_results.json"
        (timed,) = [
            r
            for r in json.loads(target.read_text())["results"]
            if r["unique_id"].endswith(".indicator_values_suppressed")
        ]
        out["suppression_seconds"] = round(timed["execution_time"], 2)
    elif name == "transform floor":
        out["rows"], out["floor_seconds"], out["slowest_models"] = transform_floor(
            settings, data / "floor"
        )
    else:
        raise ValueError(name)
    out["seconds"] = round(time.perf_counter() - started, 2)
    out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out["peak_mb"] += out.pop("jvm_peak_mb", 0)  # Spark's JVM is a child process
    state_file.write_text(json.dumps(state, default=str))
    return out


def _built_whole(settings) -> bool:
    """Whether the newest dbt build rebuilt its facts whole (dbt/macros/history.sql: only a
    whole build records 1900-01-01 in intermediate.rebuilds)."""
    import duckdb

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        (whole,) = con.execute(
            "select count(*) from intermediate.rebuilds where rebuilt_from = date '1900-01-01' "
            "and invocation_id = (select invocation_id from intermediate.rebuilds "
            "order by recorded_at desc limit 1)"
        ).fetchone()
    return whole > 0


def _lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as f:
        return sum(1 for _ in f)


def _children_peak_mb() -> int:
    """Peak resident memory (VmHWM) of this process's live descendants, e.g. Spark's JVM."""
    total, pending = 0, [os.getpid()]
    while pending:
        pid = pending.pop()
        for task in Path(f"/proc/{pid}/task").glob("*"):
            children = (task / "children").read_text().split()
            pending += [int(c) for c in children]
            for child in children:
                try:
                    status = Path(f"/proc/{child}/status").read_text()
                except FileNotFoundError:  # it ended meanwhile
                    continue
                if "VmHWM:" in status:  # not in a zombie's status
                    total += int(status.split("VmHWM:")[1].split()[0]) // 1024
    return total


def state_rows(data: Path, day: date) -> list[int]:
    """Rows extracted by the loads of a load date (the audit)."""
    import duckdb

    audit = data / "lake" / "dq" / "load_audit" / f"*__{day.isoformat()}.parquet"
    return [duckdb.sql(f"select coalesce(sum(extracted), 0) from '{audit}'").fetchone()[0]]


def extract_floor(settings, folder: Path) -> int:
    """DuckDB alone: every source table and delivered file straight into Parquet."""
    import shutil

    from sotelake import engine
    from sotelake.sources import fhir
    from sotelake.sources.readers import attach
    from sotelake.sources.registry import load_registry

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rows = 0
    con = engine.connect(extensions=("sqlite-scanner",))
    for source in load_registry(settings.config_dir / "sources.yml").values():
        if source.kind == "database":
            attach(con, source, settings)
        for table in source.tables.values():
            target = engine.literal(folder / f"{source.name}__{table.name}.parquet")
            if source.kind == "database":
                relation = f"src.{engine.quote(table.name)}"
            elif source.kind == "fhir_bulk":
                files = [str(p) for p in fhir.export_files(source.path(settings), table.resource)]
                relation = f"read_json_auto({files}, format = 'newline_delimited')"
            else:
                files = [str(p) for p in sorted(source.path(settings).glob(table.files))]
                delimiter = source.dialect.get("delimiter", ",")
                relation = (
                    f"read_csv({files}, delim = {engine.literal(delimiter)}, header = true, "
                    "all_varchar = true, union_by_name = true, ignore_errors = true, "
                    "encoding = 'utf-8')"
                )
            rows += con.execute(f"copy (select * from {relation}) to {target}").fetchone()[0]
        if source.kind == "database":
            con.execute("detach src")
    con.close()
    for copy in folder.glob("*.parquet"):  # raw copies, henkilötunnus included: timed, gone
        copy.unlink()
    return rows


def transform_floor(settings, folder: Path) -> tuple[int, float, dict[str, float]]:
    """The models' compiled SQL in one DuckDB connection, in dependency order (no dbt, no tests);
    returns the rows of marts.indicator_values, the seconds, and the slowest models' seconds.

    The seeds are copied from the built warehouse first (not timed: dbt loads them too)."""
    import duckdb

    from sotelake.transform.dbt_build import run_dbt

    target = folder / "dbt-target"
    run_dbt(
        ["compile", "--full-refresh", "--select", "resource_type:model"],
        settings=settings,
        extra_env={"DBT_TARGET_PATH": str(target)},
    )
    manifest = json.loads((target / "manifest.json").read_text())
    models = {k: n for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    ordered, seen = [], set()

    def visit(key: str) -> None:
        if key in seen or key not in models:
            return
        seen.add(key)
        for parent in models[key]["depends_on"]["nodes"]:
            visit(parent)
        ordered.append(models[key])

    for key in sorted(models):
        visit(key)
    database = folder / settings.warehouse.name  # the same catalog name as the warehouse
    database.unlink(missing_ok=True)
    con = duckdb.connect(str(database))
    con.execute(f"attach '{settings.warehouse}' as built (read_only)")
    con.execute("create schema reference")
    for (table,) in con.execute(
        "select table_name from duckdb_tables() where database_name = 'built' "
        "and schema_name = 'reference'"
    ).fetchall():
        con.execute(f"create table reference.{table} as select * from built.reference.{table}")
    # a model a whole build does not rebuild (full_refresh: false, the published history)
    # compiles against itself: it starts empty, as on a new warehouse
    for node in ordered:
        if node["config"].get("full_refresh") is False:
            con.execute(f"create schema if not exists {node['schema']}")
            con.execute(
                f"create table {node['schema']}.{node['alias']} as "
                f"select * from built.{node['schema']}.{node['alias']} limit 0"
            )
    # a snapshot keeps its versions across builds (the population's: the revisions read it):
    # as the build left it
    for node in manifest["nodes"].values():
        if node["resource_type"] == "snapshot" and node["config"].get("enabled", True):
            con.execute(f"create schema if not exists {node['schema']}")
            con.execute(
                f"create table {node['schema']}.{node['alias']} as "
                f"select * from built.{node['schema']}.{node['alias']}"
            )
    con.execute("detach built")
    # the build's record of what it rebuilt, which the formulas read (dbt/macros/history.sql):
    # empty, so they compute every period, as in a whole build
    con.execute("create schema if not exists intermediate")
    con.execute(
        "create table intermediate.rebuilds (model varchar, invocation_id varchar, "
        "rebuilt_from date, recorded_at timestamptz)"
    )
    model_seconds = {}
    for node in ordered:
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        started = time.perf_counter()
        con.execute(f"create schema if not exists {node['schema']}")
        con.execute(
            f"create or replace {kind} {node['schema']}.{node['alias']} as "
            f"{node['compiled_code'].rstrip().rstrip(';')}"
        )
        model_seconds[node["alias"]] = time.perf_counter() - started
    rows = con.execute("select count(*) from marts.indicator_values").fetchone()[0]
    con.close()
    slowest = sorted(model_seconds.items(), key=lambda item: -item[1])[:8]
    return rows, round(sum(model_seconds.values()), 2), {m: round(s, 2) for m, s in slowest}


# -- the driver --------------------------------------------------------------------------------

STAGES = (
    "generate",
    "extract",
    "validate",
    "dbt build",
    "reports",
    "whole run (Airflow)",
    "incremental day (Airflow)",
    "extract floor",
    "transform floor",
    "disclosure audit",
)


def run_stage(
    name: str, data: Path, residents: int, years: int, profile: Path | None = None
) -> dict:
    """One stage in a fresh process; with ``profile``, under pyinstrument (a text report)."""
    profiler = [] if profile is None else ["-m", "pyinstrument", "-r", "text", "-o", str(profile)]
    done = subprocess.run(
        [sys.executable, *profiler, __file__, "--stage", name, "--data", str(data)]
        + ["--residents", str(residents), "--years", str(years)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "plugins")},
    )
    if done.returncode:
        raise RuntimeError(f"stage {name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


SPARK_STAGE = "dbt build (Spark)"  # the same models on Spark: scales up to --spark-up-to


def bench(
    scales: list[tuple[int, int]],
    out: Path,
    profiled: set[str] = frozenset(),
    spark_up_to: int = 200_000,
) -> list[dict]:
    rows = []
    for residents, years in scales:
        data = out / "runs" / f"{residents}x{years}"
        if data.exists():
            import shutil

            shutil.rmtree(data)
        data.mkdir(parents=True)
        results = {}
        stages = STAGES + ((SPARK_STAGE,) if residents <= spark_up_to else ())
        for name in stages:
            print(f"{residents} residents x {years} y: {name} ...", file=sys.stderr, flush=True)
            profile = None
            if name in profiled:
                profile = out / "profiles" / f"{residents}x{years} {name}.txt"
                profile.parent.mkdir(parents=True, exist_ok=True)
            results[name] = run_stage(name, data, residents, years, profile)
            if profile:
                print(f"  profile: {profile}", file=sys.stderr)
            result = results[name]
            timed = {**result, "seconds": result.get("floor_seconds", result["seconds"])}
            rows.append(row(residents, years, name, result["rows"], timed))
            print_table(rows[-1:], header=False, file=sys.stderr)
            if "airflow_start_seconds" in result:
                rows.append(
                    row(
                        residents,
                        years,
                        "  Airflow start (before it)",
                        None,
                        {"seconds": result["airflow_start_seconds"], "peak_mb": None},
                    )
                )
            if "lineage_events" in result:  # rows: the events the run emitted
                rows.append(
                    row(
                        residents,
                        years,
                        "  OpenLineage events",
                        result["lineage_events"],
                        {"seconds": None, "peak_mb": None},
                    )
                )
            if name == "disclosure audit":  # rows: withheld cells; the publications audited
                for label, seconds, count in (
                    (
                        "  of which the last publication",
                        result["audit_seconds"],
                        result["withheld"],
                    ),
                    (
                        "  every past publication",
                        result["history_seconds"],
                        result["history_publications"],
                    ),
                    ("  indicator_values_suppressed (model)", result["suppression_seconds"], None),
                ):
                    rows.append(
                        row(residents, years, label, count, {"seconds": seconds, "peak_mb": None})
                    )
            if name == "extract":
                seconds = result["pseudonymise_seconds"]
                rows.append(
                    row(
                        residents,
                        years,
                        "  of which pseudonymise",
                        result["rows"],
                        {"seconds": seconds, "peak_mb": None},
                    )
                )
        pipeline_seconds = sum(results[s]["seconds"] for s in STAGES[1:5])
        rows.append(
            row(
                residents,
                years,
                "pipeline (extract..reports)",
                results["extract"]["rows"],
                {
                    "seconds": round(pipeline_seconds, 2),
                    "peak_mb": max(results[s]["peak_mb"] for s in STAGES[1:5]),
                },
            )
        )
        rows.append(
            ratio_row(
                residents,
                years,
                "extract / floor",
                results["extract"]["seconds"],
                results["extract floor"]["seconds"],
            )
        )
        rows.append(
            ratio_row(
                residents,
                years,
                "dbt build / floor",
                results["dbt build"]["dbt_seconds"],
                results["transform floor"]["floor_seconds"],
            )
        )
    print()
    print_table(rows)
    return rows


def row(residents: int, years: int, stage_name: str, rows_in: int | None, result: dict) -> dict:
    seconds = result["seconds"]
    return {
        "residents": residents,
        "years": years,
        "stage": stage_name,
        "rows": rows_in,
        "seconds": seconds,
        "rows_per_second": round(rows_in / seconds) if seconds and rows_in else None,
        "peak_mb": result.get("peak_mb"),
    }


def ratio_row(residents: int, years: int, name: str, pipeline: float, floor: float) -> dict:
    return {
        "residents": residents,
        "years": years,
        "stage": name,
        "rows": None,
        "seconds": None,
        "rows_per_second": None,
        "peak_mb": None,
        "ratio": round(pipeline / floor, 2) if floor else None,
    }


def print_table(rows: list[dict], header: bool = True, file=sys.stdout) -> None:
    if header:
        line = f"{'residents':>9} {'y':>2}  {'stage':<28} {'rows':>11} {'seconds':>8} "
        print(line + f"{'rows/s':>10} {'peak MB':>8} {'ratio':>6}", file=file)
    for r in rows:
        print(
            f"{r['residents']:>9} {r['years']:>2}  {r['stage']:<28} "
            f"{'' if r['rows'] is None else r['rows']:>11} "
            f"{'' if r['seconds'] is None else r['seconds']:>8} "
            f"{'' if r['rows_per_second'] is None else r['rows_per_second']:>10} "
            f"{'' if r['peak_mb'] is None else r['peak_mb']:>8} "
            f"{r.get('ratio') or '':>6}",
            file=file,
            flush=True,
        )


# The benchmarks page holds the table between these two lines; the rest of the page is prose.
TABLE_START = "<!-- the table below is written by `make bench` (bench/pipeline_bench.py) -->"
TABLE_END = "<!-- end of the table written by `make bench` -->"


def _number(value) -> str:
    """A figure as the page shows it: thousands apart by a space, as Finnish writes them."""
    if value is None or value == "":
        return ""
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")
    return str(value)


def markdown_table(rows: list[dict], measured: str) -> str:
    """The bench's rows as the benchmarks page's table, with the line saying where and when."""
    lines = [
        measured,
        "",
        "| residents × years | stage | rows | seconds | rows/s | peak MB | ratio to floor |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {_number(r['residents'])} × {r['years']} | {r['stage']} | {_number(r['rows'])} "
            f"| {_number(r['seconds'])} | {_number(r['rows_per_second'])} "
            f"| {_number(r['peak_mb'])} | {_number(r.get('ratio'))} |"
        )
    return "\n".join(lines) + "\n"


def write_table_into_page(page: Path, table: str) -> None:
    """Replace the table between the page's markers, keeping the prose around it."""
    text = page.read_text(encoding="utf-8")
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise SystemExit(
            f"{page}: the markers of the benchmark table are missing: expected a line "
            f"{TABLE_START!r} and after it {TABLE_END!r}"
        )
    before, after = text[: start + len(TABLE_START)], text[end:]
    page.write_text(f"{before}\n{table}{after}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="20000x1,200000x1,650000x1,650000x2")
    parser.add_argument("--out", default=str(ROOT / "data" / "bench"))
    parser.add_argument(
        "--profile",
        default="",
        help="stages to run under pyinstrument, e.g. 'extract,dbt build' (reports in "
        "data/bench/profiles/; profiling slows a stage, so its time is not comparable)",
    )
    parser.add_argument(
        "--spark-up-to",
        type=int,
        default=200_000,
        help="also build on Spark (local mode) at the scales up to this many residents (0: never)",
    )
    parser.add_argument(
        "--page",
        default=str(ROOT / "docs" / "benchmarks.md"),
        help="the page whose table to replace with this run's (empty: leave every page as it is)",
    )
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--residents", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--years", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, Path(args.data), args.residents, args.years)))
        return 0
    scales = [tuple(int(x) for x in s.split("x")) for s in args.scales.split(",")]
    out = Path(args.out)
    profiled = {s.strip() for s in args.profile.split(",") if s.strip()}
    unknown = profiled - {*STAGES, SPARK_STAGE}
    if unknown:
        parser.error(f"unknown stage(s) {sorted(unknown)}; the stages are {list(STAGES)}")
    rows = bench(scales, out, profiled, args.spark_up_to)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.json").write_text(json.dumps(rows, indent=2))
    with open(out / "pipeline.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*rows[0].keys(), "ratio"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    print(f"\nwritten: {out / 'pipeline.csv'}, {out / 'pipeline.json'}")
    if args.page:
        measured = (
            f"Measured on {date.today().isoformat()} with `make bench SCALES={args.scales}` "
            f"on a machine of {os.cpu_count()} cores."
        )
        write_table_into_page(Path(args.page), markdown_table(rows, measured))
        print(f"written: the table of {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
