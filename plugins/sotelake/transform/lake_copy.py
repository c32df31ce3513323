"""The lake in a PostgreSQL warehouse, for the dbt ``postgres`` target.

DuckDB reads the lake's Parquet files where they lie; PostgreSQL cannot, so before a build on
PostgreSQL the lake is copied into it, one schema per source (``lake_<source>.<table>``, the
``schema`` of each dbt source) plus ``lake_dq`` (load audit, quarantine, validation results, the
open items and the rows per zone and load that the reconciliation needs). DuckDB's postgres
extension does the copying (binary COPY). Each table's rows are replaced whole, so a re-run
copies the same; the incremental staging models still process only what was published since
their last run.
"""

from __future__ import annotations

import logging
import time

from sotelake.engine import connect, literal, quote
from sotelake.lake.storage import configure_duckdb
from sotelake.lake.zones import DQ, QUARANTINE, RAW, REJECTED
from sotelake.settings import Settings, get_settings
from sotelake.sources.registry import all_tables, load_registry

log = logging.getLogger(__name__)

LAKE_DQ_SCHEMA = "lake_dq"


ZONE_ROWS = f"{LAKE_DQ_SCHEMA}.zone_rows"


def copy_lake_to_postgres(
    url: str, settings: Settings | None = None, only: set[str] | None = None
) -> dict[str, int]:
    """Copy every raw table and the lake's quality records into PostgreSQL (or only the tables
    ``only`` names, e.g. ``lake_dq.validation_results`` after new checks); rows per table."""
    settings = settings or get_settings()
    started = time.perf_counter()
    lake = settings.lake
    tables = {
        f"lake_{t.source}.{t.name}": lake / RAW / t.source / t.name / "*" / "*.parquet"
        for t in all_tables(load_registry(settings.config_dir / "sources.yml"))
    }
    tables |= {
        f"{LAKE_DQ_SCHEMA}.load_audit": lake / DQ / "load_audit" / "*.parquet",
        f"{LAKE_DQ_SCHEMA}.validation_results": lake / DQ / "validation_results" / "*.parquet",
        f"{LAKE_DQ_SCHEMA}.quarantine": lake / QUARANTINE / "*" / "*" / "*" / "*.parquet",
        f"{LAKE_DQ_SCHEMA}.items": lake / DQ / "items" / "*.parquet",
    }
    if only is not None:
        tables = {name: pattern for name, pattern in tables.items() if name in only}
    copied = {}
    con = connect(extensions=("postgres-scanner",))
    try:
        configure_duckdb(con, lake)
        con.execute(f"ATTACH {literal(url)} AS pg (TYPE postgres)")
        schemas = {name.split(".")[0] for name in tables}
        for schema in sorted(schemas):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS pg.{quote(schema)}")
        for name, pattern in tables.items():
            if not _has_files(con, pattern):
                log.info("lake copy: %s has no files yet", name)
                continue
            schema, table = name.split(".")
            files = f"read_parquet({literal(pattern)}, union_by_name = true)"
            # PostgreSQL folds unquoted names to lower case: a column KAYNTIPVM becomes kayntipvm
            described = [c for c, *_ in con.execute(f"DESCRIBE SELECT * FROM {files}").fetchall()]
            renamed = ", ".join(f"{quote(c)} AS {quote(c.lower())}" for c in described)
            copied[name] = _replace_rows(
                con, schema, table, f"SELECT {renamed} FROM {files}", [c.lower() for c in described]
            )
        if only is None or ZONE_ROWS in only:
            _copy_zone_rows(con, lake)
    finally:
        con.close()
    log.info(
        "lake copied to PostgreSQL: %d tables, %d rows in %.1f s",
        len(copied),
        sum(copied.values()),
        time.perf_counter() - started,
    )
    return copied


def _replace_rows(con, schema: str, table: str, query: str, columns: list[str]) -> int:
    """The rows of ``query`` (whose column names are ``columns``) in ``pg.<schema>.<table>``, in
    one transaction. The table is kept when its columns are the query's: the staging views that
    read it (the models of full loads) stay as dbt made them, for a build that selects only some
    models. A table whose columns changed is dropped with those views (a whole build makes them
    again). Names only are compared: PostgreSQL's types read back are not DuckDB's (UINTEGER is
    stored as bigint)."""
    target = f"pg.{quote(schema)}.{quote(table)}"
    existing = [
        c
        for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'pg' "
            "AND schema_name = ? AND table_name = ? ORDER BY column_index",
            [schema, table],
        ).fetchall()
    ]
    if existing and existing != columns:
        log.warning("lake copy: %s.%s has new columns; replaced whole", schema, table)
        drop = f"DROP TABLE {quote(schema)}.{quote(table)} CASCADE"
        con.execute(f"CALL postgres_execute('pg', {literal(drop)})")
        con.execute("CALL pg_clear_cache()")  # DuckDB's catalog of pg would still list it
        existing = []
    con.execute("BEGIN TRANSACTION")
    try:
        if existing:
            con.execute(f"DELETE FROM {target}")
            con.execute(f"INSERT INTO {target} {query}")
        else:
            con.execute(f"CREATE TABLE {target} AS {query}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]


def _copy_zone_rows(con, lake) -> None:
    """Rows per zone and load, for the reconciliation (``dq.reconciliation_loads``)."""
    zone_rows = (
        " UNION ALL ".join(
            f"SELECT '{zone}' AS zone, _load_id AS load_id, count(*) AS rows "
            f"FROM read_parquet({literal(lake / zone / '*' / '*' / '*' / '*.parquet')}, "
            "union_by_name = true) GROUP BY 2"
            for zone in (RAW, REJECTED)
            if _has_files(con, lake / zone / "*" / "*" / "*" / "*.parquet")
        )
        or "SELECT NULL::varchar AS zone, NULL::varchar AS load_id, 0::bigint AS rows WHERE false"
    )
    schema, table = ZONE_ROWS.split(".")
    _replace_rows(con, schema, table, zone_rows, ["zone", "load_id", "rows"])


def _has_files(con, pattern) -> bool:
    return con.execute(f"SELECT count(*) FROM glob({literal(pattern)})").fetchone()[0] > 0
