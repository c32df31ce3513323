"""The gold zone: Parquet exports of the public marts, for BI tools that read files.

    <lake>/gold/<schema>/<table>.parquet     one file per public relation
                                             (transform.public_interface)
    <lake>/gold/public/<schema>/<table>.parquet  the aggregates only, for wide audiences
                                             (public_interface.aggregate_relations: the
                                             indicators, the dimensions without persons)
    <lake>/gold/manifest.json                run, time, the engine that built the marts, and per
                                             table: file, rows, columns, bytes

The zone is written into a local scratch folder and replaces the previous export whole
(lake.storage.replace_dir): in a local lake by a rename, so a reader sees the previous run's
export or this one's, never a mix; on an object store file by file (each file is whole, the
manifest comes last), so a reader going by the manifest finds the files it lists. Re-running
replaces it.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sotelake.engine import connect_warehouse, literal
from sotelake.lake import storage
from sotelake.lake.zones import GOLD
from sotelake.settings import Settings, get_settings
from sotelake.transform.public_interface import aggregate_relations, public_relations

if TYPE_CHECKING:
    from sotelake.lake.storage import LakePath

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PUBLIC_FOLDER = "public"  # the aggregates only


def export_gold(settings: Settings | None = None, run_id: str | None = None) -> LakePath:
    """Export every public relation of the warehouse to the gold zone; returns the manifest."""
    settings = settings or get_settings()
    started = time.perf_counter()
    storage.clear_scratch(settings.lake, GOLD)  # what a killed export left
    new = storage.scratch_dir(settings.lake, GOLD)
    tables = []
    aggregates = []
    with connect_warehouse(settings.warehouse) as con:
        # a table's rows have no order (readers sort): unordered, DuckDB writes a file's row
        # groups in parallel
        con.execute("set preserve_insertion_order = false")
        # zstd's fastest level: the export is written faster, its files barely larger
        for relation in public_relations(con):
            schema, table = relation.split(".")
            file = Path(schema) / f"{table}.parquet"
            (new / schema).mkdir(exist_ok=True)
            (rows,) = con.execute(  # COPY returns the rows it wrote
                f"copy (select * from {relation}) to {literal(new / file)} "
                "(format parquet, compression zstd, compression_level 1)"
            ).fetchone()
            columns = [
                {"name": name, "type": str(kind)}
                for name, kind, *_ in con.execute(f"describe {relation}").fetchall()
            ]
            tables.append(
                {
                    "table": relation,
                    "file": file.as_posix(),
                    "rows": rows,
                    "bytes": (new / file).stat().st_size,
                    "columns": columns,
                }
            )
        for relation in aggregate_relations(con):
            schema, table = relation.split(".")
            file = Path(PUBLIC_FOLDER) / schema / f"{table}.parquet"
            (new / file.parent).mkdir(parents=True, exist_ok=True)
            # the same file as the zone's own: a copy, so that wide audiences get a folder
            # holding nothing else
            (new / file).write_bytes((new / schema / f"{table}.parquet").read_bytes())
            aggregates.append({"table": relation, "file": file.as_posix()})
    manifest = {
        "run_id": run_id,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "warehouse": str(settings.warehouse),
        "dbt_target": settings.dbt_target,  # the engine that built the marts
        "tables": tables,
        "public": aggregates,
    }
    (new / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    target = settings.lake / GOLD
    storage.replace_dir(target, new, last=MANIFEST)
    storage.release_scratch(new)  # what is left of it on an object store
    log.info(
        "gold zone: %s (%d tables, %d rows) in %.1f s",
        target,
        len(tables),
        sum(t["rows"] for t in tables),
        time.perf_counter() - started,
    )
    return target / MANIFEST
