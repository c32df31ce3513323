"""DuckDB connections: the engine of extraction and of the embedded warehouse.

DuckDB cannot download extensions here (and should not at run time anywhere): the ones the
pipeline needs come from PyPI packages (``duckdb-extension-*``, pinned with duckdb) and are
loaded from their files.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import duckdb

from sotelake.errors import PermanentError


def extension_file(name: str) -> Path:
    """The ``.duckdb_extension`` file inside the PyPI package ``duckdb-extension-<name>``."""
    package = importlib.import_module(f"duckdb_extension_{name.replace('-', '_')}")
    found = sorted(Path(package.__file__).parent.glob("extensions/*/*.duckdb_extension"))
    if not found:
        raise RuntimeError(f"duckdb-extension-{name} is installed but holds no extension file")
    return found[-1]


def connect(
    database: str | Path = ":memory:", *, read_only: bool = False, extensions: tuple[str, ...] = ()
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(database), read_only=read_only)
    for name in extensions:
        con.execute(f"LOAD '{extension_file(name)}'")
    return con


_LOAD_LOCK = threading.Lock()
_loaded_extensions: set[str] = set()


@cache
def _loads_database() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(":memory:")


@contextmanager
def load_connection(extensions: tuple[str, ...] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection for one extraction load, to the in-memory DuckDB that the loads of a
    process share: an extension is loaded once per process, not once per load (a LOAD checks
    the signature of the extension's large file, which would be paid for each of a run's
    database tables when Airflow runs them in one process). What a load attaches is seen by
    every connection of that database: it is detached when the load is done, and loads take
    turns."""
    with _LOAD_LOCK:
        database = _loads_database()
        for name in extensions:
            if name not in _loaded_extensions:
                database.execute(f"LOAD '{extension_file(name)}'")
                _loaded_extensions.add(name)
        con = database.cursor()
        try:
            yield con
        finally:
            attached = con.execute(
                "select database_name from duckdb_databases() "
                "where not internal and database_name <> 'memory'"
            ).fetchall()
            for (name,) in attached:
                con.execute(f"DETACH {quote(name)}")
            con.close()


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def rows(con: duckdb.DuckDBPyConnection, query: str, params: list | None = None) -> list[dict]:
    """A query's rows as dicts by column name."""
    cursor = con.execute(query, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def tables(con: duckdb.DuckDBPyConnection, views: bool = True) -> set[str]:
    """``schema.table`` of every table and view the connection sees (``views=False``: tables
    only)."""
    only_tables = "" if views else " where table_type = 'BASE TABLE'"
    return {
        f"{s}.{t}"
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables" + only_tables
        ).fetchall()
    }


class NoWarehouse(PermanentError):
    """The warehouse file is not there: no build has written it yet (a retry cannot make one)."""


def connect_warehouse(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse file (readers never block the one writer)."""
    if not Path(path).exists():
        raise NoWarehouse(
            f"the warehouse {path} does not exist: no build has written it yet (the build's "
            "log says why the first one failed)"
        )
    return duckdb.connect(str(path), read_only=True)
