"""The public interface of the warehouse: which relations BI tools may read.

Everything in the schemas ``marts`` and ``dq`` is public (DESIGN.md), except what only data
stewards see, the row-level quality records (identifiers withheld, but still rows):
``dq.quarantine`` (the rows held back, with their reasons) and ``dq.validation_examples`` (a few
failing rows per failing expectation). The gold Parquet zone and the PostgreSQL BI warehouse
publish exactly the public ones; the role dq_steward reads the others too.
"""

from __future__ import annotations

import duckdb

PUBLIC_SCHEMAS = ("marts", "dq")
STEWARDS_ONLY = frozenset({"dq.quarantine", "dq.validation_examples"})


def public_relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """``schema.table`` of every public relation of the warehouse, in a stable order."""
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema in (?, ?) "
        "order by table_schema, table_name",
        list(PUBLIC_SCHEMAS),
    ).fetchall()
    return [f"{s}.{t}" for s, t in rows if f"{s}.{t}" not in STEWARDS_ONLY]


def steward_relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The relations of the public schemas that only data stewards may read."""
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_catalog = current_database() order by 1"
    ).fetchall()
    return [name for (name,) in rows if name in STEWARDS_ONLY]
