"""OpenLineage events of the pipeline's work: what each step read and wrote (docs/lineage.md).

Airflow's OpenLineage provider (its listener) emits a START and a COMPLETE (or FAIL) event for
every task of the DAG; this module adds, as child runs of those tasks (the ParentRunFacet),
what the tasks did to the data:

- a load (``sotelake.load.<source>.<table>``): the source system's table or files in, the raw
  lake table out, with the partition it wrote (a subset facet), its rows and columns;
- its validation (``sotelake.validate.<source>.<table>``): the raw table's partition in, with
  every Great Expectations result as a data-quality assertion;
- the dbt build: a run of every model and a test run per tested model (and per singular test),
  made from dbt's manifest and run results by openlineage-dbt's own processor (the pipeline
  runs dbt in-process, so the ``dbt-ol`` wrapper cannot), with the staging models' inputs named
  as the lake tables they read and the raw partitions they took in, and the models' columns
  and rows read from the warehouse;
- the published marts' checks (``sotelake.check.<schema>.<model>``) and the gold zone.

Datasets follow OpenLineage's naming: a lake table is its folder (``file`` and the absolute
path, or ``s3://<bucket>`` and the key), a warehouse table ``duckdb://<file>`` and
``<database>.<schema>.<table>`` (``postgres://<host>:<port>`` on the postgres target).

Where events go (``transport_config``): a JSON-lines file, ``<data>/lineage/openlineage.jsonl``,
by default; HTTP to Marquez or any OpenLineage endpoint when ``OPENLINEAGE_URL`` is set (with
``OPENLINEAGE_ENDPOINT`` and ``OPENLINEAGE_API_KEY``, as openlineage-python reads them); none
with ``SOTELAKE_LINEAGE=off``. Emitting never fails the pipeline: an error is logged.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sotelake.settings import Settings, get_settings

if TYPE_CHECKING:
    from sotelake.lake.storage import LakePath

log = logging.getLogger(__name__)

LINEAGE_ENV = "SOTELAKE_LINEAGE"  # "off": no events (the Airflow provider is disabled too)
URL_ENV = "OPENLINEAGE_URL"  # openlineage-python's own variables
ENDPOINT_ENV = "OPENLINEAGE_ENDPOINT"
API_KEY_ENV = "OPENLINEAGE_API_KEY"
JOB_NAMESPACE = "sotelake"  # the namespace of every job, the Airflow tasks' included
PRODUCER = "urn:sotelake:pipeline"  # the producer of every event and facet the pipeline makes


def enabled() -> bool:
    return os.environ.get(LINEAGE_ENV, "").strip().lower() not in ("off", "0", "false", "no")


def lineage_file(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_dir / "lineage" / "openlineage.jsonl"


def transport_config(settings: Settings | None = None) -> dict | None:
    """The OpenLineage transport of the pipeline and of Airflow's provider; None when off."""
    if not enabled():
        return None
    if url := os.environ.get(URL_ENV, "").strip():
        config = {"type": "http", "url": url}
        config["endpoint"] = os.environ.get(ENDPOINT_ENV, "").strip() or "api/v1/lineage"
        if key := os.environ.get(API_KEY_ENV, "").strip():
            config["auth"] = {"type": "api_key", "apiKey": key}
        return config
    return {"type": "file", "log_file_path": str(lineage_file(settings)), "append": True}


def prepare(config: dict | None) -> None:
    """Make the folder of a file transport: only when events are about to be written (a command
    that stops before it starts, for want of a key, leaves nothing behind)."""
    if config and config["type"] == "file":
        Path(config["log_file_path"]).parent.mkdir(parents=True, exist_ok=True)


def airflow_environment(settings: Settings | None = None) -> dict[str, str]:
    """The ``[openlineage]`` settings of Airflow's provider, as environment variables: the same
    transport and job namespace as the pipeline's own events; events are sent from a thread of
    the task (forking the task runner, the default, is unsafe beside DuckDB and dag.test)."""
    config = transport_config(settings)
    if config is None:
        return {"AIRFLOW__OPENLINEAGE__DISABLED": "True"}
    return {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(config),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": JOB_NAMESPACE,
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
        # the tasks are this repository's functions: their source adds nothing to the events
        "AIRFLOW__OPENLINEAGE__EMISSION_POLICY": json.dumps(
            [{"scope": {}, "controls": {"include_source_code": False}}]
        ),
    }


# --- dataset names ------------------------------------------------------------------------


def lake_dataset(path: LakePath) -> tuple[str, str]:
    """``(namespace, name)`` of a folder or file of the lake: ``file`` and its absolute path,
    or ``s3://<bucket>`` and its key."""
    from sotelake.lake.storage import on_object_store

    if on_object_store(path):
        parts = urlsplit(str(path))
        return f"s3://{parts.netloc}", parts.path.strip("/")
    return "file", str(Path(path).resolve())


def lake_location(path: LakePath) -> str:
    """A lake path as a URI (``file:///...`` or ``s3://...``), for the subset facets."""
    namespace, name = lake_dataset(path)
    return f"{namespace}/{name}" if namespace != "file" else f"file://{name}"


def warehouse_dataset(settings: Settings, relation: str) -> tuple[str, str]:
    """``(namespace, name)`` of a relation (``schema.table``) of the DuckDB warehouse file, as
    openlineage-dbt names it: ``duckdb://<path>`` and ``<database>.<schema>.<table>``."""
    return f"duckdb://{settings.warehouse}", f"{settings.warehouse.stem}.{relation}"


def source_system_dataset(
    source, table, settings: Settings, connection_lookup=None
) -> tuple[str, str]:
    """``(namespace, name)`` of what a load reads: a database table (no credentials), or the
    folder a file source delivers into."""
    if source.kind == "database":
        try:
            url = urlsplit(source.url(settings, connection_lookup))
        except Exception:  # noqa: BLE001 - an unresolvable URL still names the source
            return f"sotelake-source://{source.name}", table.name
        scheme = "postgres" if url.scheme.startswith("postgres") else url.scheme
        if url.hostname:
            database = url.path.strip("/") or "postgres"
            return (
                f"{scheme}://{url.hostname}:{url.port or 5432}",
                f"{database}.public.{table.name}",
            )
        return f"{scheme}://{url.path}", table.name  # sqlite:////<file>
    return "file", str(source.path(settings).resolve())


# --- building and sending events ----------------------------------------------------------


def now() -> str:
    return datetime.now(UTC).isoformat()


def run_id() -> str:
    from openlineage.client.uuid import generate_new_uuid

    return str(generate_new_uuid())


def parent_facet(parent: dict | None):
    """The ParentRunFacet of a child run, from ``parent`` (``task_parent`` in the DAG)."""
    if not parent:
        return {}
    from openlineage.client.generated import parent_run

    root = None
    if parent.get("root_run_id"):
        root = parent_run.Root(
            run=parent_run.RootRun(runId=parent["root_run_id"]),
            job=parent_run.RootJob(
                namespace=parent.get("root_job_namespace", JOB_NAMESPACE),
                name=parent["root_job_name"],
            ),
        )
    return {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent["run_id"]),
            job=parent_run.Job(
                namespace=parent.get("job_namespace", JOB_NAMESPACE), name=parent["job_name"]
            ),
            root=root,
        )
    }


def job(name: str, job_type: str, description: str | None = None):
    from openlineage.client.event_v2 import Job
    from openlineage.client.generated import documentation_job, job_type_job

    facets = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="SOTELAKE", jobType=job_type
        )
    }
    if description:
        facets["documentation"] = documentation_job.DocumentationJobFacet(description=description)
    return Job(namespace=JOB_NAMESPACE, name=name, facets=facets)


def run_pair(
    job_, started: str, ended: str, inputs=(), outputs=(), parent=None, failed: str | None = None
) -> list:
    """A START and a COMPLETE (or FAIL, with ``failed`` as the error) event of one run."""
    from openlineage.client.event_v2 import Run, RunEvent, RunState
    from openlineage.client.generated import error_message_run

    facets = dict(parent_facet(parent))
    run = Run(runId=run_id(), facets=facets)
    start = RunEvent(
        eventType=RunState.START,
        eventTime=started,
        run=run,
        job=job_,
        producer=PRODUCER,
        inputs=list(inputs),
        outputs=list(outputs),
    )
    end_facets = dict(facets)
    if failed:
        end_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=failed, programmingLanguage="python"
        )
    end = RunEvent(
        eventType=RunState.FAIL if failed else RunState.COMPLETE,
        eventTime=ended,
        run=Run(runId=run.runId, facets=end_facets),
        job=job_,
        producer=PRODUCER,
        inputs=list(inputs),
        outputs=list(outputs),
    )
    return [start, end]


@contextmanager
def producing():
    """The facets made inside name this pipeline as their producer (openlineage-python keeps
    the producer in a global, which Airflow's provider sets to its own in the same process)."""
    from openlineage.client.generated import base

    saved = base.PRODUCER
    base.set_producer(PRODUCER)
    try:
        yield
    finally:
        base.set_producer(saved)


def emit(events: Iterable, settings: Settings | None = None) -> int:
    """Send the events through the configured transport; how many were sent. Never raises."""
    events = list(events)
    config = transport_config(settings)
    if config is None or not events:
        return 0
    try:
        from openlineage.client import OpenLineageClient

        prepare(config)
        client = OpenLineageClient(config={"transport": config})
        for event in events:
            client.emit(event)
        client.close()
    except Exception as error:  # lineage is a record of the work: never the reason it failed
        log.warning("OpenLineage: %d events not sent: %s", len(events), error)
        return 0
    log.info("OpenLineage: %d events sent (%s)", len(events), config["type"])
    return len(events)


def schema_facet(columns: Iterable[tuple[str, str]]):
    from openlineage.client.generated import schema_dataset

    return schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in columns]
    )


def location_subset(locations: list[str], output: bool = False):
    from openlineage.client.generated import base_subset_dataset as subset

    condition = subset.LocationSubsetCondition(locations=sorted(locations))
    if output:
        return subset.OutputSubsetOutputDatasetFacet(outputCondition=condition)
    return subset.InputSubsetInputDatasetFacet(inputCondition=condition)


def arrow_columns(path: LakePath) -> list[tuple[str, str]]:
    """A Parquet file's columns and types, read from its footer."""
    import pyarrow.parquet as pq

    from sotelake.lake import storage

    if storage.on_object_store(path):
        with path.open("rb") as handle:
            schema = pq.read_schema(handle)
    else:
        schema = pq.read_schema(path)
    return [(field.name, str(field.type)) for field in schema]


# --- the lake's loads and their validation ------------------------------------------------


def load_events(
    load: dict, settings: Settings, started: str, parent: dict | None = None, connection_lookup=None
) -> list:
    """A load's run: the source system's table in, the raw lake table out with the partition
    the load wrote, its rows and columns, and the quarantined rows."""
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.generated import output_statistics_output_dataset as stats

    from sotelake.lake import storage, zones
    from sotelake.sources.registry import load_registry

    source = load_registry(settings.config_dir / "sources.yml")[load["source"]]
    table = source.tables[load["table"]]
    day = datetime.fromisoformat(load["load_date"]).date()
    namespace, name = source_system_dataset(source, table, settings, connection_lookup)
    input_facets = {}
    if load.get("source_files"):
        input_facets["subset"] = location_subset(
            [f"file://{Path(name, f)}" for f in load["source_files"]]
        )
    inputs = [InputDataset(namespace=namespace, name=name, inputFacets=input_facets)]
    outputs = []
    for zone, rows in (
        (zones.RAW, load.get("loaded", 0)),
        (zones.QUARANTINE, load.get("quarantined", 0)),
    ):
        partition = zones.partition(settings.lake, zone, source.name, table.name, day)
        files = storage.files(partition)
        if not files or (zone == zones.QUARANTINE and not rows):
            continue
        ns, folder = lake_dataset(settings.lake / zone / source.name / table.name)
        facets = {"schema": schema_facet(arrow_columns(files[0]))} if zone == zones.RAW else {}
        outputs.append(
            OutputDataset(
                namespace=ns,
                name=folder,
                facets=facets,
                outputFacets={
                    "subset": location_subset([lake_location(f) for f in files], output=True),
                    "outputStatistics": stats.OutputStatisticsOutputDatasetFacet(
                        rowCount=int(rows), fileCount=len(files)
                    ),
                },
            )
        )
    description = f"Load {table.qualified_name} of {load['load_date']} into the raw zone"
    return run_pair(
        job(f"sotelake.load.{table.qualified_name}", "LOAD", description),
        started,
        now(),
        inputs,
        outputs,
        parent,
    )


def assertions(results: list[dict]):
    """Great Expectations results as OpenLineage data-quality assertions."""
    from openlineage.client.generated import data_quality_assertions_dataset as dq

    return dq.DataQualityAssertionsDatasetFacet(
        assertions=[
            dq.Assertion(
                assertion=r["expectation_type"],
                success=bool(r["success"]),
                column=r["column_name"] or None,
                severity=r["severity"],
                actual=None if r["unexpected_count"] is None else str(r["unexpected_count"]),
                expected="0" if r["unexpected_count"] is not None else None,
            )
            for r in results
        ]
    )


def validation_events(
    summaries: list[dict], settings: Settings, started: str, parent: dict | None = None
) -> list:
    """One run per validated load: the raw partition in, with its GX results as data-quality
    assertions; the results, and any rejected batch or quarantined rows, out."""
    from openlineage.client.event_v2 import InputDataset, OutputDataset

    from sotelake.lake import storage, zones

    events = []
    for summary in summaries:
        if summary["status"] == "no_data":
            continue
        source, table = summary["source"], summary["table"]
        day = datetime.fromisoformat(summary["load_date"]).date()
        results_file = zones.dq_file(settings.lake, "validation_results", source, table, day)
        results = (
            storage.read_table(results_file).to_pylist()
            if storage.files(results_file.parent, results_file.name)
            else []
        )
        zone = zones.REJECTED if summary["status"] == "rejected" else zones.RAW
        partition = zones.partition(settings.lake, zone, source, table, day)
        ns, name = lake_dataset(settings.lake / zones.RAW / source / table)
        raw = InputDataset(
            namespace=ns,
            name=name,
            facets={"dataQualityAssertions": assertions(results)},
            inputFacets={
                "dataQualityAssertions": assertions(results),
                "subset": location_subset([lake_location(f) for f in storage.files(partition)]),
            },
        )
        outputs = [OutputDataset(*lake_dataset(settings.lake / zones.DQ / "validation_results"))]
        if summary["status"] == "rejected":
            outputs.append(
                OutputDataset(*lake_dataset(settings.lake / zones.REJECTED / source / table))
            )
        if summary.get("quarantined_rows"):
            outputs.append(
                OutputDataset(*lake_dataset(settings.lake / zones.QUARANTINE / source / table))
            )
        events += run_pair(
            job(
                f"sotelake.validate.{source}.{table}",
                "VALIDATION",
                f"Validate {source}.{table} of {summary['load_date']} with its GX suite",
            ),
            started,
            now(),
            [raw],
            outputs,
            parent,
        )
    return events


def mart_check_events(
    checks: list[dict], settings: Settings, started: str, parent: dict | None = None
) -> list:
    """One run per published mart checked with its GX suite, the results as assertions."""
    from openlineage.client.event_v2 import InputDataset, OutputDataset

    from sotelake.lake import storage, zones

    events = []
    for check in checks:
        if check["status"] == "no_data":
            continue
        relation = check["table"]
        day = datetime.fromisoformat(check["load_date"]).date()
        results_file = zones.dq_file(
            settings.lake, "validation_results", "warehouse", relation, day
        )
        results = storage.read_table(results_file).to_pylist()
        facet = assertions(results)
        mart = InputDataset(
            *warehouse_dataset(settings, relation),
            facets={"dataQualityAssertions": facet},
            inputFacets={"dataQualityAssertions": facet},
        )
        events += run_pair(
            job(f"sotelake.check.{relation}", "VALIDATION", f"Check {relation} with its GX suite"),
            started,
            now(),
            [mart],
            [OutputDataset(*lake_dataset(settings.lake / zones.DQ / "validation_results"))],
            parent,
        )
    return events


def gold_events(
    manifest: LakePath, settings: Settings, started: str, parent: dict | None = None
) -> list:
    """The gold zone's export: every public mart in, its Parquet file out (with its rows)."""
    from openlineage.client.event_v2 import InputDataset, OutputDataset
    from openlineage.client.generated import output_statistics_output_dataset as stats

    from sotelake.lake import storage

    document = json.loads(storage.read_text(manifest) or "{}")
    inputs, outputs = [], []
    for table in document.get("tables", []):
        inputs.append(InputDataset(*warehouse_dataset(settings, table["table"])))
        outputs.append(
            OutputDataset(
                *lake_dataset(manifest.parent / table["file"]),
                facets={"schema": schema_facet((c["name"], c["type"]) for c in table["columns"])},
                outputFacets={
                    "outputStatistics": stats.OutputStatisticsOutputDatasetFacet(
                        rowCount=table["rows"], size=table.get("bytes")
                    )
                },
            )
        )
    return run_pair(
        job("sotelake.publish.gold_zone", "EXPORT", "The public marts as Parquet files"),
        started,
        now(),
        inputs,
        outputs,
        parent,
    )
