"""Airflow assets: one per lake zone and per public mart, with a URI that says where it lies,
and asset events only for what a run changed, with extras (rows, load date, run, status).

Another DAG is scheduled on an asset by its name, whatever the deployment's paths:

    from airflow.sdk import Asset, dag

    @dag(schedule=Asset.ref(name="sotelake.warehouse.marts.indicator_values"))
    def refresh_county_dashboards(): ...

and reads the extras of the events that triggered it (``triggering_asset_events``).

The tasks declare asset aliases as outlets (``ALIASES``) and, as they finish, add an event for
each asset they changed (``add_events``): a load's raw and quarantine zones when it brought
rows (the validate task records them for every load, so that parallel loads never race to
create a zone's asset), the marts the dbt build rebuilt (none of those downstream of a
held-back source, none on a day that changed nothing), the gold zone, reports and BI warehouse
that publish wrote.

Cheap to import (the DAG file uses it): mart names come from the dbt project's files, not from
dbt.
"""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import Asset, AssetAlias

from sotelake.settings import Settings, get_settings

LAKE_ZONES = ("raw", "quarantine", "rejected", "dq", "gold")

# one alias per task: the assets it may change (Airflow records them under the alias)
ALIASES = {
    "validate": AssetAlias(name="sotelake.validate", group="lake"),
    "transform": AssetAlias(name="sotelake.transform", group="warehouse"),
    "publish": AssetAlias(name="sotelake.publish", group="published"),
}


def _uri(path) -> str:
    """A lake or data path as a URI: ``file:///...`` or the object store's ``s3://...``."""
    text = str(path)
    return text if "://" in text else Path(text).resolve().as_uri()


def lake_zone(zone: str, settings: Settings | None = None) -> Asset:
    if zone not in LAKE_ZONES:
        raise ValueError(f"unknown lake zone {zone!r}; zones are {', '.join(LAKE_ZONES)}")
    settings = settings or get_settings()
    return Asset(name=f"sotelake.lake.{zone}", uri=_uri(settings.lake / zone), group="lake")


def mart(relation: str, settings: Settings | None = None) -> Asset:
    """A public mart (``schema.model``) of the DuckDB warehouse file (which BI, the gold zone
    and the reports read, whichever engine built it)."""
    settings = settings or get_settings()
    schema, model = relation.split(".", 1)
    return Asset(
        name=f"sotelake.warehouse.{relation}",
        uri=f"duckdb://{settings.warehouse.resolve()}/{schema}/{model}",
        group="warehouse",
    )


def public_marts(settings: Settings | None = None) -> list[str]:
    """``schema.model`` of every public mart, from the dbt project: the models of the folders
    under ``models/marts`` whose ``+access`` in dbt_project.yml is public (a folder's, or its
    model's own), in their folder's ``+schema``. Read from the project's files (no dbt)."""
    from sotelake.settings import read_yaml

    settings = settings or get_settings()
    project = read_yaml(settings.dbt_project / "dbt_project.yml")
    config = project["models"]["sotelake"]["marts"]
    found = []
    for folder in sorted(p for p in (settings.dbt_project / "models" / "marts").iterdir()):
        if not folder.is_dir():
            continue
        settings_of = config.get(folder.name) or {}
        schema = settings_of.get("+schema", config.get("+schema"))
        access = settings_of.get("+access", config.get("+access"))
        for model in sorted(folder.glob("*.sql")):  # not the formulas/ views: a folder below
            own = settings_of.get(model.stem) or {}
            if own.get("+access", access) == "public":
                found.append(f"{schema}.{model.stem}")
    return found


def published_marts(settings: Settings | None = None) -> list[Asset]:
    """One asset per public mart."""
    return [mart(relation, settings) for relation in public_marts(settings)]


def reports(settings: Settings | None = None) -> Asset:
    settings = settings or get_settings()
    return Asset(name="sotelake.reports", uri=_uri(settings.reports), group="reports")


def bi_warehouse(url: str | None) -> Asset:
    """The PostgreSQL BI warehouse (its address without credentials), as its log of
    publications: every copy of the public marts adds a row to it (transform.bi_warehouse). A
    postgres:// asset names a table (Airflow's postgres provider checks it)."""
    from urllib.parse import urlsplit

    from sotelake.transform.bi_warehouse import INTERNAL_SCHEMA

    parts = urlsplit(url or "postgresql://localhost:5432/")
    database = parts.path.strip("/") or "postgres"
    address = (
        f"postgres://{parts.hostname}:{parts.port or 5432}/{database}/"
        f"{INTERNAL_SCHEMA}/publications"
    )
    return Asset(name="sotelake.bi_warehouse", uri=address, group="warehouse")


def _extra(run_id: str, status: str, **more) -> dict:
    return {"run_id": run_id, "status": status, **{k: v for k, v in more.items() if v is not None}}


def load_events(load: dict, run_id: str, settings: Settings | None = None) -> list[tuple]:
    """(asset, extra) of the zones a load changed: raw when it brought rows, quarantine when
    some were quarantined."""
    common = {
        "source": load["source"],
        "table": load["table"],
        "load_date": load["load_date"],
        "load_id": load.get("load_id"),
    }
    events = []
    if load.get("loaded"):
        events.append(
            (
                lake_zone("raw", settings),
                _extra(run_id, load["status"], rows=load["loaded"], **common),
            )
        )
    if load.get("quarantined"):
        events.append(
            (
                lake_zone("quarantine", settings),
                _extra(run_id, "quarantined", rows=load["quarantined"], **common),
            )
        )
    return events


def validation_events(checked: dict, run_id: str, settings: Settings | None = None) -> list[tuple]:
    """(asset, extra) of what validation changed: its results (dq zone) for every batch
    validated, the rejected zone per rejected batch, quarantine per batch with rows set aside."""
    events = []
    for summary in checked["summaries"]:
        if summary["status"] == "no_data":
            continue
        common = {
            "source": summary["source"],
            "table": summary["table"],
            "load_date": summary["load_date"],
            "load_id": summary["load_id"],
        }
        events.append(
            (
                lake_zone("dq", settings),
                _extra(run_id, summary["status"], rows=summary["rows"], **common),
            )
        )
        if summary["status"] == "rejected":
            events.append(
                (
                    lake_zone("rejected", settings),
                    _extra(run_id, "rejected", rows=summary["rows"], **common),
                )
            )
        if summary.get("quarantined_rows"):
            events.append(
                (
                    lake_zone("quarantine", settings),
                    _extra(run_id, "quarantined", rows=summary["quarantined_rows"], **common),
                )
            )
    return events


def mart_events(
    built: dict,
    run_id: str,
    load_date: str | None,
    held_back: list[str],
    settings: Settings | None = None,
) -> list[tuple]:
    """(asset, extra) of each public mart the build rebuilt whole or by day (``built``: the
    transform step's result; ``by_day``: the incremental marts that rebuilt only the days that
    changed); the marts it left alone (a held-back source's, or a quiet day's) get none."""
    settings = settings or get_settings()
    public = set(public_marts(settings))
    by_day = set(built.get("by_day") or {})
    changed = sorted(set(built.get("built") or []) & public)
    rows = _rows(settings, changed)
    return [
        (
            mart(relation, settings),
            _extra(
                run_id,
                "rebuilt_by_day" if relation in by_day else "rebuilt",
                rows=rows.get(relation),
                load_date=load_date,
                sources_held_back=held_back or None,
            ),
        )
        for relation in changed
    ]


def _rows(settings: Settings, relations: list[str]) -> dict[str, int]:
    """Rows of each relation of the DuckDB warehouse (a count is read from its metadata)."""
    if not relations:
        return {}
    from sotelake import engine

    con = engine.connect_warehouse(settings.warehouse)
    try:
        present = engine.tables(con)
        return {
            relation: con.execute(
                "select count(*) from " + ".".join(engine.quote(p) for p in relation.split("."))
            ).fetchone()[0]
            for relation in relations
            if relation in present
        }
    finally:
        con.close()


def publish_events(
    published: dict, run_id: str, bi_url: str | None, settings: Settings | None = None
) -> list[tuple]:
    """(asset, extra) of what publish wrote: the reports, the gold zone and, when it was
    copied to, the BI warehouse."""
    import json

    from sotelake.lake import storage

    settings = settings or get_settings()
    events = [(reports(settings), _extra(run_id, "rendered"))]
    manifest = json.loads(storage.read_text(settings.lake / "gold" / "manifest.json") or "{}")
    tables = manifest.get("tables", [])
    events.append(
        (
            lake_zone("gold", settings),
            _extra(run_id, "exported", rows=sum(t["rows"] for t in tables), tables=len(tables)),
        )
    )
    if "bi_warehouse" in published:
        events.append((bi_warehouse(bi_url), _extra(run_id, "copied")))
    return events


def add_events(outlet_events, task: str, events: list[tuple]) -> None:
    """Record each (asset, extra) as an event of the task's alias (``ALIASES``)."""
    accessor = outlet_events[ALIASES[task]]
    for asset, extra in events:
        accessor.add(asset, extra=extra)


def task_lineage_parent(context) -> dict | None:
    """The OpenLineage run Airflow's provider gives the running task: the parent of the runs
    its step emits (publish.lineage), so that they hang under the task in Marquez or DataHub."""
    try:
        from airflow.providers.openlineage.plugins import macros
    except ImportError:  # the provider is not installed: the runs have no parent
        return None
    ti = context["ti"]
    return {
        "run_id": macros.lineage_run_id(ti),
        "job_name": macros.lineage_job_name(ti),
        "job_namespace": macros.lineage_job_namespace(),
        "root_run_id": macros.lineage_root_run_id(ti),
        "root_job_name": macros.lineage_root_job_name(ti),
        "root_job_namespace": macros.lineage_root_job_namespace(ti),
    }
