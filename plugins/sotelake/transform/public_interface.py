"""The public interface of the warehouse: which relations BI tools may read.

Everything in the schemas ``marts`` and ``dq`` is public (DESIGN.md), except what only data
stewards see, the row-level quality records (identifiers withheld, but still rows):
``dq.quarantine`` (the rows held back, with their reasons) and ``dq.validation_examples`` (a few
failing rows per failing expectation). The gold Parquet zone and the PostgreSQL BI warehouse
publish exactly the public ones; the role dq_steward reads the others too.

For wide audiences, the aggregates only (``aggregate_relations``: the role bi_public of the
PostgreSQL warehouse, ``gold/public/``): the indicators (values, catalogue, history, revisions)
and the dimensions that name no person; no fact (a row per event, pseudonymous persons), no
dimension of persons, no quality record.
"""

from __future__ import annotations

import duckdb

PUBLIC_SCHEMAS = ("marts", "dq")
STEWARDS_ONLY = frozenset({"dq.quarantine", "dq.validation_examples"})
AGGREGATE_PREFIXES = ("marts.indicator_", "marts.dim_")
PERSON_COLUMN = "%pseudonym%"  # a relation with such a column is about persons


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


def aggregate_relations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The public relations wide audiences may read: ``marts.indicator_*`` and ``marts.dim_*``
    but those with a person's pseudonym (dim_person, dim_person_residence)."""
    about_persons = {
        f"{s}.{t}"
        for s, t in con.execute(
            "select distinct table_schema, table_name from information_schema.columns "
            "where table_catalog = current_database() and column_name like ?",
            [PERSON_COLUMN],
        ).fetchall()
    }
    return [
        name
        for name in public_relations(con)
        if name.startswith(AGGREGATE_PREFIXES) and name not in about_persons
    ]
