"""Read a registered table as typed rows, in one DuckDB query per table.

Database sources are attached read-only (SQLite file or PostgreSQL server); file sources are
read with ``read_csv`` from the checked UTF-8 copies of the load's files (sources/files.py). The
query returns the declared columns converted to their declared types, any undeclared columns
the source has started to deliver (as text; schema drift, reported), ``_source_file``,
``_problems`` (why a row cannot be loaded: a missing required value or a value that does not
convert), ``_row_json`` (the row as delivered, for quarantine, without private columns) and
``_private_json`` (of a row with problems, its private columns' values: what its quarantine
record must withhold wherever they appear).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import duckdb

from sotelake.engine import literal, quote
from sotelake.settings import ConfigurationError, Settings
from sotelake.sources.errors import SourceSchemaError
from sotelake.sources.fhir import PARSE_ERROR
from sotelake.sources.registry import Column, Source, Table
from sotelake.sources.window import Window
from sotelake.withholding import (
    column_label,
    columns_with_henkilotunnus,
    looks_like_column_name,
    withhold,
)

__all__ = ["Query", "SourceSchemaError", "attach", "extensions_for", "select_sql"]

# What PostgreSQL says when the user, password or database is wrong (libpq's messages)
REFUSED_CREDENTIALS = (
    "password authentication failed",
    "no pg_hba.conf entry",
    "does not exist",  # FATAL:  role "x" (or database "x") does not exist
)


def attach(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    settings: Settings,
    connection_lookup: Callable[[str], str | None] | None = None,
) -> None:
    """Attach a database source as schema ``src`` (read-only)."""
    url = source.url(settings, connection_lookup)
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///") :]  # sqlite:///relative/path or sqlite:////absolute/path
        if not Path(path).is_file():
            raise FileNotFoundError(f"Source {source.name}: SQLite database {path} does not exist")
        con.execute(f"ATTACH {literal(path)} AS src (TYPE sqlite, READ_ONLY)")
    elif parsed.scheme in ("postgres", "postgresql"):
        try:
            con.execute(f"ATTACH {literal(url)} AS src (TYPE postgres, READ_ONLY)")
        except duckdb.Error as error:
            if not any(refusal in str(error) for refusal in REFUSED_CREDENTIALS):
                raise  # e.g. the server is restarting: the task is tried again
            # a retry would be refused again (and may lock the account): fix the credentials
            raise ConfigurationError(
                f"Source {source.name}: the database refused the credentials of "
                f"{withhold(url)}: {withhold(str(error).strip())}"
            ) from None
    else:
        raise ValueError(f"Source {source.name}: unsupported URL scheme {parsed.scheme!r}")


def extensions_for(source: Source, settings: Settings, connection_lookup=None) -> tuple[str, ...]:
    if source.kind != "database":
        return ()
    scheme = urlparse(source.url(settings, connection_lookup)).scheme
    return ("sqlite-scanner",) if scheme == "sqlite" else ("postgres-scanner",)


@dataclass
class Query:
    """The extraction query of one load and what it found about the delivered schema."""

    sql: str
    new_columns: list[str] = field(default_factory=list)  # undeclared, carried as text
    withheld_columns: list[str] = field(default_factory=list)  # undeclared, hold henkilötunnus
    missing_columns: list[str] = field(default_factory=list)  # declared optional, not delivered


def _from_clause(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    table: Table,
    window: Window,
    files: list[Path],
) -> tuple[str, str]:
    """FROM clause (with the load's window) and the expression of the source file name."""
    if source.kind == "database":
        bounds = []
        if table.watermark and window.lower:
            bounds.append(f"{quote(table.watermark)} >= {literal(window.lower.isoformat(' '))}")
        if table.watermark and window.upper:
            bounds.append(f"{quote(table.watermark)} < {literal(window.upper.isoformat(' '))}")
        where = f" WHERE {' AND '.join(bounds)}" if bounds else ""
        if window.lower and (in_sqlite := _window_in_sqlite(con, table, where)):
            return in_sqlite, "NULL::VARCHAR"
        return f"(SELECT * FROM src.{quote(table.name)}{where})", "NULL::VARCHAR"
    if not files:  # nothing delivered: no rows, with the declared columns as a file has them
        nothing = ", ".join(f"NULL::VARCHAR AS {quote(c.name)}" for c in table.columns)
        return f"(SELECT {nothing}, NULL::VARCHAR AS filename WHERE false)", "filename"
    names = ", ".join(literal(str(p)) for p in files)
    if source.kind in ("fhir_bulk", "sotkanet"):  # the load flattened the records to Parquet
        return (
            f"(SELECT * EXCLUDE (_source_file), _source_file AS filename "
            f"FROM read_parquet([{names}]))",
            "filename",
        )
    d = source.dialect
    options = [
        f"delim={literal(d.get('delimiter', ','))}",
        "header=true",
        "all_varchar=true",
        "filename=true",
        "union_by_name=true",
    ]
    return (f"read_csv([{names}], {', '.join(options)})", "regexp_extract(filename, '[^/]+$')")


# Column types that SQLite hands over as text without loss (a REAL would be rounded to 15
# digits, a BLOB is not text), so that a query run inside SQLite can be typed back exactly.
_EXACT_AS_TEXT = {"BIGINT", "INTEGER", "VARCHAR"}


def _window_in_sqlite(con: duckdb.DuckDBPyConnection, table: Table, where: str) -> str | None:
    """The window of an incremental load as a query that SQLite itself runs (``sqlite_query``),
    typed back to the columns' types, or None where DuckDB should scan the table instead.

    DuckDB's SQLite scanner reads every row and filters afterwards, so a day's changes cost a
    scan of the whole table; inside SQLite the filter uses an index on the watermark column (a
    record system's change-tracking index; the demo county's tables have one). SQLite returns
    the values as text here, so this is done only for tables whose columns all convert back
    exactly; on PostgreSQL DuckDB pushes the filter down by itself.
    """
    (kind,) = con.execute(
        "SELECT type FROM duckdb_databases() WHERE database_name = 'src'"
    ).fetchone()
    if kind != "sqlite":
        return None
    described = con.execute(f"DESCRIBE src.{quote(table.name)}").fetchall()
    types = {name: column_type for name, column_type, *_ in described}
    if not set(types.values()) <= _EXACT_AS_TEXT:
        return None
    inner = f"SELECT * FROM {quote(table.name)}{where}"
    typed = ", ".join(f"CAST({quote(c)} AS {t}) AS {quote(c)}" for c, t in types.items())
    return f"(SELECT {typed} FROM sqlite_query('src', {literal(inner)}))"


def _converted(col: Column, source: Source, delivered_type: str) -> str:
    """Expression converting a delivered value to the declared type (NULL if it cannot)."""
    ref = quote(col.name)
    if col.privacy == "person_identifier" or col.type == "varchar":
        return ref if delivered_type == "VARCHAR" else f"{ref}::VARCHAR"
    if delivered_type == col.type.upper():  # typed already (a database column)
        return ref
    if source.kind != "database":  # delivered as text (CSV, FHIR)
        d = source.dialect
        text = f"trim({ref})"
        if col.type.startswith("decimal") or col.type == "double":
            if d.get("decimal", ".") == ",":
                text = f"replace(replace({text}, '.', ''), ',', '.')"
            return f"TRY_CAST({text} AS {col.type.upper()})"
        if col.type == "date" and d.get("date_format"):
            return f"TRY_CAST(try_strptime({text}, {literal(d['date_format'])}) AS DATE)"
        if col.type == "timestamp" and d.get("timestamp_format"):
            return f"try_strptime({text}, {literal(d['timestamp_format'])})"
        return f"TRY_CAST({text} AS {col.type.upper()})"
    return f"TRY_CAST({ref} AS {col.type.upper()})"


def delivered_columns(con: duckdb.DuckDBPyConnection, from_clause: str) -> dict[str, str]:
    """The delivered columns and their types as DuckDB reads them (all VARCHAR from files)."""
    return {
        row[0]: row[1]
        for row in con.execute(f"DESCRIBE SELECT * FROM {from_clause} LIMIT 0").fetchall()
    }


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    table: Table,
    window: Window,
    files: list[Path] | None = None,
) -> Query:
    """The query that reads, types and checks the rows of one load of a registered table."""
    from_clause, file_expr = _from_clause(con, source, table, window, files or [])
    delivered = delivered_columns(con, from_clause)
    parse_errors = PARSE_ERROR in delivered  # lines a reader could not parse (FHIR)
    if source.kind != "database":
        delivered = {c: t for c, t in delivered.items() if c not in ("filename", PARSE_ERROR)}
    declared = {c.name for c in table.columns}
    where = ", ".join(p.name for p in files or []) or table.name
    required_missing = [c.name for c in table.columns if c.required and c.name not in delivered]
    if required_missing:
        names = sorted(column_label(c, i) for i, c in enumerate(delivered, 1))
        raise SourceSchemaError(
            f"{source.name}.{table.name}: {where} lacks required column(s) {required_missing} "
            f"declared in config/sources.yml (delivered: {names})"
        )
    query = Query(sql="")
    query.missing_columns = [c.name for c in table.columns if c.name not in delivered]
    extra = [c for c in delivered if c not in declared]
    # an undeclared column whose name may be a value (a code, a name with a space) is not
    # carried, and is reported by its position only
    odd = [c for c in extra if not looks_like_column_name(c)]
    positions = {c: i for i, c in enumerate(delivered, 1)}
    extra = [c for c in extra if c not in odd]
    if extra:
        relation = f"(SELECT {', '.join(quote(c) for c in extra)} FROM {from_clause})"
        query.withheld_columns = columns_with_henkilotunnus(con, relation)
        query.new_columns = [c for c in extra if c not in query.withheld_columns]
    query.withheld_columns += [column_label(c, positions[c]) for c in odd]
    selected, converted, problems, public = [], [], [], []
    for col in table.kept_columns:
        ref = quote(col.name)
        if col.name in query.missing_columns:
            selected.append(f"NULL::{'VARCHAR' if col.privacy else col.type.upper()} AS {ref}")
            continue
        value = _converted(col, source, delivered[col.name])
        if value != ref:  # converted once, in its own column, for the check and the result
            converted.append(f"{value} AS {quote(f'__converted_{len(converted)}')}")
            value = quote(f"__converted_{len(converted) - 1}")
        selected.append(f"{value} AS {ref}")
        # only text can be blank; a typed database column is either null or a value
        text = delivered[col.name] == "VARCHAR"
        blank = f" OR trim({ref}) = ''" if text else ""
        if col.required and not col.identifying:
            problems.append(f"CASE WHEN {ref} IS NULL{blank} THEN 'missing:{col.name}' END")
        if not col.identifying and col.type != "varchar" and value != ref:
            present = f" AND trim({ref}) <> ''" if text else ""
            problems.append(
                f"CASE WHEN {ref} IS NOT NULL{present} "
                f"AND {value} IS NULL THEN 'bad_type:{col.name}' END"
            )
        if not col.identifying:
            public.append(f"{ref} := {ref}::VARCHAR")
    for name in query.new_columns:
        selected.append(f"{quote(name)}::VARCHAR AS {quote(name)}")
        public.append(f"{quote(name)} := {quote(name)}::VARCHAR")
    if parse_errors:
        problems.insert(
            0, f"CASE WHEN {PARSE_ERROR} IS NOT NULL THEN 'parse_error:' || {PARSE_ERROR} END"
        )
    problem_expr = f"NULLIF(concat_ws(';', {', '.join(problems)}), '')" if problems else "NULL"
    # the row's names, addresses and codes as delivered, for a quarantined row only: what its
    # quarantine record must not quote anywhere (sotelake.withholding); never stored themselves
    private = [
        f"{quote(c.name)} := {quote(c.name)}::VARCHAR"
        for c in table.columns
        if c.identifying and c.name in delivered
    ]
    private_expr = (
        f"CASE WHEN _problems IS NOT NULL THEN to_json(struct_pack({', '.join(private)})) END"
        if private
        else "NULL::VARCHAR"
    )
    query.sql = f"""
        WITH delivered AS (
            SELECT *, {", ".join([*converted, f"{file_expr} AS _source_file"])}
            FROM {from_clause}
        ),
        checked AS (SELECT *, {problem_expr} AS _problems FROM delivered)
        SELECT {", ".join(selected)}, _source_file, _problems,
               CASE WHEN _problems IS NOT NULL
                    THEN to_json(struct_pack({", ".join(public)})) END AS _row_json,
               {private_expr} AS _private_json
        FROM checked
    """
    return query
