"""What a run changed, so that the warehouse build does only the work those changes need.

A daily run brings a day of changes to a few tables; the rest of the lake is as it was. The
build then selects the models downstream of the tables that changed (``source:<src>.<table>+``)
and of the lake's quality records (``source:lake_dq+``, which every run changes); the other
models keep what the previous build made from the same inputs.

A table changed in a run when its load brought rows: an incremental load's rows are the changes
of its window; a full load (the whole table again, every day) counts only when its rows differ
from the table's previous load. Within the selected models, the facts and indicators rebuild
only the days and years the changes touch (dbt/macros/history.sql).

The selection is used only when it is safe (``BuildState``): after a previous build that
succeeded with the same dbt project, settings, engine, lake and warehouse. Anything else builds
everything: a first build, a failed one, a changed model, seed, macro or cell size, a lake or
warehouse that moved, and a change to a reference table (a full table: units, the cost-centre
mapping, the population), which every period depends on.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sotelake.lake import storage, zones
from sotelake.settings import Settings

if TYPE_CHECKING:
    from sotelake.lake.storage import LakePath

log = logging.getLogger(__name__)

LINEAGE = ("_load_id", "_load_date", "_extracted_at", "_published_at", "_source_system")


def changed_tables(summaries: list[dict], settings: Settings) -> list[str]:
    """``source.table`` of the validated loads that changed the lake's raw zone (see above)."""
    from sotelake.sources.registry import load_registry

    registry = load_registry(settings.config_dir / "sources.yml")
    changed = []
    for summary in summaries:
        if summary["status"] in ("no_data", "rejected") or not summary["rows"]:
            continue
        source, table, day = summary["source"], summary["table"], summary["load_date"]
        full = registry[source].tables[table].mode == "full"
        if full and _same_as_previous_load(settings.lake, source, table, date.fromisoformat(day)):
            log.info("%s.%s: the same rows as its previous load", source, table)
            continue
        changed.append(f"{source}.{table}")
    return sorted(changed)


def _same_as_previous_load(lake: LakePath, source: str, table: str, load_date: date) -> bool:
    """The load's raw rows equal those of the table's latest earlier load (lineage aside)."""
    this = zones.partition(lake, zones.RAW, source, table, load_date)
    earlier = [
        p for p in storage.files(this.parent, "load_date=*") if p.name < this.name
    ]  # partitions of earlier load dates (those rejected are elsewhere)
    if not earlier:
        return False

    def rows(partition: LakePath):
        data = storage.read_table(storage.files(partition), partitioning=None)
        return data.drop_columns([c for c in LINEAGE if c in data.column_names])

    return rows(earlier[-1]).equals(rows(this))


# A file is read again when written up to this long before the previous build began: the lake's
# writers and an object store may keep different clocks. Reading a load again changes nothing.
CLOCK_MARGIN = timedelta(hours=1)


def dq_changes(lake: LakePath, since: datetime) -> dict[str, list[str]]:
    """What a daily build reads of the lake's quality records (dbt/macros/dq_changes.sql): the
    audit and validation-results files written since ``since`` (the previous build's start,
    less ``CLOCK_MARGIN``), and the quarantine, raw and rejected files of the loads those audit
    files are of. Every load writes its audit last, also when it runs again."""
    after = since - CLOCK_MARGIN
    audit = storage.modified_since(lake / zones.DQ / "load_audit", after)
    changed = {
        "load_audit": audit,
        "validation_results": storage.modified_since(lake / zones.DQ / "validation_results", after),
    }
    loads = [zones.dq_file_load(path) for path in audit]
    for zone in (zones.QUARANTINE, zones.RAW, zones.REJECTED):
        changed[zone] = [
            file for load in loads for file in storage.files(zones.partition(lake, zone, *load))
        ]
    log.info(
        "quality records written since %s: %s",
        after.isoformat(timespec="seconds"),
        ", ".join(f"{len(files)} {kind}" for kind, files in changed.items()),
    )
    return {kind: [str(file) for file in files] for kind, files in changed.items()}


def selection(changed: list[str], settings: Settings) -> str | None:
    """The dbt selection of the models (and their tests) that the changed tables feed, and
    marts.indicator_values, whose periods become final as days pass; None when a reference
    table (mode: full) changed: every period depends on those."""
    from sotelake.sources.registry import all_tables, load_registry

    registry = load_registry(settings.config_dir / "sources.yml")
    tables = {table.qualified_name: table for table in all_tables(registry)}
    reference = [name for name in changed if tables[name].mode == "full"]
    if reference:
        log.info("reference data changed (%s): everything is built", ", ".join(reference))
        return None
    missing = models_not_built(settings)
    if missing:
        # a model an earlier build left out (its source held back on the first build) may be
        # read by one the changes feed (a cost per visit reads the ledger and the visits)
        log.info("not in the warehouse (%s): everything is built", ", ".join(missing[:5]))
        return None
    fed = [f"source:{name}+" for name in changed]
    return " ".join([*fed, "source:lake_dq+", "indicator_values"])


def models_not_built(settings: Settings) -> list[str]:
    """The models of the previous build's manifest that are not in the DuckDB warehouse (none
    when there is no manifest or warehouse to compare)."""
    from sotelake import engine

    manifest_path = settings.data_dir / "dbt" / "target" / "manifest.json"
    if not manifest_path.exists() or not settings.warehouse.exists():
        return []
    nodes = json.loads(manifest_path.read_text())["nodes"].values()
    con = engine.connect_warehouse(settings.warehouse)
    try:
        present = engine.tables(con)
    finally:
        con.close()
    return sorted(
        node["name"]
        for node in nodes
        if node["resource_type"] == "model"
        and node["config"].get("materialized") != "ephemeral"
        and f"{node['schema']}.{node['alias']}" not in present
    )


@dataclass
class BuildState:
    """What the previous build was made from: ``<data>/dbt/build_state.json``."""

    fingerprint: str  # the dbt project, its settings, the engine and where it reads and writes
    target: str  # the engine: duckdb | postgres | spark
    succeeded: bool
    started_at: str | None = None  # when the build began (UTC, ISO 8601): see ``dq_changes``

    @staticmethod
    def path(settings: Settings) -> Path:
        return settings.data_dir / "dbt" / "build_state.json"

    @classmethod
    def starting(cls, settings: Settings, target: str) -> BuildState:
        """The state of a build about to run on ``target`` (not succeeded until it has)."""
        started = datetime.now(UTC).isoformat()
        return cls(fingerprint(settings, target), target, succeeded=False, started_at=started)

    def allows_selection(self, next_build: BuildState, settings: Settings) -> bool:
        """Whether ``next_build`` may build only what its changes feed, this being the state
        the previous build left: it succeeded, from the same project, settings and engine, and
        its warehouse is still there."""
        return (
            self.succeeded
            and self.fingerprint == next_build.fingerprint
            and (self.target != "duckdb" or settings.warehouse.exists())
        )

    @property
    def started(self) -> datetime | None:
        return datetime.fromisoformat(self.started_at) if self.started_at else None

    @classmethod
    def forget(cls, settings: Settings) -> None:
        """The next build builds everything (a build outside the daily run changed models)."""
        cls.path(settings).unlink(missing_ok=True)

    @classmethod
    def read(cls, settings: Settings) -> BuildState | None:
        try:
            return cls(**json.loads(cls.path(settings).read_text()))
        except (FileNotFoundError, TypeError, ValueError):
            return None

    def write(self, settings: Settings) -> None:
        path = self.path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)))
        tmp.replace(path)


def project_digest(project: Path) -> str:
    """SHA-256 of the dbt project's own files (models, macros, seeds, tests, project and
    profiles) and of dbt's version: what the documentation is generated from."""
    import hashlib

    from dbt.version import __version__ as dbt_version

    digest = hashlib.sha256(dbt_version.encode())
    generated = {"target", "logs", "dbt_packages"}
    for file in sorted(project.rglob("*")):
        relative = file.relative_to(project)
        if file.is_file() and relative.parts[0] not in generated:
            digest.update(relative.as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def fingerprint(settings: Settings, target: str) -> str:
    """What every model depends on besides the lake's rows: the project files (models, macros,
    seeds), the settings the models read, the engine that builds them, and where the lake and
    the warehouse are (a moved data folder is read again whole, from its new place)."""
    return (
        f"{project_digest(settings.dbt_project)}:{target}:cells={settings.min_cell_size}"
        f":close_days={settings.period_close_days}"
        f":lake={settings.lake}:warehouse={settings.warehouse}"
    )


def days_rebuilt(settings: Settings, by_day: dict[str, str | None]) -> dict[str, tuple[str, date]]:
    """For the models a build rebuilt by day (``DbtResult.by_day``: ``schema.model`` -> the
    column of the day), the column and the first day it rebuilt, from the build's record
    (dbt/macros/history.sql: intermediate.rebuilds). A model whose changes touched nothing is
    left out; so is one without a day column."""
    from sotelake import engine

    models = {relation.split(".")[1]: relation for relation, column in by_day.items() if column}
    if not models:
        return {}
    con = engine.connect_warehouse(settings.warehouse)
    try:
        rows = con.execute(
            "select model, rebuilt_from from intermediate.rebuilds "
            "where model in (select unnest(?)) "
            "qualify row_number() over (partition by model order by recorded_at desc) = 1",
            [list(models)],
        ).fetchall()
    finally:
        con.close()
    return {
        models[model]: (by_day[models[model]], since) for model, since in rows if since is not None
    }


# The models that publish every indicator (dbt tag): a held-back source does not keep them from
# being built, when the models they read of that source are in the warehouse as last built.
EVERY_INDICATOR = "every_indicator"


def held_back_exclusion(settings: Settings, held_back: list[str]) -> list[str] | None:
    """What a DuckDB build leaves out for the held-back sources: every model downstream of them
    but those tagged every_indicator, so the indicators that do not read those sources are
    built, and those that do keep the values of the last build that had them (their models
    are left as they were). None (leave out everything downstream) when there is no previous
    build's manifest, or a model those read is not in the warehouse (a first build)."""
    from sotelake import engine

    if not held_back:
        return []
    manifest_path = settings.data_dir / "dbt" / "target" / "manifest.json"
    if not manifest_path.exists() or not settings.warehouse.exists():
        return None
    manifest = json.loads(manifest_path.read_text())
    nodes, children = manifest["nodes"], manifest["child_map"]
    frontier = [
        unique_id
        for unique_id, source in manifest["sources"].items()
        if source["source_name"] in held_back
    ]
    downstream: set[str] = set()
    while frontier:
        node = frontier.pop()
        for child in children.get(node, []):
            if child not in downstream and child.startswith("model."):
                downstream.add(child)
                frontier.append(child)
    kept = {n for n in downstream if EVERY_INDICATOR in nodes[n]["config"].get("tags", [])}
    excluded = downstream - kept
    read = {p for n in kept for p in nodes[n]["depends_on"]["nodes"] if p in excluded}
    con = engine.connect_warehouse(settings.warehouse)
    try:
        present = engine.tables(con)
    finally:
        con.close()
    if any(f"{nodes[n]['schema']}.{nodes[n]['alias']}" not in present for n in read):
        return None
    return sorted(nodes[n]["name"] for n in excluded)
