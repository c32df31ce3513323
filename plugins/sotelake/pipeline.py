"""The pipeline's steps, in data-flow order; the DAG calls these, one task each.

extract (one load per registered table) -> validate (each load with its GX suite) -> transform
(one ``dbt build``) -> publish (reports) -> conclude (fail the run if anything was held
back). Each step takes and returns plain dicts, so it is the same whether Airflow, a test or
the command line calls it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date

from sotelake.errors import PermanentError
from sotelake.settings import DBT_TARGET_ENV, Settings, get_settings
from sotelake.sources.registry import all_tables, load_registry

log = logging.getLogger(__name__)


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
    from sotelake.publish import lineage
    from sotelake.quality.validate import Validator
    from sotelake.transform.changes import changed_tables

    settings = settings or get_settings()
    started = lineage.now()
    validator = Validator(run_id, settings)
    done = {(load["source"], load["table"]) for load in loaded}
    summaries, problems, held_back = [], [], set()
    for load in planned:
        key = (load["source"], load["table"])
        if key not in done:
            problems.append(f"{load['name']}: the load failed (see its extract task)")
            held_back.add(load["source"])
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
    _record_lineage(
        lambda: lineage.validation_events(summaries, settings, started, lineage_parent), settings
    )
    return {
        "summaries": summaries,
        "problems": problems,
        "held_back": sorted(held_back),
        "changed": changed_tables(summaries, settings),
        "load_date": planned[0]["load_date"] if planned else date.today().isoformat(),
    }


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
    models those tables feed are built, and only the marts rebuilt are checked again, when the
    previous build succeeded on the same project and settings (transform.changes); otherwise,
    and without ``changed``, everything is.

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
    target = build_target(settings, connection_lookup)
    previous, state = (
        changes.BuildState.read(settings),
        changes.BuildState.starting(settings, target.name),
    )
    select = None
    if changed is not None and previous and previous.allows_selection(state, settings):
        select = changes.selection(changed)
        log.info("building what the changed tables feed: %s", select)
    keep_views = changes.views_kept(previous, state, select is not None, held_back or [])
    dq_since = previous.started if select else None  # the quality files it has not read
    state.write(settings)  # not succeeded yet: should this build stop, the next builds all
    validator = Validator(run_id, settings, docs_site="marts")
    suites = build_mart_suites(settings.expectations / "specs.yml")
    # what the build adds to an incremental model is tested, and a mart it merges the day
    # into checked, on the rows published after the model's newest row before it
    newest = changes.newest_published(settings) if select else {}
    try:
        result = target.build(
            run_id,
            settings,
            select=select,
            exclude_sources=held_back,
            merge_changes=bool(select),
            keep_views=keep_views,
            dq_since=dq_since,
            newest_published=newest,
        )
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
    day = load_date or date.today()
    checks = [
        validator.validate_relation(
            relation, day, newest.get(relation) if relation in result.merged else None
        )
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
    target.rebuild_validation_results(run_id, settings, bool(select), dq_since)
    built["served"].update(serving.refresh(target, settings, ["dq.validation_results"]))
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
    from sotelake.publish.bi_warehouse import bi_warehouse_url, publish_to_postgres
    from sotelake.publish.gold import export_gold
    from sotelake.publish.indicator_report import render_indicator_report
    from sotelake.publish.packages import render_packages
    from sotelake.quality.steward_report import render_steward_report

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


def conclude(checked: dict) -> None:
    """Fail loudly when a load failed or a batch was rejected (the rest of the run went on)."""
    if checked["problems"]:
        raise RunHeldBack("Held back from the warehouse:\n" + "\n".join(checked["problems"]))


class RunHeldBack(PermanentError):
    """Some loads failed or were rejected; the other sources were processed."""


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
