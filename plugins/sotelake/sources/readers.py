"""Read a registered table as typed rows, in one DuckDB query per table.

Database sources are attached read-only (SQLite file or PostgreSQL server); file sources are
read with ``read_csv`` in their dialect. The query returns the declared columns converted to
their declared types, ``_source_file``, ``_problems`` (why a row cannot be loaded: a missing
required value or a value that does not convert) and ``_row_json`` (the row as delivered, for
quarantine, without private columns).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import duckdb

from sotelake.engine import literal, quote
from sotelake.settings import Settings
from sotelake.sources.registry import Column, Source, Table


class SourceSchemaError(RuntimeError):
    """A source table or file lacks a column the registry declares."""


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
        con.execute(f"ATTACH {literal(url)} AS src (TYPE postgres, READ_ONLY)")
    else:
        raise ValueError(f"Source {source.name}: unsupported URL scheme {parsed.scheme!r}")


def extensions_for(source: Source, settings: Settings, connection_lookup=None) -> tuple[str, ...]:
    if source.kind != "database":
        return ()
    scheme = urlparse(source.url(settings, connection_lookup)).scheme
    return ("sqlite-scanner",) if scheme == "sqlite" else ("postgres-scanner",)


def _from_clause(source: Source, table: Table, settings: Settings) -> tuple[str, str]:
    """FROM clause and the expression of the source file name."""
    if source.kind == "database":
        return f"src.{quote(table.name)}", "NULL::VARCHAR"
    d = source.dialect
    pattern = source.path(settings) / table.files
    options = [
        f"delim={literal(d.get('delimiter', ','))}",
        f"header={str(bool(d.get('header', True))).lower()}",
        f"encoding={literal(d.get('encoding', 'utf-8'))}",
        "all_varchar=true",
        "filename=true",
    ]
    return (
        f"read_csv({literal(str(pattern))}, {', '.join(options)})",
        "regexp_extract(filename, '[^/]+$')",
    )


def _converted(col: Column, source: Source) -> str:
    """Expression converting a delivered value to the declared type (NULL if it cannot)."""
    ref = quote(col.name)
    if col.privacy == "person_identifier" or col.type == "varchar":
        return f"{ref}::VARCHAR"
    if source.kind == "files":
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


def delivered_columns(con: duckdb.DuckDBPyConnection, from_clause: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {from_clause}").fetchall()]


def select_sql(
    con: duckdb.DuckDBPyConnection, source: Source, table: Table, settings: Settings
) -> str:
    """The query that reads, types and checks every row of a registered table."""
    from_clause, file_expr = _from_clause(source, table, settings)
    delivered = set(delivered_columns(con, from_clause))
    missing = [c.name for c in table.columns if c.name not in delivered]
    if missing:
        where = str(source.path(settings) / table.files) if source.kind == "files" else table.name
        raise SourceSchemaError(
            f"{source.name}.{table.name}: {where} lacks column(s) {missing} declared in "
            f"config/sources.yml (delivered: {sorted(delivered)})"
        )
    selected, problems, public = [], [], []
    for col in table.kept_columns:
        ref, value = quote(col.name), _converted(col, source)
        selected.append(f"{value} AS {ref}")
        if col.required and col.privacy is None:
            problems.append(
                f"CASE WHEN {ref} IS NULL OR trim({ref}::VARCHAR) = '' "
                f"THEN 'missing:{col.name}' END"
            )
        if col.privacy is None and col.type != "varchar":
            problems.append(
                f"CASE WHEN {ref} IS NOT NULL AND trim({ref}::VARCHAR) <> '' "
                f"AND {value} IS NULL THEN 'bad_type:{col.name}' END"
            )
        if col.privacy is None:
            public.append(f"{quote(col.name)} := {ref}::VARCHAR")
    problem_expr = f"NULLIF(concat_ws(';', {', '.join(problems)}), '')" if problems else "NULL"
    return f"""
        WITH delivered AS (
            SELECT *, {problem_expr} AS _problems, {file_expr} AS _source_file FROM {from_clause}
        )
        SELECT {", ".join(selected)}, _source_file, _problems,
               CASE WHEN _problems IS NOT NULL
                    THEN to_json(struct_pack({", ".join(public)})) END AS _row_json
        FROM delivered
    """
