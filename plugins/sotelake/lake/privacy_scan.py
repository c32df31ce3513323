"""Find anything shaped like a valid henkilötunnus in what the pipeline wrote.

Parquet files and DuckDB databases are scanned column by column through DuckDB; every other file
as text. A code is found in upper or lower case (``100349-164t`` is the same person's code: the
check upper-cases it, as python-stdnum does), and must pass the checksum, so random digits rarely
trigger it. The top-level
folders holding the source systems' own data (``sources``, ``landing``) are inputs and skipped.
The folder may be a local one or the lake on an object store (lake.storage).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from sotelake.lake import storage
from sotelake.settings import get_settings
from sotelake.withholding import columns_with_henkilotunnus, valid_codes

if TYPE_CHECKING:
    from sotelake.lake.storage import LakePath

INPUT_FOLDERS = {"sources", "landing"}  # the source systems and their deliveries: inputs
MAX_TEXT_BYTES = 200_000_000


def scan_tree(root: LakePath, lake: LakePath | None = None) -> tuple[int, list[str]]:
    """(files scanned, findings as 'path[:table.column]'); inputs under root are skipped.

    ``lake`` (default: the configured one) is where a warehouse's views read the lake from, so
    that they can be scanned when it is on an object store."""
    files, hits = 0, []
    con = duckdb.connect()
    try:
        storage.configure_duckdb(con, root)
        for path in storage.all_files(root):
            if INPUT_FOLDERS & set(path.relative_to(root).parts[:-1]):  # also a bench run's
                continue
            files += 1
            if path.suffix == ".parquet":
                relation = f"read_parquet('{path}')"
                if storage.on_object_store(path):  # fetched once, not once per column
                    con.execute(f"create or replace temp table scanned as select * from {relation}")
                    relation = "scanned"
                hits += [f"{path}:{c}" for c in columns_with_henkilotunnus(con, relation)]
            elif path.suffix == ".duckdb":
                with duckdb.connect(str(path), read_only=True) as db:
                    storage.configure_duckdb(db, lake or get_settings().lake)
                    tables = db.execute(
                        "select table_schema, table_name from information_schema.tables"
                    ).fetchall()
                    for schema, table in tables:
                        hits += [
                            f"{path}:{schema}.{table}.{c}"
                            for c in columns_with_henkilotunnus(db, f'"{schema}"."{table}"')
                        ]
            elif path.stat().st_size < MAX_TEXT_BYTES:
                if valid_codes(path.read_bytes().decode("latin-1")):
                    hits.append(str(path))
    finally:
        con.close()
    return files, hits
