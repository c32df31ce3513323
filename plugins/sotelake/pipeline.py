"""The pipeline's steps, in data-flow order; the DAG calls these, one task each.

extract (one load per registered table) -> validate (each load with its GX suite) -> transform
(one ``dbt build``) -> publish (reports). Each step takes and returns plain dicts, so it is the same
whether Airflow, a test or the command line calls it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import date

from sotelake.settings import Settings, get_settings
from sotelake.sources.registry import all_tables, load_registry

log = logging.getLogger(__name__)


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
) -> dict:
    from sotelake.lake.load import load_table

    settings = settings or get_settings()
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
    return {**load, **asdict(result)}


def validate(loads: list[dict], run_id: str, settings: Settings | None = None) -> list[dict]:
    """Validate every load of the run, in one process (GX is imported once).

    Every load is validated and its results stored before a critical failure is raised, so one
    rejected table does not hide the state of the others.
    """
    from sotelake.quality.validate import CriticalExpectationFailed, validate_load

    validated, rejected = [], []
    for load in loads:
        try:
            summary = validate_load(
                load["source"],
                load["table"],
                date.fromisoformat(load["load_date"]),
                run_id,
                settings,
            )
        except CriticalExpectationFailed as failure:
            rejected.append(str(failure))
            continue
        validated.append({**load, "validation": asdict(summary)})
    if rejected:
        raise CriticalExpectationFailed("\n".join(rejected))
    return validated


def transform(run_id: str, settings: Settings | None = None) -> dict:
    from sotelake.transform.dbt_build import build

    return asdict(build(run_id, settings))


def publish(run_id: str, settings: Settings | None = None) -> dict:
    from sotelake.publish.indicator_report import render_indicator_report
    from sotelake.quality.steward_report import render_steward_report

    settings = settings or get_settings()
    return {
        "indicator_report": str(render_indicator_report(settings, run_id)),
        "steward_report": str(render_steward_report(settings)),
        "warehouse": str(settings.warehouse),
    }
