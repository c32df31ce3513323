"""Put the demo record system into a PostgreSQL database (server mode's source system).

The tables keep their names and columns; text timestamps and dates become PostgreSQL
``timestamp`` and ``date`` and the 0/1 flags ``boolean``, as a real system's would be. DuckDB
copies the rows (sqlite and postgres scanner extensions), so no PostgreSQL driver is needed.
"""

from __future__ import annotations

import re
from pathlib import Path

from sotelake import engine
from sotelake.engine import literal, quote

TIMESTAMP = re.compile(r"(_at|_start)$")
DATE = re.compile(r"(_date|_month)$")
BOOLEAN = {"is_deleted", "is_primary"}


def _cast(column: str) -> str:
    ref = quote(column)
    if column in BOOLEAN:
        return f"CAST({ref} AS BOOLEAN) AS {ref}"
    if TIMESTAMP.search(column):
        return f"CAST({ref} AS TIMESTAMP) AS {ref}"
    if DATE.search(column):
        return f"CAST({ref} AS DATE) AS {ref}"
    return ref


def copy_record_system(sqlite_path: Path, url: str) -> dict[str, int]:
    """Copy every table of the SQLite record system into the database at ``url``."""
    con = engine.connect(extensions=("sqlite-scanner", "postgres-scanner"))
    try:
        con.execute(f"ATTACH {literal(str(sqlite_path))} AS src (TYPE sqlite, READ_ONLY)")
        con.execute(f"ATTACH {literal(url)} AS pg (TYPE postgres)")
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_catalog = 'src'"
            ).fetchall()
        ]
        copied = {}
        for table in tables:
            columns = [r[0] for r in con.execute(f"describe src.{quote(table)}").fetchall()]
            con.execute(f"DROP TABLE IF EXISTS pg.{quote(table)}")
            con.execute(
                f"CREATE TABLE pg.{quote(table)} AS SELECT "
                f"{', '.join(_cast(c) for c in columns)} FROM src.{quote(table)}"
            )
            copied[table] = con.execute(f"select count(*) from pg.{quote(table)}").fetchone()[0]
        return copied
    finally:
        con.close()
