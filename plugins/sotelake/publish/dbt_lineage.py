"""OpenLineage events of a dbt build, from its manifest and run results (docs/lineage.md).

openlineage-dbt's ``dbt-ol`` wraps the dbt command line; the pipeline runs dbt in-process
(dbtRunner), so the events are made here with the same library code
(``openlineage.common.provider.dbt``, from openlineage-integration-common) from the artifacts
the build leaves in its target folder: a START and a COMPLETE (or FAIL) for every model it ran,
and a test run per tested model (its tests as data-quality assertions) and per singular test.

What this adds to openlineage-dbt's events:

- a source that DuckDB reads from the lake (``meta.external_location``) is named as the lake
  table it is (its folder: ``lake.lake_dataset``), whatever the engine, so the dbt graph joins
  the loads' events; the engine's table is kept as a symlink. Its input facet names the raw
  partitions the model took in (the loads of the rows it added);
- the columns of each model built, read from the warehouse (DuckDB's catalogue), the rows of
  each table built (a table's count is free there; a view's would run its query, so a view
  has no row count), and the owner of each model's group;
- every event is a child run of the Airflow task that ran the build.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from sotelake.publish import lineage
from sotelake.settings import Settings

log = logging.getLogger(__name__)


def _processor_class():
    from openlineage.common.provider.dbt.local import DbtLocalArtifactProcessor

    class Processor(DbtLocalArtifactProcessor):
        """openlineage-dbt's processor, with the lake's sources named as lake tables."""

        lake_sources: dict[str, tuple[str, str]] = {}

        def extract_dataset_data(self, node, assertions, has_facets=False):
            namespace, name, facets, input_facets = super().extract_dataset_data(
                node, assertions, has_facets
            )
            unique_id = node.metadata_node.get("unique_id", "")
            if unique_id in self.lake_sources:
                from openlineage.client.generated import symlinks_dataset

                facets["symlinks"] = symlinks_dataset.SymlinksDatasetFacet(
                    identifiers=[
                        symlinks_dataset.Identifier(namespace=namespace, name=name, type="TABLE")
                    ]
                )
                facets.pop("dataSource", None)
                namespace, name = self.lake_sources[unique_id]
            return namespace, name, facets, input_facets

    return Processor


def _lake_sources(manifest: dict, settings: Settings) -> dict[str, tuple[str, str]]:
    """The sources read from the lake's files, by dbt id: their folder's dataset name. The
    folder is the one ``meta.external_location`` reads (as macros/lake.sql register_lake)."""
    found = {}
    lake_root = str(settings.lake).rstrip("/")
    for unique_id, node in manifest["sources"].items():
        location = (node.get("meta") or {}).get("external_location")
        if not location:
            continue
        pattern = location.split("'")[1].replace("{name}", node["identifier"])
        folder = pattern.split("/*")[0]
        relative = folder[len(lake_root) :].strip("/") if folder.startswith(lake_root) else None
        if relative is None:
            continue
        found[unique_id] = lineage.lake_dataset(settings.lake / relative)
    return found


def build_events(
    settings: Settings,
    dbt_env: dict[str, str],
    parent: dict | None = None,
    newest_published: dict[str, datetime] | None = None,
) -> list:
    """The events of the build whose artifacts are in ``dbt_env``'s DBT_TARGET_PATH."""
    from openlineage.common.provider.dbt.facets import ParentRunMetadata

    from sotelake.transform.dbt_build import _environment, dbt_environment

    env = {**dbt_environment(settings), **dbt_env}
    target_path = Path(env["DBT_TARGET_PATH"])
    with _environment(env):
        processor = _processor_class()(
            project_dir=str(settings.dbt_project),
            target_path=str(target_path),
            producer=lineage.PRODUCER,
            job_namespace=lineage.JOB_NAMESPACE,
            skip_errors=True,
            logger=log,
        )
        if parent:
            processor.dbt_run_metadata = ParentRunMetadata(
                run_id=parent["run_id"],
                job_name=parent["job_name"],
                job_namespace=parent.get("job_namespace", lineage.JOB_NAMESPACE),
                root_parent_job_name=parent.get("root_job_name"),
                root_parent_job_namespace=parent.get("root_job_namespace"),
                root_parent_run_id=parent.get("root_run_id"),
            )
        manifest, *_ = processor.get_dbt_metadata()
        processor.lake_sources = _lake_sources(manifest, settings)
        events = processor.parse().events()
    if env.get("SOTELAKE_DBT_TARGET", "duckdb") == "duckdb":
        _add_warehouse_facts(events, manifest, settings, newest_published or {})
    _add_owners(events, manifest)
    return events


def newest_published(settings: Settings) -> dict[str, datetime]:
    """Before a daily build: the newest ``_published_at`` of each model that keeps the load id
    of its rows (the staging models); what the build adds to one is the loads published after
    it, and those are the raw partitions its lineage names (``_loads_taken``)."""
    from sotelake import engine

    con = engine.connect_warehouse(settings.warehouse)
    try:
        relations = con.execute(
            "select table_schema, table_name from information_schema.columns "
            "where column_name in ('_load_id', '_published_at') "
            "group by all having count(*) = 2"
        ).fetchall()
        newest = {
            f"{schema}.{table}": con.execute(
                f"select max(_published_at) from {engine.quote(schema)}.{engine.quote(table)}"
            ).fetchone()[0]
            for schema, table in relations
        }
    finally:
        con.close()
    return {relation: value for relation, value in newest.items() if value is not None}


def _relation_of(name: str) -> str:
    """``schema.table`` of a dataset named ``database.schema.table``."""
    return name.split(".", 1)[1] if name.count(".") >= 2 else name


def _add_warehouse_facts(
    events: list, manifest: dict, settings: Settings, newest_published: dict[str, datetime]
) -> None:
    """Each built model's columns and rows, and the raw partitions its lake inputs brought."""
    from openlineage.client.event_v2 import InputDataset
    from openlineage.client.generated import output_statistics_output_dataset as stats

    from sotelake import engine

    namespace, _ = lineage.warehouse_dataset(settings, "x.y")
    built = {_relation_of(d.name) for e in events for d in e.outputs if d.namespace == namespace}
    if not built:
        return
    con = engine.connect_warehouse(settings.warehouse)
    try:
        columns: dict[str, list[tuple[str, str]]] = {}
        for schema, table, column, kind in con.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns order by table_schema, table_name, ordinal_position"
        ).fetchall():
            columns.setdefault(f"{schema}.{table}", []).append((column, kind))
        tables = engine.tables(con, views=False)
        rows = {
            relation: con.execute(
                f"select count(*) from {'.'.join(engine.quote(p) for p in relation.split('.'))}"
            ).fetchone()[0]
            for relation in built & tables
        }
        # the loads each staging model took in: the raw partitions of the lake inputs
        loads = _loads_taken(con, manifest, columns, newest_published)
        partitions = _partitions(con, settings)
    finally:
        con.close()
    for event in events:
        for dataset in event.outputs:
            relation = _relation_of(dataset.name)
            if dataset.namespace != namespace or relation not in columns:
                continue
            dataset.facets["schema"] = lineage.schema_facet(columns[relation])
            if relation in rows:
                dataset.outputFacets["outputStatistics"] = stats.OutputStatisticsOutputDatasetFacet(
                    rowCount=int(rows[relation])
                )
        taken = loads.get(_relation_of(event.outputs[0].name), []) if event.outputs else []
        files = [partitions[load] for load in taken if load in partitions]
        # the START and COMPLETE events of a run share their list of inputs
        for position, dataset in enumerate(event.inputs):
            mine = [f for f in files if f.startswith(_as_location(dataset) + "/")]
            if dataset.namespace == namespace or not mine:
                continue
            event.inputs[position] = InputDataset(
                namespace=dataset.namespace,
                name=dataset.name,
                facets=dataset.facets,
                inputFacets={
                    **(getattr(dataset, "inputFacets", None) or {}),
                    "subset": lineage.location_subset(mine),
                },
            )


def _as_location(dataset) -> str:
    if dataset.namespace == "file":
        return f"file://{dataset.name}"
    return f"{dataset.namespace}/{dataset.name}"


def _loads_taken(
    con, manifest: dict, columns: dict, newest_published: dict[str, datetime]
) -> dict[str, list[str]]:
    """``schema.model`` of each staging model -> the load ids of its rows (those published
    after its newest row before the build, when it merged a day's changes)."""
    taken = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or not any(
            p.startswith("source.") for p in node["depends_on"]["nodes"]
        ):
            continue
        relation = f"{node['schema']}.{node['alias']}"
        names = {c for c, _ in columns.get(relation, [])}
        if "_load_id" not in names:
            continue
        table = ".".join(f'"{p}"' for p in relation.split("."))
        after = newest_published.get(relation)
        if after is not None and "_published_at" in names:
            query = f"select distinct _load_id from {table} where _published_at > ?"
            found = con.execute(query, [after]).fetchall()
        else:
            found = con.execute(f"select distinct _load_id from {table}").fetchall()
        taken[relation] = [load for (load,) in found if load]
    return taken


def _partitions(con, settings: Settings) -> dict[str, str]:
    """load id -> the URI of its raw file, from the load audit the build made."""
    from sotelake.lake import zones

    try:
        audit = con.execute(
            "select load_id, source, table_name, load_date, status from dq.load_audit"
        ).fetchall()
    except Exception:  # noqa: BLE001 - no audit yet: no partitions to name
        return {}
    found = {}
    for load_id, source, table, day, status in audit:
        zone = zones.REJECTED if status == "rejected" else zones.RAW
        path = zones.partition(settings.lake, zone, source, table, day) / f"{load_id}.parquet"
        found[load_id] = lineage.lake_location(path)
    return found


def _add_owners(events: list, manifest: dict) -> None:
    """The owner of each model's group, on its output dataset."""
    from openlineage.client.generated import ownership_dataset

    groups = {g["name"]: g.get("owner") or {} for g in manifest.get("groups", {}).values()}
    owners = {}
    for node in manifest["nodes"].values():
        owner = groups.get(node.get("group") or "")
        if owner and owner.get("name"):
            owners[f"{node['database']}.{node['schema']}.{node['alias']}"] = owner
    for event in events:
        for dataset in event.outputs:
            if owner := owners.get(dataset.name):
                dataset.facets["ownership"] = ownership_dataset.OwnershipDatasetFacet(
                    owners=[
                        ownership_dataset.Owner(
                            name=f"{owner['name']} <{owner.get('email', '')}>", type="STEWARD"
                        )
                    ]
                )
