"""The pipeline's steps, in data-flow order; the DAG calls these, one task each.

extract (one load per registered table) -> validate (each load with its GX suite) -> transform
(one ``dbt build``) -> publish (reports) -> conclude (fail the run if anything was held
back). Each step takes and returns plain dicts, so it is the same whether Airflow, a test or
the command line calls it.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

from sotelake.errors import PermanentError
from sotelake.settings import DBT_TARGET_ENV, Settings, get_settings
from sotelake.sources.registry import all_tables, load_registry

log = logging.getLogger(__name__)


def check_key(key: bytes, settings: Settings | None = None) -> str:
    """Before any load: the key must be the one that made the lake's pseudonyms (a new lake
    records it). Returns its fingerprint; raises ``KeyMismatch`` (lake.pseudonym_key)."""
    from sotelake.lake import pseudonym_key

    return pseudonym_key.guard((settings or get_settings()).lake, key)


def _record_lineage(make_events: Callable[[], list], settings: Settings) -> int:
    """Emit a step's OpenLineage events (publish.lineage); never fails the step."""
    from sotelake.publish import lineage

    if lineage.transport_config(settings) is None:
        return 0
    started = time.perf_counter()
    try:
        with lineage.producing():
            events = make_events()
        sent = lineage.emit(events, settings)
    except Exception as error:  # lineage records the work: it is never why the work failed
        log.warning("OpenLineage events not made: %s", error, exc_info=True)
        return 0
    log.info("OpenLineage: %d events made and sent in %.3f s", sent, time.perf_counter() - started)
    return sent


def plan_loads(load_date: date, settings: Settings | None = None) -> list[dict]:
    """One load per table of the source registry."""
    settings = settings or get_settings()
    registry = load_registry(settings.config_dir / "sources.yml")
    return [
        {
            "source": t.source,
            "table": t.name,
            "load_date": load_date.isoformat(),
            "name": t.qualified_name,
        }
        for t in all_tables(registry)
    ]


def extract(
    load: dict,
    key: bytes,
    connection_lookup: Callable[[str], str | None] | None = None,
    settings: Settings | None = None,
    lineage_parent: dict | None = None,
) -> dict:
    """Load one table into the raw zone. ``lineage_parent`` (the Airflow task's OpenLineage
    run, as in every step below) makes the load's OpenLineage run a child of it."""
    from sotelake.lake.load import load_table
    from sotelake.publish import lineage

    settings = settings or get_settings()
    check_key(key, settings)  # every load, whoever calls it: no pseudonym from another key
    started = lineage.now()
    registry = load_registry(settings.config_dir / "sources.yml")
    source = registry[load["source"]]
    result = load_table(
        source,
        source.tables[load["table"]],
        date.fromisoformat(load["load_date"]),
        key,
        settings,
        connection_lookup,
    )
    loaded = {**load, **asdict(result)}
    _record_lineage(
        lambda: lineage.load_events(loaded, settings, started, lineage_parent, connection_lookup),
        settings,
    )
    return loaded


def validate(
    planned: list[dict],
    loaded: list[dict],
    run_id: str,
    settings: Settings | None = None,
    lineage_parent: dict | None = None,
) -> dict:
    """Validate every load that ran (GX imported once); say what was rejected or failed.

    ``planned`` are the loads the run meant to do, ``loaded`` those whose extraction finished;
    the difference failed (its error is in its own task's log). Returns the summaries, the
    sources whose batches were rejected or failed to load (their models are left out of the
    warehouse build), a one-line verdict per problem, and the tables whose loads changed the
    raw zone (the build does what they feed: transform.changes).
    """
    from sotelake.lake import open_items
    from sotelake.publish import lineage
    from sotelake.quality.validate import Validator
    from sotelake.transform.changes import changed_tables

    settings = settings or get_settings()
    started = lineage.now()
    validator = Validator(run_id, settings)
    done = {(load["source"], load["table"]) for load in loaded}
    summaries, problems, held_back, unfinished = [], [], set(), []
    for load in planned:
        key = (load["source"], load["table"])
        if key not in done:
            problems.append(f"{load['name']}: the load failed (see its extract task)")
            held_back.add(load["source"])
            unfinished.append(load)
            continue
        summary = validator.validate_load(
            load["source"], load["table"], date.fromisoformat(load["load_date"])
        )
        summaries.append(asdict(summary))
        if summary.status == "rejected":
            problems.append(
                f"{load['name']}: batch rejected by critical expectations: "
                + "; ".join(summary.failing)
            )
            held_back.add(load["source"])
    validator.finish()
    _note_unfinished(settings, unfinished)
    registry = load_registry(settings.config_dir / "sources.yml")
    if opened := open_items.sweep(settings.lake, registry, settings.landing):
        log.warning("open items without a record until now: %s", [i["item_id"] for i in opened])
    _record_lineage(
        lambda: lineage.validation_events(summaries, settings, started, lineage_parent), settings
    )
    return {
        "summaries": summaries,
        "problems": problems,
        "held_back": sorted(held_back),
        "changed": changed_tables(summaries, settings),
        "load_date": planned[0]["load_date"] if planned else date.today().isoformat(),
        "run_id": run_id,
    }


def _note_unfinished(settings: Settings, unfinished: list[dict]) -> None:
    """A load whose task ended without recording its failure (killed, out of memory) is an
    open item too; one the load recorded keeps its own error."""
    from sotelake.lake import open_items

    def change(items: list[dict]) -> None:
        failing = {
            (i["source"], i["table_name"])
            for i in items
            if i["status"] == open_items.OPEN and i["kind"] == open_items.FAILED_LOAD
        }
        for load in unfinished:
            if (load["source"], load["table"]) in failing:  # recorded, with its own error
                continue
            day = date.fromisoformat(load["load_date"])
            found = open_items.Found(
                open_items.FAILED_LOAD,
                load["source"],
                load["table"],
                day,
                "the load did not finish (its extract task's log says why)",
                "fix the cause, then "
                + open_items.replay_command(load["source"], load["table"], day, from_source=True),
            )
            open_items.record(items, found)

    if unfinished:
        open_items.update(settings.lake, change)


def transform(
    run_id: str,
    held_back: list[str] | None = None,
    load_date: date | None = None,
    settings: Settings | None = None,
    connection_lookup: Callable[[str], str | None] | None = None,
    changed: list[str] | None = None,
    lineage_parent: dict | None = None,
) -> dict:
    """Build the warehouse on the configured engine (``SOTELAKE_DBT_TARGET``: DuckDB, PostgreSQL
    or Spark), check the published marts with their GX suites, and write the warehouse's
    documentation (dbt docs: here, where dbt is already loaded).

    With ``changed`` (the tables whose loads changed the raw zone, from ``validate``), only the
    models those tables feed are built, when the previous build succeeded on the same project,
    settings, engine and data folders (transform.changes); within them, the facts and
    indicators rebuild only the days and years the changes touch, and the marts' checks read
    those. Otherwise, and without ``changed``, everything is built (the history of published
    values is kept).

    After a PostgreSQL or Spark build, its public schemas are copied into the DuckDB file that
    the checks and publish read (transform.serving), also when some models failed: publish
    shows what was built, as after a failed DuckDB build. The models downstream of held-back
    sources keep their last state. The marts' results go to dq.validation_results (refreshed
    after the check); a failed critical expectation on a mart fails the step after everything
    is recorded.
    """
    from sotelake.publish import dbt_lineage, lineage
    from sotelake.quality.suite_spec import build_mart_suites
    from sotelake.quality.validate import Validator
    from sotelake.transform import changes, serving
    from sotelake.transform.dbt_build import DbtBuildError, publish_docs
    from sotelake.transform.targets import build_target

    settings = settings or get_settings()
    day = load_date or date.today()
    target = build_target(settings, connection_lookup)
    previous, state = (
        changes.BuildState.read(settings),
        changes.BuildState.starting(settings, target.name),
    )
    select = None
    if changed is not None and previous and previous.allows_selection(state, settings):
        select = changes.selection(changed, settings)
        if select:
            log.info("building what the changed tables feed: %s", select)
    dq_since = previous.started if select else None  # the quality files it has not read
    state.write(settings)  # not succeeded yet: should this build stop, the next builds all
    validator = Validator(run_id, settings, docs_site="marts")
    suites = build_mart_suites(settings.expectations / "specs.yml")
    # what each staging model holds before the build: its lineage names the loads it took in
    newest = {}
    if select and target.name == "duckdb" and lineage.enabled():
        newest = dbt_lineage.newest_published(settings)
    exclude = None
    if held_back and target.name == "duckdb":
        exclude = changes.held_back_exclusion(settings, held_back)
        log.info("held back %s: left out %s", held_back, exclude or "everything downstream")
    try:
        result = target.build(run_id, settings, select, held_back, dq_since, day, exclude)
        built = asdict(result)
    except DbtBuildError:
        try:  # publish shows what did build, as after a failed DuckDB build
            serving.refresh(target, settings)
        except Exception as error:  # the build's error is the one to raise
            log.warning("the serving copy keeps its last state: %s", error)
        _record_lineage(  # the failed models' FAIL events too
            lambda: dbt_lineage.build_events(settings, target.env, lineage_parent, newest),
            settings,
        )
        raise
    # the models and tests of the build (before the marts' checks add their own results)
    built["lineage_events"] = _record_lineage(
        lambda: dbt_lineage.build_events(settings, target.env, lineage_parent, newest), settings
    )
    checked_from = lineage.now()
    built["target"], built["selected"] = target.name, select
    built["served"] = serving.refresh(target, settings)
    rebuilt = changes.days_rebuilt(settings, result.by_day)
    checks = [
        validator.validate_relation(relation, day, rebuilt.get(relation))
        for relation in suites
        if select is None or relation in result.built  # the others are as last checked
    ]
    validator.finish()
    built["lineage_events"] += _record_lineage(
        lambda: lineage.mart_check_events(
            [asdict(c) for c in checks], settings, checked_from, lineage_parent
        ),
        settings,
    )
    target.rebuild_validation_results(run_id, settings, dq_since)
    records = ["dq.validation_results", "dq.validation_examples"]
    built["served"].update(serving.refresh(target, settings, records))
    built["dbt_docs"] = str(publish_docs(settings, target.env))
    failed = [f"{c.table}: {'; '.join(c.failing)}" for c in checks if c.status == "failed"]
    if failed:
        raise MartCheckFailed("Published marts failed critical expectations:\n" + "\n".join(failed))
    state.succeeded = True  # the next build may select what its changes feed
    state.write(settings)
    return {**built, "mart_checks": [asdict(c) for c in checks]}


class MartCheckFailed(PermanentError):
    """A published mart broke a critical expectation (the results are in the steward report)."""


def publish(
    run_id: str,
    settings: Settings | None = None,
    connection_lookup: Callable[[str], str | None] | None = None,
    lineage_parent: dict | None = None,
) -> dict:
    """What the build feeds: the reports for people (indicators, sote information packages,
    the steward report), the gold Parquet zone and, when one is configured, the PostgreSQL BI
    warehouse. All read the DuckDB file, whichever engine built it (transform.serving); on
    the postgres target the BI warehouse is where the build ran, so there is nothing to copy."""
    from sotelake.publish import lineage
    from sotelake.publish.gold import export_gold
    from sotelake.publish.indicator_report import render_indicator_report
    from sotelake.publish.packages import render_packages
    from sotelake.publish.steward_report import render_steward_report
    from sotelake.transform.bi_warehouse import bi_warehouse_url, publish_to_postgres

    settings = settings or get_settings()
    packages = render_packages(settings, run_id=run_id)
    gold_started = lineage.now()
    published = {
        "indicator_report": str(render_indicator_report(settings, run_id)),
        "packages": str(packages[-1]) if packages else None,
        "steward_report": str(render_steward_report(settings)),
        "gold_manifest": str(export_gold(settings, run_id)),
        "warehouse": str(settings.warehouse),
    }
    _record_lineage(
        lambda: lineage.gold_events(
            settings.lake / "gold" / "manifest.json", settings, gold_started, lineage_parent
        ),
        settings,
    )
    if settings.dbt_target == "postgres":
        log.info("BI warehouse: built there by dbt (%s=postgres)", DBT_TARGET_ENV)
    elif url := bi_warehouse_url(connection_lookup):
        published["bi_warehouse"] = asdict(publish_to_postgres(url, settings, run_id))
    return published


def conclude(checked: dict, run_id: str | None = None, settings: Settings | None = None) -> dict:
    """Fail loudly while anything is open: a load that failed, a batch rejected, a file set
    aside, a delivery late, of this run or of any earlier one (lake/open_items.py), saying
    which items are new since the previous run, which persist and which were resolved. The
    failure is what alerts (the task's on_failure_callback)."""
    from sotelake.lake import open_items

    settings = settings or get_settings()
    run_id = run_id or checked.get("run_id") or "manual"
    found = open_items.conclude(settings.lake, run_id)
    verdict = {
        "new": [i["item_id"] for i in found.new],
        "persisting": [i["item_id"] for i in found.persisting],
        "resolved": [i["item_id"] for i in found.resolved],
    }
    for item in found.resolved:
        log.info("resolved since the previous run: %s: %s", item["item_id"], item["resolution"])
    if found.open:
        raise RunHeldBack(verdict_text(found))
    return verdict


def verdict_text(found) -> str:
    """The open items, new ones first, and what was resolved since the previous run."""
    from sotelake.lake import open_items

    lines = [
        f"{len(found.open)} open item{'s' if len(found.open) != 1 else ''} "
        f"({len(found.new)} new, {len(found.persisting)} persisting since the previous run); "
        f"{len(found.resolved)} resolved since then"
    ]
    for label, items in (("new", found.new), ("persisting", found.persisting)):
        lines += [f"{label}: {open_items.describe(item, short=True)}" for item in items]
    lines += [f"resolved: {i['item_id']}: {i['resolution'][:160]}" for i in found.resolved]
    lines.append('dismiss one after deciding it needs no fix: sotelake dismiss ITEM --reason "..."')
    return "\n".join(lines)


class RunHeldBack(PermanentError):
    """Something is open (this run's problem or an earlier one's); the rest was processed."""


def replay(
    qualified_table: str,
    load_date: date,
    key: bytes,
    run_id: str,
    from_source: bool = False,
    settings: Settings | None = None,
) -> dict:
    """Re-run one load after a fix, without duplicating anything.

    A batch a critical expectation rejected is put back and validated again with the suites as
    they are now (the fix was in the rules); with ``from_source`` (or when nothing was
    rejected) the load is extracted again from the source (the fix was in the source), which
    replaces its partition, quarantine and audit. Then the warehouse is rebuilt downstream of
    the source and the reports are published.
    """
    from sotelake.quality.validate import Validator, restore_rejected

    settings = settings or get_settings()
    check_key(key, settings)
    source, table = qualified_table.split(".", 1)
    restored = not from_source and restore_rejected(source, table, load_date, settings)
    if not restored:
        extract(
            {
                "source": source,
                "table": table,
                "load_date": load_date.isoformat(),
                "name": qualified_table,
            },
            key,
            settings=settings,
        )
    validator = Validator(run_id, settings)
    summary = validator.validate_load(source, table, load_date)
    validator.finish()
    result = {
        "action": "restored the rejected batch" if restored else "extracted again",
        "validation": asdict(summary),
    }
    if summary.status == "rejected":
        result["built"] = None
        log.warning("%s %s is still rejected: %s", qualified_table, load_date, summary.failing)
        return result
    from sotelake.lake.audit import held_back_sources
    from sotelake.transform import serving
    from sotelake.transform.changes import BuildState
    from sotelake.transform.targets import build_target

    # downstream of the source, and the dq tables that tell what the replay changed; models
    # that also read a source still held back keep their last state
    target = build_target(settings)
    BuildState.forget(settings)  # the next daily run builds everything after this partial build
    result["built"] = asdict(
        target.build(
            run_id,
            settings,
            select=f"source:{source}+ source:lake_dq+",
            exclude_sources=held_back_sources(settings.lake),
        )
    )
    serving.refresh(target, settings)
    result["published"] = publish(run_id, settings)
    return result


def rotate_key(
    key: bytes, retire_to: Path | None = None, settings: Settings | None = None
) -> dict[str, str]:
    """Start a new lake for a new pseudonymisation key (``sotelake rotate-key``).

    Pseudonyms cannot be made again from the lake (it holds no henkilötunnus), so a new key
    means a new lake, extracted again from the sources: the lake, the warehouse built from it
    (its person-level marts hold the old pseudonyms) and the dbt build state move into
    ``retire_to`` (default ``<data>/retired/<UTC time>``), nothing is deleted, and the new
    lake records the new key's fingerprint. The next run extracts everything the sources hold.
    Returns what moved where. A lake on an object store is not moved: point ``SOTELAKE_LAKE``
    at a new prefix instead (docs/privacy.md)."""
    from sotelake.lake import pseudonym_key, storage
    from sotelake.transform.changes import BuildState

    settings = settings or get_settings()
    lake = settings.lake
    record = pseudonym_key.recorded(lake)
    new = pseudonym_key.fingerprint(key)
    if record is None:
        raise KeyRotationError(
            f"The lake {lake} records no key yet: there is nothing to rotate (its next run "
            f"records the key it is given, fingerprint {new[: pseudonym_key.SHOWN]})."
        )
    if record["fingerprint"] == new:
        raise KeyRotationError(
            f"The key configured now is the lake's own (fingerprint {new[: pseudonym_key.SHOWN]}): "
            "configure the new key (SOTELAKE_PSEUDONYM_KEY, SOTELAKE_PSEUDONYM_KEY_FILE or the "
            "Airflow Variable sotelake_pseudonym_key), then rotate."
        )
    if storage.on_object_store(lake):
        raise KeyRotationError(
            f"The lake {lake} is on an object store, where moving it means copying every "
            "object: set SOTELAKE_LAKE to a new, empty prefix instead (the next run records "
            "the new key there), and keep or delete the old prefix by the county's rules."
        )
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    retire_to = retire_to or settings.data_dir / "retired" / stamp
    retire_to.mkdir(parents=True, exist_ok=False)
    moved = {}
    candidates = [lake, *settings.warehouse.parent.glob(settings.warehouse.name + "*")]
    candidates.append(settings.data_dir / "spark-warehouse")
    for path in candidates:
        if path.exists():
            target = retire_to / path.name
            shutil.move(path, target)
            moved[str(path)] = str(target)
    BuildState.forget(settings)  # the next build is a whole one
    (retire_to / "README.txt").write_text(
        f"Retired by `sotelake rotate-key` at {stamp}: the lake and warehouse of the\n"
        f"pseudonymisation key of fingerprint {record['fingerprint'][: pseudonym_key.SHOWN]}.\n"
        "Pseudonymised personal data: keep or delete it by the county's retention rules.\n",
        encoding="utf-8",
    )
    pseudonym_key.guard(lake, key)  # the new lake records its key before its first load
    log.warning(
        "pseudonymisation key rotated: fingerprint %s -> %s; retired %s",
        record["fingerprint"][: pseudonym_key.SHOWN],
        new[: pseudonym_key.SHOWN],
        moved,
    )
    return moved


class KeyRotationError(PermanentError):
    """The key cannot be rotated as asked; the message says why and what to do."""
