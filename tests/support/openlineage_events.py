"""Reading and checking the pipeline's OpenLineage events, for the tests.

``validate`` checks an event against the OpenLineage JSON schema (vendored in
tests/openlineage_spec, see its NOTICE.md) and every facet against the schema its
``_schemaURL`` names: a core facet's from the vendored spec, Airflow's and dbt's from the
installed provider and library. A facet whose schema ships nowhere (openlineage-dbt's
``dbt_model``) is checked as the spec's base facet (``_producer`` and ``_schemaURL``), and only
the facets named in ``UNSHIPPED`` may be; any other unknown schema fails the check.
"""

from __future__ import annotations

import json
from collections import deque
from functools import cache
from pathlib import Path

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parents[1] / "openlineage_spec"
UNSHIPPED = {"dbt_model"}  # openlineage-dbt's dataset facet, whose JSON schema it does not ship
BASE_FACET = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/BaseFacet"


@cache
def _schemas() -> dict[str, dict]:
    """Known schema documents by file name (the version in a URL is not compared: the
    installed client may name a newer patch version of a facet than the vendored one)."""
    import airflow.providers.openlineage as provider
    import openlineage.common as common

    found = {"OpenLineage.json": json.loads((SPEC / "OpenLineage.json").read_text())}
    folders = [
        SPEC / "facets",
        Path(provider.__file__).parent / "facets",
        Path(common.__file__).parent / "schema",
        Path(common.__file__).parent / "provider",
    ]
    for folder in folders:
        for path in folder.glob("*.json"):
            found.setdefault(path.name, json.loads(path.read_text()))
    return found


@cache
def _registry() -> Registry:
    resources = []
    for document in _schemas().values():
        if "$id" in document:
            # some files name an old draft ("http://json-schema.org/schema#"): read all as 2020-12
            resources.append((document["$id"], DRAFT202012.create_resource(document)))
    return Registry().with_resources(resources)


def _check(instance: dict, url: str, where: str, facet: str | None = None) -> None:
    base, _, fragment = url.partition("#")
    name = base.rsplit("/", 1)[-1]
    document = _schemas().get(name)
    if document is None and facet in UNSHIPPED:
        return _check(instance, BASE_FACET, where)
    assert document is not None, f"{where}: no schema known for {url}"
    schema = {"$ref": f"{document.get('$id', base)}#{fragment}"} if fragment else document
    jsonschema.Draft202012Validator(schema, registry=_registry()).validate(instance)


def _facets(event: dict):
    yield from (event.get("run", {}).get("facets") or {}).items()
    yield from (event.get("job", {}).get("facets") or {}).items()
    for kind in ("inputs", "outputs"):
        for dataset in event.get(kind) or []:
            for key in ("facets", "inputFacets", "outputFacets"):
                yield from (dataset.get(key) or {}).items()


def validate(event: dict) -> None:
    """The event against the OpenLineage schema, and each facet against its own."""
    where = f"{event.get('eventType')} {event.get('job', {}).get('name')}"
    _check(event, "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent", where)
    for key, facet in _facets(event):
        if facet.get("_deleted"):
            continue
        _check(facet, facet["_schemaURL"], f"{where}: facet {key}", key)


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def key(dataset: dict) -> tuple[str, str]:
    return dataset["namespace"], dataset["name"]


def walk_back(events: list[dict], start: tuple[str, str]) -> tuple[set, dict]:
    """Every dataset upstream of ``start`` through the completed runs' inputs and outputs, and
    the input facets each reached dataset was read with."""
    producers: dict[tuple, list[dict]] = {}
    for event in events:
        if event["eventType"] == "COMPLETE":
            for dataset in event.get("outputs") or []:
                producers.setdefault(key(dataset), []).append(event)
    reached, read_with = {start}, {}
    queue = deque([start])
    while queue:
        for event in producers.get(queue.popleft(), []):
            for dataset in event.get("inputs") or []:
                read_with.setdefault(key(dataset), []).append(dataset.get("inputFacets") or {})
                if key(dataset) not in reached:
                    reached.add(key(dataset))
                    queue.append(key(dataset))
    return reached, read_with


def of_dag_run(events: list[dict], dag_run_id: str) -> tuple[list[dict], list[dict]]:
    """The Airflow task events of one DAG run (by its run id), and the runs its tasks' steps
    emitted as their children (their root is the DAG run's OpenLineage run)."""
    tasks = [
        e
        for e in events
        if (e["run"]["facets"].get("airflow") or {}).get("dagRun", {}).get("run_id") == dag_run_id
    ]
    roots = {e["run"]["facets"]["parent"]["run"]["runId"] for e in tasks}
    children = [
        e
        for e in events
        if e not in tasks
        and ((e["run"]["facets"].get("parent") or {}).get("root") or {}).get("run", {}).get("runId")
        in roots
    ]
    return tasks, children


def asset_events(dag_run_id: str) -> list[tuple[str, dict]]:
    """(asset name, extra) of every asset event a DAG run recorded, from Airflow's database."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.name, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_run_id == dag_run_id)
        ).all()
    return [(name, dict(extra or {})) for name, extra in rows]
