"""The serving copy: the one DuckDB file publish reads, whatever engine built the warehouse.

The reports, the sote information packages, the gold zone, the BI publication and the marts'
GX checks read the public schemas (``marts`` and ``dq``, with the stewards-only
``dq.quarantine``) from ``settings.warehouse``. A DuckDB build writes that file itself. After a
build on PostgreSQL or Spark, ``refresh`` copies those schemas into it from the engine:

- PostgreSQL: DuckDB's postgres extension reads them (binary COPY);
- Spark: Spark's executors write them as Parquet into a scratch folder of the lake (the dbt
  macro ``export_relations``: the same SQL in a local session and through a Thrift Server),
  and DuckDB loads the files.

The copy replaces the schemas in one transaction, and the tasks that open the file share the
``duckdb_writer`` pool, so a reader never sees half a warehouse. On those targets the file holds
the public schemas only (staging and intermediate stay in the engine), and the record of what
each build rebuilt (``intermediate.rebuilds``, dbt/macros/history.sql), which the marts' checks
read.
"""

from __future__ import annotations

import json
import logging
import time

from sotelake.engine import connect, literal, quote
from sotelake.lake.storage import clear_scratch, release_scratch, scratch_dir
from sotelake.settings import Settings
from sotelake.transform.public_interface import PUBLIC_SCHEMAS, public_relations, steward_relations
from sotelake.transform.targets import BuildTarget

log = logging.getLogger(__name__)

BUILT = "built"  # the engine's relations, as a catalog of the connection to the serving copy


def refresh(
    target: BuildTarget, settings: Settings, relations: list[str] | None = None
) -> dict[str, int]:
    """Copy the public schemas (or only ``relations``) of a PostgreSQL or Spark build into the
    DuckDB file; rows per relation. Nothing to do on DuckDB: the build wrote the file."""
    if target.name == "duckdb":
        return {}
    started = time.perf_counter()
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    if target.name == "spark":
        clear_scratch(settings.lake, "serving")  # what a killed copy left
    scratch = scratch_dir(settings.lake, "serving") if target.name == "spark" else None
    try:
        if scratch:
            chosen = {"relations": relations} if relations else {"schemas": list(PUBLIC_SCHEMAS)}
            args = json.dumps({"folder": str(scratch), **chosen})
            target.run(["run-operation", "export_relations", "--args", args], settings)
        con = connect(settings.warehouse, extensions=("postgres-scanner",))
        try:
            if scratch:
                _attach_exported(con, scratch)
            else:
                url = literal(target.warehouse_url)
                con.execute(f"ATTACH {url} AS {BUILT} (TYPE postgres, READ_ONLY)")
            copied = _copy_in(con, relations)
        finally:
            con.close()
    finally:
        if scratch:
            release_scratch(scratch)
    log.info(
        "serving copy %s from %s: %d relations, %d rows in %.1f s",
        settings.warehouse,
        target.name,
        len(copied),
        sum(copied.values()),
        time.perf_counter() - started,
    )
    return copied


def _attach_exported(con, folder) -> None:
    """The exported Parquet folders (``<schema>/<table>/part-*.parquet``) as views of ``built``."""
    con.execute(f"ATTACH ':memory:' AS {BUILT}")
    for table in sorted(path for path in folder.glob("*/*") if path.is_dir()):
        schema = f"{BUILT}.{quote(table.parent.name)}"
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(
            f"CREATE VIEW {schema}.{quote(table.name)} AS "
            f"SELECT * FROM read_parquet({literal(table / '*.parquet')})"
        )


def _copy_in(con, only: list[str] | None) -> dict[str, int]:
    """Replace the public schemas of the serving copy with those of ``built`` (or only the
    relations ``only``), in one transaction."""
    (home,) = con.execute("SELECT current_database()").fetchone()
    con.execute(f"USE {BUILT}")
    relations = public_relations(con) + steward_relations(con)
    con.execute(f"USE {quote(home)}")
    if only is not None:
        relations = [relation for relation in relations if relation in only]
    else:
        relations += [
            f"{schema}.{table}"
            for schema, table in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                f"WHERE table_catalog = '{BUILT}' AND table_schema = 'intermediate' "
                "AND table_name = 'rebuilds'"
            ).fetchall()
        ]
    copied = {}
    con.execute("BEGIN")
    if only is None:
        for schema in PUBLIC_SCHEMAS:
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            con.execute(f"CREATE SCHEMA {schema}")
        con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
    for relation in relations:
        con.execute(f"CREATE OR REPLACE TABLE {relation} AS SELECT * FROM {BUILT}.{relation}")
        (copied[relation],) = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
    con.execute("COMMIT")
    return copied
