"""Time to failure of the errors a retry cannot fix, each through a real ``sotelake run``.

    .venv/bin/python bench/permanent_errors_bench.py [--cases yaml_error,key_short,...]
        [--repo PATH] [--parallel 3] [--timeout 1800] [--out data/bench/permanent_errors.csv]

For each case a small demo county (500 residents) is generated in a folder of its own, one fault
is applied to it (a broken registry, a missing or short key, a missing source database, an empty
table, a dbt project that does not compile, a failing dbt test), and ``sotelake run`` runs the
whole DAG through Airflow (``dag.test``) in a subprocess. The table gives the seconds until the
command exited, its exit code, the tasks that failed with how many tries each took (from
Airflow's metadata database), and how many delivered files were moved out of landing.

``--repo`` runs another checkout's code (its ``plugins`` first on the path): the same cases
before and after a change. The cases mostly wait (retries sleep), so several run at once.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key-" + "x" * 40
LOAD_DATE = "2026-01-01"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    if old not in text:
        raise SystemExit(f"{path}: {old!r} not found (the case no longer applies)")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _registry(case_dir: Path) -> Path:
    return case_dir / "config" / "sources.yml"


# Each case changes the case's folder (data, config, dbt project) and the environment.
def yaml_error(case_dir: Path, env: dict) -> None:
    _edit(_registry(case_dir), "sources:\n", "sources:\n  broken: [unclosed\n")


def unknown_column_type(case_dir: Path, env: dict) -> None:
    _edit(_registry(case_dir), "sick_leave_days: {type: integer", "sick_leave_days: {type: integr")


def missing_primary_key(case_dir: Path, env: dict) -> None:
    _edit(_registry(case_dir), "        primary_key: [cost_centre, period]\n", "")


def missing_files_glob(case_dir: Path, env: dict) -> None:
    _edit(_registry(case_dir), '        files: "hr_*.csv"\n', "")


def sources_key_misspelt(case_dir: Path, env: dict) -> None:
    _edit(_registry(case_dir), "\nsources:\n", "\nsource:\n")


def delimiter_misspelt(case_dir: Path, env: dict) -> None:
    _edit(
        _registry(case_dir),
        'dialect: {delimiter: ";", decimal: ",", date_format: "%d.%m.%Y", encoding: utf-8}\n'
        "    tables:\n      ledger_postings:",
        'dialect: {delimeter: ";", decimal: ",", date_format: "%d.%m.%Y", encoding: utf-8}\n'
        "    tables:\n      ledger_postings:",
    )


def key_file_missing(case_dir: Path, env: dict) -> None:
    env.pop("SOTELAKE_PSEUDONYM_KEY", None)
    env["SOTELAKE_PSEUDONYM_KEY_FILE"] = str(case_dir / "no-such-folder" / "pseudonym.key")


def key_too_short(case_dir: Path, env: dict) -> None:
    env["SOTELAKE_PSEUDONYM_KEY"] = "short-key"


def source_database_missing(case_dir: Path, env: dict) -> None:
    (case_dir / "data" / "sources" / "unified_record.sqlite").unlink()


def empty_first_load(case_dir: Path, env: dict) -> None:
    con = sqlite3.connect(case_dir / "data" / "sources" / "unified_record.sqlite")
    con.execute("delete from child_welfare_placements")
    con.commit()
    con.close()


def dbt_does_not_compile(case_dir: Path, env: dict) -> None:
    model = case_dir / "dbt" / "models" / "marts" / "core" / "dim_date.sql"
    model.write_text(model.read_text() + "\n-- {{ ref('no_such_model') }}\n")


def dbt_test_fails(case_dir: Path, env: dict) -> None:
    (case_dir / "dbt" / "tests" / "always_fails.sql").write_text("select 1 as failing_row\n")


CASES = {
    f.__name__: f
    for f in (
        yaml_error,
        unknown_column_type,
        missing_primary_key,
        missing_files_glob,
        sources_key_misspelt,
        delimiter_misspelt,
        key_file_missing,
        key_too_short,
        source_database_missing,
        empty_first_load,
        dbt_does_not_compile,
        dbt_test_fails,
    )
}


def _python(repo: Path) -> list[str]:
    return [sys.executable, "-c", "import sys; from sotelake.cli import main; sys.exit(main())"]


def _environment(repo: Path, case_dir: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SOTELAKE_", "AIRFLOW_", "AIRFLOW__"))
    }
    env |= {
        "PYTHONPATH": str(repo / "plugins"),
        "SOTELAKE_DATA_DIR": str(case_dir / "data"),
        "SOTELAKE_CONFIG": str(case_dir / "config"),
        "SOTELAKE_DBT_PROJECT": str(case_dir / "dbt"),
        "SOTELAKE_PSEUDONYM_KEY": KEY,
    }
    return env


def run_case(name: str, repo: Path, work: Path, timeout: float) -> dict:
    case_dir = work / name
    shutil.rmtree(case_dir, ignore_errors=True)
    case_dir.mkdir(parents=True)
    shutil.copytree(repo / "config", case_dir / "config")
    shutil.copytree(repo / "dbt", case_dir / "dbt", ignore=shutil.ignore_patterns("target", "logs"))
    env = _environment(repo, case_dir)
    subprocess.run(
        [*_python(repo), "generate", "--residents", "500", "--seed", "3"],
        env=env,
        check=True,
        capture_output=True,
    )
    CASES[name](case_dir, env)
    landing = case_dir / "data" / "landing"
    delivered = sum(1 for p in landing.rglob("*") if p.is_file())
    log = case_dir / "run.log"
    started = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(
            [*_python(repo), "run", "--load-date", LOAD_DATE],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = "timeout"
    seconds = round(time.perf_counter() - started, 1)
    kept = sum(1 for p in landing.rglob("*") if p.is_file() and "_rejected" not in p.parts)
    return {
        "case": name,
        "seconds": seconds,
        "exit": code,
        "failed_tasks": _failed_tasks(case_dir / "data" / "airflow" / "airflow.db"),
        "moved_out_of_landing": delivered - kept,
        "last_line": _last_line(log),
    }


def _failed_tasks(db: Path) -> str:
    if not db.exists():
        return ""
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "select task_id, map_index, try_number from task_instance "
            "where state in ('failed', 'up_for_retry') order by task_id, map_index"
        ).fetchall()
    except sqlite3.Error:
        return ""
    finally:
        con.close()
    return "; ".join(
        f"{task}{'' if index < 0 else f'[{index}]'} x{tries}" for task, index, tries in rows[:6]
    ) + (f"; ... ({len(rows)} tasks)" if len(rows) > 6 else "")


def _last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:160] if lines else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench" / "permanent_errors")
    parser.add_argument("--parallel", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    names = [n for n in args.cases.split(",") if n]
    unknown = set(names) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; choose from {sorted(CASES)}")
    repo = args.repo.resolve()
    with ThreadPoolExecutor(args.parallel) as pool:
        results = list(
            pool.map(lambda n: run_case(n, repo, args.work.resolve(), args.timeout), names)
        )
    out = args.out or args.work / "results.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(results[0]))
        writer.writeheader()
        writer.writerows(results)
    for r in results:
        print(
            f"{r['case']:<26} {r['seconds']:>8} s  exit {r['exit']!s:<7} "
            f"moved {r['moved_out_of_landing']}  {r['failed_tasks']}"
        )
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
