"""Command line: ``sotelake <command>`` (installed with the package; see README.md).

sotelake generate [--residents N] [--years Y] [--start-year YYYY] [--seed S]
sotelake run [--load-date YYYY-MM-DD]     run the DAG once through Airflow (dag.test); SIGTERM or
                                          Ctrl-C stops it; exit 2 if the date is already running
sotelake demo [...generate options]       generate (if needed), run, say where outputs are
sotelake backfill --from D --to D         run the DAG for each load date of a range
sotelake replay SOURCE.TABLE --load-date D  re-run a rejected or quarantined load after a fix
sotelake items                            the open items (failed loads, rejected batches, files
                                          set aside, late deliveries), with what resolves each
sotelake dismiss ITEM --reason TEXT       close an open item that needs no fix (recorded)
sotelake suites                           write the GX suites from expectations/specs.yml
sotelake dbt-sources                      write dbt's sources from config/sources.yml
sotelake calendar                         write dbt's Finnish holiday seed from the holidays package
sotelake packages [--year YYYY]           render the sote information packages of a year
sotelake publish-postgres [URL]          copy the public marts to the PostgreSQL BI warehouse
sotelake build-postgres [URL]            build the whole dbt project on PostgreSQL instead
sotelake build-spark                      build the whole dbt project on Spark (local mode)
sotelake scan-privacy [FOLDER]            find henkilötunnus-shaped values in outputs
sotelake rotate-key [--yes]               start a new lake for a new pseudonymisation key
sotelake airflow <args>                   the airflow CLI with this project's settings
                                          (`sotelake airflow standalone`: UI and scheduler)

Exit 0 when done; 2 on a mistake in the command line or the configuration, found before any work
(one line on stderr: what is wrong); 1 when the work failed (a short summary; --debug shows the
traceback).
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import os
import secrets
import signal
import sys
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

from sotelake.settings import PSEUDONYM_KEY_ENV, PSEUDONYM_KEY_FILE_ENV, get_settings

log = logging.getLogger("sotelake")


class UsageError(Exception):
    """A mistake in the command line, found before any work: one line on stderr, exit 2."""


class CommandParser(argparse.ArgumentParser):
    """No prefix abbreviations (``--resident`` is not ``--residents``), and a mistake is one
    line on stderr, naming the command and where its help is, then exit 2."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def iso_date(text: str) -> str:
    """A date as YYYY-MM-DD, checked (kept as text: the commands pass it on as given)."""
    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (expected YYYY-MM-DD)") from None
    if len(text) != 10:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (expected YYYY-MM-DD)")
    return text


def _whole_number(least: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is less than {least}")
        return value

    parse.__name__ = "whole number"
    return parse


def faults_option(text: str) -> str:
    """``default`` or ``name=rate,...``, each name a fault of demo/faults.py and each rate a
    number from 0 to 1 (checked here, so that a typo does not regenerate the county)."""
    try:
        _faults(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def registered_table(name: str) -> str:
    """``source.table`` as the source registry has it, else a UsageError naming the closest."""
    from sotelake.sources.registry import all_tables, load_registry

    known = [t.qualified_name for t in all_tables(load_registry())]
    if name in known:
        return name
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"the tables are {', '.join(known)}"
    raise UsageError(f"no table {name!r} in config/sources.yml; {hint}")


def _spec(args):
    from sotelake.demo.generate import DemoSpec

    return DemoSpec(
        faults=_faults(args.faults),
        county=args.county,
        residents=args.residents,
        start_year=args.start_year,
        years=args.years,
        seed=args.seed,
    )


def _faults(text: str | None) -> dict:
    """``default`` or ``name=rate,...`` (see sotelake/demo/faults.py)."""
    from sotelake.demo.faults import DEFAULT_RATES

    if not text:
        return {}
    if text == "default":
        return dict(DEFAULT_RATES)
    rates = {}
    for item in text.split(","):
        name, equals, rate = item.partition("=")
        if name not in DEFAULT_RATES:
            close = difflib.get_close_matches(name, list(DEFAULT_RATES), n=1)
            raise ValueError(
                f"no fault {name!r}"
                + (f"; did you mean {close[0]!r}?" if close else "")
                + f" (the faults: default, or name=rate of {', '.join(DEFAULT_RATES)})"
            )
        try:
            rates[name] = float(rate) if equals else None
        except ValueError:
            rates[name] = None
        if rates[name] is None or not 0 <= rates[name] <= 1:
            raise ValueError(f"the rate of {name} must be a number from 0 to 1, not {rate!r}")
    return rates


def cmd_generate(args) -> int:
    from sotelake import run_console
    from sotelake.demo.generate import GENERATION_STEPS, generate
    from sotelake.lake import storage

    settings = get_settings()
    log_file = settings.logs / f"generate-{datetime.now():%Y%m%dT%H%M%S}.log"
    with run_console.other_programs_to(log_file) as terminal:
        # a new demo county: what was derived from the old one's sources goes with them
        for derived in (settings.lake, settings.reports, settings.data_dir / "dbt"):
            if derived.exists():
                log.info("removing %s (derived from the earlier demo sources)", derived)
                storage.remove(derived)
        for path in settings.warehouse.parent.glob(settings.warehouse.name + "*"):  # and .wal
            path.unlink()
        with run_console.Progress(terminal, GENERATION_STEPS) as progress:
            manifest = generate(_spec(args), settings.data_dir, progress.step)
    rows = sum(
        n for tables in manifest["rows"].values() for name, n in tables.items() if name != "files"
    )
    print(
        f"generated the demo county: {run_console.number(args.residents)} residents, "
        f"{run_console.number(rows)} source rows in {manifest['seconds']} s under "
        f"{settings.data_dir}"
    )
    return 0


def _key_configured() -> bool:
    return bool(os.environ.get(PSEUDONYM_KEY_ENV) or os.environ.get(PSEUDONYM_KEY_FILE_ENV))


def demo_key_path() -> Path:
    return get_settings().data_dir / "secrets" / "pseudonym.key"


def create_demo_key() -> None:
    """The demo's own pseudonymisation key, outside the repository and the lake: made by
    ``sotelake demo`` (``make demo``) only, when no key is configured and there is none yet.
    Every other command stops when it has no key (``use_demo_key``, ``require_key``)."""
    if _key_configured():
        return
    path = demo_key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        path.chmod(0o600)
        log.info("created a demo pseudonymisation key in %s", path)
    os.environ[PSEUDONYM_KEY_FILE_ENV] = str(path)


def use_demo_key() -> bool:
    """Whether a key is configured, or the demo's (made by ``make demo``) is there to use;
    never makes one."""
    if _key_configured():
        return True
    if demo_key_path().is_file():
        os.environ[PSEUDONYM_KEY_FILE_ENV] = str(demo_key_path())
        return True
    return False


def require_key(command: str) -> None:
    """Before a command that loads: stop at once, writing nothing, when there is no key, or
    when the key is not the one that made the lake's pseudonyms (lake.pseudonym_key).

    Without a key in the environment or the demo's file, the key may still be an Airflow
    Variable in an existing Airflow database: then the DAG's first task checks it."""
    from sotelake.lake import pseudonym_key
    from sotelake.settings import ConfigurationError
    from sotelake.settings import pseudonym_key as configured_key

    settings = get_settings()
    if not use_demo_key():
        # Airflow's home as airflow_env.environment() sets it (which would also make the
        # lineage folder: a command without a key writes nothing)
        metadata = settings.data_dir / "airflow" / "airflow.db"
        if metadata.exists() or os.environ.get("AIRFLOW_VAR_SOTELAKE_PSEUDONYM_KEY"):
            return
    try:
        pseudonym_key.check(settings.lake, configured_key())
    except (ConfigurationError, pseudonym_key.KeyMismatch) as error:
        print(f"sotelake {command}: {error}", file=sys.stderr)
        raise SystemExit(2) from None


# Set in the process that runs the DAG for a command of the parent (``in_a_child``).
IN_CHILD_ENV = "SOTELAKE_RUN_IN_THIS_PROCESS"


def in_a_child(argv: list[str]) -> int:
    """``sotelake <argv>`` in a child process that SIGTERM or Ctrl-C stops at once; its exit
    code, or 128 + the signal's number when stopped.

    Airflow's in-process task runner (``dag.test``) answers SIGTERM by asking the running task
    to stop and then goes on with the run, so a run in this process would ignore it. The
    child, in a session of its own, is killed with everything it started instead: every load
    and partition swap is atomic and a watermark advances only after its load is published,
    so the next run of the date redoes whatever did not finish."""
    import subprocess

    child = subprocess.Popen(
        [sys.executable, "-m", "sotelake.cli", *argv],
        env={**os.environ, IN_CHILD_ENV: "1"},
        start_new_session=True,
    )
    stopped: list[int] = []

    def stop(signum, frame) -> None:
        stopped.append(signum)
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stopped:
        name = signal.Signals(stopped[0]).name
        print(
            f"sotelake: stopped by {name}; the next run of the date redoes what did not finish",
            file=sys.stderr,
        )
        return 128 + stopped[0]
    return code


def _stoppable(command, name: str):
    """A command that runs the DAG: stops at once without a usable key (``require_key``),
    then runs in a child process (``in_a_child``); exit 2 at once when its load date is
    already running."""

    def run(args) -> int:
        from sotelake.airflow_run import AlreadyRunning

        if not os.environ.get(IN_CHILD_ENV):
            require_key(name)
            return in_a_child(args.argv)
        try:
            return command(args)
        except AlreadyRunning as error:
            print(f"sotelake: {error}", file=sys.stderr)
            return 2

    return run


def _run(args) -> int:
    from sotelake import airflow_env, run_console
    from sotelake.airflow_run import DAG_ID, run_pipeline

    settings = get_settings()
    load_date = date.fromisoformat(args.load_date or date.today().isoformat())
    log_file = run_console.run_log_file(settings, load_date)
    print(f"running the DAG {DAG_ID} for {load_date}; other programs' output: {log_file}")
    logical = datetime(load_date.year, load_date.month, load_date.day, tzinfo=UTC)
    with run_console.other_programs_to(log_file) as terminal:
        airflow_env.configure(settings)  # before Airflow is imported, as run_pipeline does
        with run_console.TaskWatcher(DAG_ID, logical, lambda line: print(line, file=terminal)):
            summary = run_pipeline(load_date, settings)
    print(f"\nDAG run {summary.run_id}: {summary.state} in {summary.seconds} s")
    failed = {k: v for k, v in summary.task_states.items() if v != "success"}
    if failed:
        print(f"tasks not successful: {failed}")
    print("\nOutputs" + (" (those that exist)" if failed else ""))
    outputs = {
        "indicator report": settings.reports / "indicators" / "index.html",
        "sote packages": settings.reports / "packages" / "index.html",
        "data quality report": settings.reports / "quality" / "index.html",
        "warehouse docs (dbt)": settings.reports / "dbt-docs" / "index.html",
        "warehouse (DuckDB)": settings.warehouse,
        "gold zone (BI files)": settings.lake / "gold" / "manifest.json",
        "lake (Parquet)": settings.lake,
    }
    for what, path in outputs.items():
        if path.exists():
            print(f"  {what:<24} {path}")
    print(f"  {'log of this run':<24} {log_file}")
    if failed:
        first = next((k for k, v in failed.items() if v == "failed"), next(iter(failed)))
        print(
            f"\nThe run failed ({first} first). Its log says why: {log_file} (the task logs: "
            f"{settings.logs / 'airflow'}); the data quality report lists the open items: "
            f"{outputs['data quality report']}"
        )
        return 1
    return 0


cmd_run = _stoppable(_run, "run")


def _backfill(args) -> int:
    from sotelake.airflow_run import run_range

    runs = run_range(date.fromisoformat(args.first), date.fromisoformat(args.last))
    for run in runs:
        print(f"{run.run_id}: {run.state} in {run.seconds} s")
    return 0 if runs and all(r.succeeded for r in runs) else 1


cmd_backfill = _stoppable(_backfill, "backfill")


def cmd_demo(args) -> int:

    manifest_path = get_settings().data_dir / "sources" / "demo_manifest.json"
    spec = _spec(args)
    current = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if current.get("spec") != asdict(spec) or args.regenerate:
        cmd_generate(args)
    else:
        print(f"demo sources for {asdict(spec)} already generated; --regenerate to redo")
    if not args.load_date:  # the demo county's "today": the day its sources were extracted
        args.load_date = json.loads(manifest_path.read_text())["extraction_day"]
    create_demo_key()  # the one command that may make a key: it runs a made-up county
    args.argv = ["run", "--load-date", args.load_date]  # what the run's own process does
    return cmd_run(args)


def cmd_packages(args) -> int:
    from sotelake.publish.packages import render_packages

    written = render_packages(get_settings(), year=args.year)
    print("\n".join(str(p) for p in written) or "the warehouse has no indicators yet")
    return 0


def _bi_warehouse_url(args) -> str:
    """The URL given on the command line, else the configured one; exit 2 without either."""
    from sotelake.transform.bi_warehouse import URL_ENV, bi_warehouse_url

    url = args.url or bi_warehouse_url()
    if not url:
        raise UsageError(f"give the warehouse's URL, or set {URL_ENV}")
    return url


def cmd_publish_postgres(args) -> int:
    from sotelake.transform.bi_warehouse import publish_to_postgres

    publication = publish_to_postgres(_bi_warehouse_url(args), get_settings(), run_id="manual")
    print(json.dumps(asdict(publication), indent=2))
    return 0


def cmd_build_postgres(args) -> int:
    from sotelake.transform.dbt_build import build_on_postgres

    result = build_on_postgres(_bi_warehouse_url(args), _manual_run_id())
    print(f"dbt build on PostgreSQL in {result.seconds} s: {result.statuses}")
    return 0


def cmd_build_spark(args) -> int:
    from sotelake.transform.dbt_build import build_on_spark, spark_warehouse

    result = build_on_spark(_manual_run_id())
    print(f"dbt build on Spark in {result.seconds} s: {result.statuses}")
    print(f"tables and metastore in {spark_warehouse(get_settings())}")
    return 0


def _manual_run_id() -> str:
    return f"manual__{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}"


def cmd_scan_privacy(args) -> int:
    from sotelake.lake.privacy_scan import scan_tree
    from sotelake.lake.storage import object_store_root, on_object_store

    settings = get_settings()
    if args.folder:
        if "://" not in args.folder and not Path(args.folder).is_dir():
            raise UsageError(f"no folder {args.folder}")
        folders = [
            object_store_root(args.folder, "FOLDER") if "://" in args.folder else Path(args.folder)
        ]
    else:  # the data folder, and the lake when it lies elsewhere (e.g. on an object store)
        folders = [settings.data_dir]
        lake = settings.lake
        if on_object_store(lake) or not lake.is_relative_to(settings.data_dir):
            folders.append(lake)
    hits = []
    for folder in folders:
        files, found = scan_tree(folder)
        hits += found
        print(f"scanned {files} files under {folder}")
    if hits:
        print("henkilötunnus-shaped values found in:\n  " + "\n  ".join(hits[:20]))
        return 1
    print("no henkilötunnus in any output")
    return 0


def cmd_audit_disclosure(args) -> int:
    from sotelake.publish.disclosure_audit import audit_history, audit_path

    path = Path(args.path) if args.path else get_settings().warehouse
    try:
        result = audit_path(path, args.protection)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    print(result.summary())
    given_away = len(result.failures)
    if args.history:
        for moment, then in audit_history(path, args.protection).items():
            print(f"published at {moment}: {then.summary()}")
            given_away += len(then.failures)
    return 1 if given_away else 0


def cmd_copy_to_postgres(args) -> int:
    from sotelake.demo.to_postgres import copy_record_system

    record_system = get_settings().sources_dir / "unified_record.sqlite"
    if not record_system.is_file():
        raise UsageError(f"no demo record system at {record_system}: run `sotelake generate` first")
    copied = copy_record_system(record_system, args.url)
    print(json.dumps(copied, indent=2))
    return 0


def cmd_replay(args) -> int:
    from sotelake.pipeline import replay
    from sotelake.settings import pseudonym_key

    registered_table(args.table)
    require_key("replay")
    run_id = f"replay__{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}"
    outcome = replay(
        args.table,
        date.fromisoformat(args.load_date),
        pseudonym_key(),
        run_id,
        from_source=args.from_source,
    )
    validation = outcome["validation"]
    print(
        f"{args.table} {args.load_date}: {outcome['action']}; validation {validation['status']}"
        + (f" ({'; '.join(validation['failing'])})" if validation["failing"] else "")
    )
    from sotelake.lake import open_items

    left = open_items.open_items(get_settings().lake)
    print(f"open items left: {len(left)}" + (" (sotelake items lists them)" if left else ""))
    return 1 if validation["status"] == "rejected" else 0


def cmd_items(args) -> int:
    from sotelake.lake import open_items

    lake = get_settings().lake
    items = open_items.read_items(lake)
    shown = items if args.all else [i for i in items if i["status"] == open_items.OPEN]
    if not shown:
        print("no open items" if not args.all else "no items")
        return 0
    for item in shown:
        state = "" if item["status"] == open_items.OPEN else f" [{item['resolution']}]"
        print(f"- {open_items.describe(item)}{state}")
    opened = sum(i["status"] == open_items.OPEN for i in items)
    print(f'{opened} open; close one with: sotelake dismiss ITEM --reason "..."')
    return 0


def cmd_dismiss(args) -> int:
    import getpass

    from sotelake.lake import open_items

    by = args.by or os.environ.get("SOTELAKE_STEWARD") or getpass.getuser()
    try:
        item = open_items.dismiss(get_settings().lake, args.item, args.reason, by)
    except (open_items.UnknownItem, ValueError) as error:
        print(f"sotelake: {error}", file=sys.stderr)
        return 2
    print(f"dismissed {item['item_id']}: {item['resolution']}")
    return 0


def cmd_rotate_key(args) -> int:
    """A new pseudonymisation key: retire the lake and warehouse, start a new lake."""
    from sotelake.lake import pseudonym_key
    from sotelake.pipeline import KeyRotationError, rotate_key
    from sotelake.settings import ConfigurationError
    from sotelake.settings import pseudonym_key as configured_key

    settings = get_settings()
    try:
        use_demo_key()
        key = configured_key()  # raises, saying how to configure one
        record = pseudonym_key.recorded(settings.lake)
        if not args.yes:
            old = record["fingerprint"][: pseudonym_key.SHOWN] if record else "none"
            print(
                f"Rotating the pseudonymisation key of {settings.lake} (fingerprint {old}) to "
                f"the key configured now (fingerprint "
                f"{pseudonym_key.fingerprint(key)[: pseudonym_key.SHOWN]}) moves the lake and "
                f"the warehouse {settings.warehouse} into {settings.data_dir / 'retired'} and "
                "starts a new lake; the next run extracts everything the sources hold again. "
                "Versions of rows that the sources no longer hold stay only in the retired "
                "lake. Run again with --yes to do it (docs/privacy.md)."
            )
            return 1
        moved = rotate_key(key, Path(args.retire_to) if args.retire_to else None, settings)
    except (ConfigurationError, KeyRotationError) as error:
        print(f"sotelake rotate-key: {error}", file=sys.stderr)
        return 2
    for source, target in moved.items():
        print(f"retired {source} -> {target}")
    print(
        f"new lake {settings.lake}: key fingerprint "
        f"{pseudonym_key.fingerprint(key)[: pseudonym_key.SHOWN]}; now run `sotelake run` (or "
        "the DAG) to extract everything again, and republish"
    )
    return 0


def cmd_suites(args) -> int:
    from sotelake.quality.suite_spec import write_suites

    written = write_suites(get_settings().expectations)
    print(f"wrote {len(written)} suites under {get_settings().expectations / 'raw'}")
    return 0


def cmd_dbt_sources(args) -> int:
    from sotelake.transform.dbt_sources import write_sources

    settings = get_settings()
    written = write_sources(settings.dbt_project, settings.config_dir / "sources.yml")
    print(f"wrote {len(written)} dbt source files under {settings.dbt_project / 'models/staging'}")
    return 0


def cmd_calendar(args) -> int:
    from sotelake.finnish_calendar import write_seed

    path = write_seed(get_settings().dbt_project)
    print(f"wrote {path}")
    return 0


def cmd_advance(args) -> int:
    from datetime import timedelta

    from sotelake.demo.changes import advance

    manifest_path = get_settings().data_dir / "sources" / "demo_manifest.json"
    if not manifest_path.is_file():
        raise UsageError(f"no demo county under {manifest_path.parent}: run `sotelake generate`")
    manifest = json.loads(manifest_path.read_text())
    done = sorted(manifest.get("advanced", {}))
    day = (
        date.fromisoformat(done[-1]) + timedelta(days=1)
        if done
        else date.fromisoformat(manifest["extraction_day"]) + timedelta(days=1)
    )
    for _ in range(args.days):
        print(f"{day}: {advance(get_settings().data_dir, day)}")
        day += timedelta(days=1)
    return 0


def cmd_airflow(args) -> int:
    """The ``airflow`` command line with the project's settings: ``sotelake airflow dags list``."""
    from sotelake import airflow_env

    if not use_demo_key():
        print(
            "sotelake airflow: no pseudonymisation key configured (SOTELAKE_PSEUDONYM_KEY, "
            "SOTELAKE_PSEUDONYM_KEY_FILE or the Airflow Variable sotelake_pseudonym_key): a DAG "
            "run without one stops in its first task",
            file=sys.stderr,
        )
    env = airflow_env.configure()
    airflow_env.migrate_database()  # and the pools the DAG's tasks need
    command = args.airflow_args or ["--help"]
    if command[0] == "standalone":
        # Signs the UI's session tokens; a new one each start is fine for one machine.
        os.environ.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", secrets.token_urlsafe(64))
        passwords = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
        print(
            f"Airflow UI: http://localhost:8080  user admin, password in {passwords} "
            "(also printed below on the first start). Stop with Ctrl-C."
        )
    airflow = Path(sys.executable).with_name("airflow")
    os.environ["PATH"] = f"{airflow.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    os.execv(str(airflow), [str(airflow), *command])
    return 0  # not reached


def postgres_url(text: str) -> str:
    if not text.startswith(("postgresql://", "postgres://", "postgresql+")):
        raise argparse.ArgumentTypeError(
            "not a PostgreSQL URL (expected postgresql://user:password@host:port/database)"
        )
    return text


def build_parser() -> CommandParser:
    """Every command and option, each with its help."""
    parser = CommandParser(
        prog="sotelake", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=CommandParser
    )
    generate_options = CommandParser(add_help=False)
    generate_options.add_argument(
        "--county", default="PO", help="wellbeing county code (default PO)"
    )
    generate_options.add_argument(
        "--residents", type=_whole_number(1), default=20_000, help="residents (default 20 000)"
    )
    generate_options.add_argument(
        "--start-year", type=_whole_number(2000), default=2025, help="first year (default 2025)"
    )
    generate_options.add_argument(
        "--years", type=_whole_number(1), default=1, help="years of history (default 1)"
    )
    generate_options.add_argument(
        "--seed", type=_whole_number(0), default=42, help="random seed (default 42)"
    )
    generate_options.add_argument(
        "--faults",
        type=faults_option,
        help="inject faults: 'default' or name=rate,... (see demo/faults.py)",
    )
    run_options = CommandParser(add_help=False)
    run_options.add_argument(
        "--load-date",
        type=iso_date,
        help="partition date of the loads, YYYY-MM-DD (run: today; demo: the day after the "
        "demo period)",
    )
    commands.add_parser(
        "generate", parents=[generate_options], help="generate the demo county's source systems"
    ).set_defaults(func=cmd_generate)
    commands.add_parser(
        "run", parents=[run_options], help="run the DAG once through Airflow (dag.test)"
    ).set_defaults(func=cmd_run)
    demo = commands.add_parser(
        "demo",
        parents=[generate_options, run_options],
        help="generate the demo county (if needed), run the DAG, say where the outputs are",
    )
    demo.add_argument(
        "--regenerate", action="store_true", help="generate again even if the sources are there"
    )
    demo.set_defaults(func=cmd_demo)
    scan = commands.add_parser(
        "scan-privacy", help="find henkilötunnus-shaped values in the outputs"
    )
    scan.add_argument(
        "folder", nargs="?", help="a folder or s3:// URL (default: the data folder and the lake)"
    )
    scan.set_defaults(func=cmd_scan_privacy)
    audit = commands.add_parser(
        "audit-disclosure",
        help="attack the published indicator values: can a withheld cell be worked out?",
    )
    audit.add_argument(
        "path",
        nargs="?",
        help="a DuckDB warehouse (default: the pipeline's), the gold zone or a folder of it, "
        "or a Parquet or CSV file of indicator values (a sote information package's)",
    )
    audit.add_argument(
        "--protection",
        type=float,
        help="how wide a withheld cell's interval must be (default "
        "SOTELAKE_DISCLOSURE_PROTECTION, else the minimum cell size)",
    )
    audit.add_argument(
        "--history",
        action="store_true",
        help="also every past publication in marts.indicator_value_history (a warehouse)",
    )
    audit.set_defaults(func=cmd_audit_disclosure)
    backfill = commands.add_parser("backfill", help="run the DAG for each load date of a range")
    backfill.add_argument(
        "--from", dest="first", type=iso_date, required=True, help="first load date, YYYY-MM-DD"
    )
    backfill.add_argument(
        "--to", dest="last", type=iso_date, required=True, help="last load date, YYYY-MM-DD"
    )
    backfill.set_defaults(func=cmd_backfill)
    replay = commands.add_parser("replay", help="re-run a rejected or quarantined load after a fix")
    replay.add_argument("table", help="source.table, e.g. finance.ledger_postings")
    replay.add_argument(
        "--load-date", type=iso_date, required=True, help="the load's date, YYYY-MM-DD"
    )
    replay.add_argument(
        "--from-source",
        action="store_true",
        help="extract again from the source instead of restoring a rejected batch",
    )
    replay.set_defaults(func=cmd_replay)
    rotate = commands.add_parser(
        "rotate-key", help="start a new lake for a new pseudonymisation key (docs/privacy.md)"
    )
    rotate.add_argument("--yes", action="store_true", help="do it (without: say what it does)")
    rotate.add_argument("--retire-to", help="where the old lake goes (default <data>/retired/...)")
    rotate.set_defaults(func=cmd_rotate_key)
    items = commands.add_parser("items", help="the open items and what resolves each")
    items.add_argument("--all", action="store_true", help="also the resolved and dismissed")
    items.set_defaults(func=cmd_items)
    dismiss = commands.add_parser(
        "dismiss", help="close an open item that needs no fix, with the reason (recorded)"
    )
    dismiss.add_argument("item", help="the item's id, as `sotelake items` lists it")
    dismiss.add_argument("--reason", required=True, help="why it needs no fix")
    dismiss.add_argument(
        "--by", help="who decides (default: SOTELAKE_STEWARD, else the operating-system user)"
    )
    dismiss.set_defaults(func=cmd_dismiss)
    commands.add_parser(
        "suites", help="write the Great Expectations suites from expectations/specs.yml"
    ).set_defaults(func=cmd_suites)
    commands.add_parser(
        "dbt-sources", help="write dbt's source definitions from config/sources.yml"
    ).set_defaults(func=cmd_dbt_sources)
    commands.add_parser(
        "calendar", help="write dbt's seed of Finnish holidays from the holidays package"
    ).set_defaults(func=cmd_calendar)
    packages = commands.add_parser("packages", help="render the sote information packages")
    packages.add_argument(
        "--year", type=_whole_number(2000), help="default: the latest population year"
    )
    packages.set_defaults(func=cmd_packages)
    to_postgres = commands.add_parser(
        "copy-to-postgres", help="put the demo record system into a PostgreSQL database"
    )
    to_postgres.add_argument(
        "url", type=postgres_url, help="postgresql://user:password@host:port/database"
    )
    to_postgres.set_defaults(func=cmd_copy_to_postgres)
    bi = commands.add_parser(
        "publish-postgres", help="copy the public marts to the PostgreSQL BI warehouse"
    )
    bi.add_argument(
        "url", nargs="?", type=postgres_url, help="postgresql://user:password@host:port/database"
    )
    bi.set_defaults(func=cmd_publish_postgres)
    on_postgres = commands.add_parser(
        "build-postgres", help="copy the lake into PostgreSQL and build the dbt project there"
    )
    on_postgres.add_argument(
        "url", nargs="?", type=postgres_url, help="postgresql://user:password@host:port/db"
    )
    on_postgres.set_defaults(func=cmd_build_postgres)
    commands.add_parser(
        "build-spark", help="build the dbt project on Spark in this process (local mode)"
    ).set_defaults(func=cmd_build_spark)
    advance = commands.add_parser(
        "advance", help="let days pass in the demo county's sources (new and changed rows)"
    )
    advance.add_argument(
        "--days", type=_whole_number(1), default=1, help="how many days (default 1)"
    )
    advance.set_defaults(func=cmd_advance)
    airflow = commands.add_parser("airflow", help="the airflow CLI with this project's settings")
    airflow.add_argument(
        "airflow_args", nargs=argparse.REMAINDER, help="the airflow command and its arguments"
    )
    airflow.set_defaults(func=cmd_airflow)
    parser.set_defaults(commands=commands.choices)
    for name, command in commands.choices.items():
        if name != "airflow":  # whose arguments are Airflow's own
            command.add_argument(
                "--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP
            )
    return parser


DEBUG_HELP = "on a failure, show the Python traceback (and log at debug level)"


def _check_before_work(args, unknown: list[str]) -> None:
    """What argparse does not check alone: an option the command does not have (with the one
    meant, as a prefix is never taken for it) and a range's order."""
    command = args.commands[args.command]
    if unknown:
        options = [o for action in command._actions for o in action.option_strings]
        guess = difflib.get_close_matches(unknown[0].split("=")[0], options, n=1, cutoff=0.6)
        command.error(
            f"unrecognized arguments: {' '.join(unknown)}"
            + (f" (did you mean {guess[0]}?)" if guess else "")
        )
    if args.command == "backfill" and args.first > args.last:
        command.error(f"--from {args.first} is after --to {args.last} (the range is empty)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    _check_before_work(args, unknown)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s" if args.debug else "%(message)s",
    )
    from sotelake.settings import ConfigurationError
    from sotelake.withholding import withheld_error

    command = f"sotelake {args.command}"
    try:
        return args.func(args)
    except UsageError as error:
        print(f"{command}: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # printed withheld: a driver's error quotes its URL's password
        safe = withheld_error(error)
        if args.debug:
            raise safe from None
        if isinstance(error, ConfigurationError):  # a setting or config file: fix, then re-run
            print(f"{command}: {safe}", file=sys.stderr)
            return 2
        print(
            f"{command} failed: {type(error).__name__}: {_first_lines(str(safe))}", file=sys.stderr
        )
        print(f"{command}: --debug shows the traceback", file=sys.stderr)
        return 1


def _first_lines(message: str, most: int = 5) -> str:
    """A failure's message, at most a few lines of it (a dbt or driver error can run long)."""
    lines = message.strip().splitlines() or [""]
    shown = "\n  ".join(lines[:most])
    return shown + (f"\n  ... ({len(lines) - most} more lines)" if len(lines) > most else "")


if __name__ == "__main__":
    sys.exit(main())
