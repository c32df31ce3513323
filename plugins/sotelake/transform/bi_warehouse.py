"""The PostgreSQL BI warehouse: the public marts, where BI tools log in with a read-only role.

After each build the public relations (``marts``, ``dq``; transform.public_interface) are copied
from the DuckDB warehouse into PostgreSQL with DuckDB's postgres extension (binary COPY), into
``<schema>__loading`` schemas that replace the live ones in one PostgreSQL transaction: a BI
query sees the previous run's tables or this run's, never a half-published mix.

Roles (created if missing, NOLOGIN; a county grants them to its login users):

    bi_reader   CONNECT to this database, USAGE on marts and dq, SELECT on their public
                tables; nothing else: no raw data (it never leaves the lake), no row-level
                quality records, no internal schema, no writes, no temporary tables
    dq_steward  bi_reader's rights and the stewards-only tables (dq.quarantine,
                dq.validation_examples)
    bi_public   for wide audiences: CONNECT, USAGE on marts and SELECT on its aggregates only
                (public_interface.aggregate_relations: the indicators and the dimensions
                without persons); no fact, no person, no quality record

Where it creates the roles, the publisher also takes from PUBLIC (every role) what PostgreSQL
gives it by default: TEMP and CONNECT on this database (the BI roles get CONNECT back), CONNECT
and TEMP on every other database of the cluster that it may administer (so BI roles connect to
the warehouse database only), and the use of the schema ``public``. Reading server files,
running programs (``COPY ... TO PROGRAM``) and taking other roles stay the superuser's.

The schema ``sotelake`` (no grants) logs each publication. Objects that BI users build on top
of the marts in this database are dropped by the swap: keep them in the BI tool.

Where: ``SOTELAKE_BI_WAREHOUSE_URL`` (``postgresql://user:pw@host:5432/db``) or, in Airflow,
the connection ``sotelake_bi_warehouse``; without either, the step is skipped.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from sotelake.engine import connect, literal, quote
from sotelake.settings import Settings, get_settings
from sotelake.transform.public_interface import (
    PUBLIC_SCHEMAS,
    aggregate_relations,
    public_relations,
    steward_relations,
)

log = logging.getLogger(__name__)

URL_ENV = "SOTELAKE_BI_WAREHOUSE_URL"
CONNECTION_ID = "sotelake_bi_warehouse"
BI_READER = "bi_reader"
DQ_STEWARD = "dq_steward"
BI_PUBLIC = "bi_public"
ROLES = (BI_READER, DQ_STEWARD, BI_PUBLIC)
INTERNAL_SCHEMA = "sotelake"


@dataclass(frozen=True)
class Publication:
    url_host: str
    tables: dict[str, int]  # schema.table -> rows
    seconds: float


def bi_warehouse_url(connection_lookup: Callable[[str], str | None] | None = None) -> str | None:
    """The configured BI warehouse: the Airflow connection, else the environment, else None."""
    if connection_lookup and (url := connection_lookup(CONNECTION_ID)):
        return url
    return os.environ.get(URL_ENV) or None


def publish_to_postgres(
    url: str, settings: Settings | None = None, run_id: str | None = None
) -> Publication:
    """Copy the public marts into the PostgreSQL warehouse and grant the BI roles on them."""
    settings = settings or get_settings()
    started = time.perf_counter()
    con = connect(extensions=("postgres-scanner",))
    try:
        con.execute(f"ATTACH {literal(settings.warehouse)} AS wh (READ_ONLY)")
        con.execute("USE wh")
        public = public_relations(con)
        stewards_only = steward_relations(con)
        aggregates = aggregate_relations(con)
        con.execute(f"ATTACH {literal(url)} AS bi (TYPE postgres)")
        loading = {schema: f"{schema}__loading" for schema in PUBLIC_SCHEMAS}
        _pg(
            con,
            "".join(
                f"drop schema if exists {quote(s)} cascade; create schema {quote(s)};"
                for s in loading.values()
            ),
        )
        tables = {}
        for relation in public + stewards_only:
            schema, table = relation.split(".")
            target = f"bi.{quote(loading[schema])}.{quote(table)}"
            con.execute(f"create table {target} as select * from wh.{relation}")
            tables[relation] = con.execute(f"select count(*) from wh.{relation}").fetchone()[0]
        _pg(con, _swap_and_grant_sql(loading, public, stewards_only, tables, run_id, aggregates))
    finally:
        con.close()
    publication = Publication(_host(url), tables, round(time.perf_counter() - started, 2))
    log.info(
        "BI warehouse %s: %d tables, %d rows in %.1f s (roles %s)",
        publication.url_host,
        len(tables),
        sum(tables.values()),
        publication.seconds,
        ", ".join(ROLES),
    )
    return publication


def _roles_sql() -> str:
    """The BI roles (created if missing) and the database's defaults taken from PUBLIC: one DO
    block, so that it runs in the publisher's transaction."""
    roles = "".join(
        f"if not exists (select from pg_roles where rolname = '{role}') then "
        f"create role {role} nologin; end if; "
        for role in ROLES
    )
    here = "current_database()"
    return (
        f"do $$ declare other record; begin {roles}"
        f"execute format('revoke connect, temporary on database %I from public', {here}); "
        f"execute format('grant connect on database %I to {', '.join(ROLES)}', {here}); "
        # the cluster's other databases that this user owns or administers; a database it
        # may not change keeps its grants (its owner revokes them: docs/privacy.md)
        "for other in select datname from pg_database where datallowconn "
        f"and datname <> {here} and pg_has_role(datdba, 'MEMBER') loop "
        "execute format('revoke connect, temporary on database %I from public', other.datname); "
        "end loop; end $$"
    )


def ensure_roles(url: str) -> None:
    """Create the roles bi_reader, dq_steward and bi_public if they are missing, and take PUBLIC's
    defaults away (see the module's documentation)."""
    con = connect(extensions=("postgres-scanner",))
    try:
        con.execute(f"ATTACH {literal(url)} AS bi (TYPE postgres)")
        _pg(con, _roles_sql() + "; revoke all on schema public from public")
    finally:
        con.close()


def _swap_and_grant_sql(
    loading: dict[str, str],
    public: list[str],
    stewards_only: list[str],
    tables: dict[str, int],
    run_id: str | None,
    aggregates: list[str] = (),
) -> str:
    """One multi-statement string: PostgreSQL runs it as one transaction."""
    statements = [
        _roles_sql(),
        "revoke all on schema public from public",
        f"create schema if not exists {INTERNAL_SCHEMA}",
        f"revoke all on schema {INTERNAL_SCHEMA} from public",
        f"create table if not exists {INTERNAL_SCHEMA}.publications (run_id text, "
        "published_at timestamptz default now(), tables jsonb)",
    ]
    for schema, temporary in loading.items():
        statements += [
            f"drop schema if exists {quote(schema)} cascade",
            f"alter schema {quote(temporary)} rename to {quote(schema)}",
            f"revoke all on schema {quote(schema)} from public",
            f"grant usage on schema {quote(schema)} to {BI_READER}, {DQ_STEWARD}",
        ]
    for relation in public:
        statements.append(f"grant select on {_qualified(relation)} to {BI_READER}, {DQ_STEWARD}")
    for relation in stewards_only:
        statements.append(f"grant select on {_qualified(relation)} to {DQ_STEWARD}")
    if aggregates:
        statements.append(f"grant usage on schema marts to {BI_PUBLIC}")
    for relation in aggregates:
        statements.append(f"grant select on {_qualified(relation)} to {BI_PUBLIC}")
    statements.append(
        f"insert into {INTERNAL_SCHEMA}.publications (run_id, tables) values "
        f"({literal(run_id or '')}, {literal(json.dumps(tables))}::jsonb)"
    )
    return ";\n".join(statements) + ";"


def _pg(con, sql: str) -> None:
    con.execute("CALL postgres_execute('bi', ?)", [sql])


def _qualified(relation: str) -> str:
    return ".".join(quote(part) for part in relation.split("."))


def _host(url: str) -> str:
    """The URL without its credentials, for logs."""
    return url.rsplit("@", 1)[-1]
