"""Secrets and connections as Airflow provides them (Variables, Connections, secrets backends).

Used only inside Airflow tasks. Outside Airflow the same values come from environment variables
(see sotelake.settings and sotelake.sources.registry).

A connection may be stored in Airflow's metadata database (the UI's Admin > Connections, with
the Postgres or SQLite connection type of the installed providers), in a secrets backend, or
given as ``AIRFLOW_CONN_<ID>`` (a URI, or JSON of the fields); either way Airflow hands over
its fields, and ``url_of`` builds the source's URL from them, escaping each part.
"""

from __future__ import annotations

import os
from urllib.parse import quote, unquote, urlencode, urlsplit

from sotelake import settings

KEY_VARIABLE = "sotelake_pseudonym_key"
# Connection extras that libpq (and so DuckDB's postgres extension) takes as URL parameters;
# the other extras of Airflow's Postgres connection (cursor, iam, ...) are for its own hook.
LIBPQ_PARAMETERS = (
    "sslmode",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "sslcrl",
    "connect_timeout",
    "application_name",
    "options",
    "target_session_attrs",
    "keepalives",
    "keepalives_idle",
    "gssencmode",
)


def mask_secrets() -> None:
    """Have Airflow mask, in every line of the task's log, the secrets the environment holds:
    the pseudonymisation key and the passwords of the database URLs (``SOTELAKE_*_URL``). The
    Connections' passwords Airflow masks itself; texts the pipeline writes are withheld anyway
    (sotelake.withholding)."""
    from airflow.sdk.log import mask_secret

    for name, value in os.environ.items():
        if name.startswith("SOTELAKE_") and name.endswith("_URL") and "://" in value:
            if password := urlsplit(value).password:
                mask_secret(password)
                mask_secret(unquote(password))
    try:
        mask_secret(settings.pseudonym_key().decode("utf-8"))
    except settings.ConfigurationError:
        pass  # none in the environment: the Variable's is masked as it is read


def pseudonym_key() -> bytes:
    """The Airflow Variable ``sotelake_pseudonym_key`` if set, else the environment's key."""
    from airflow.sdk import Variable

    value = Variable.get(KEY_VARIABLE, default=None)
    if value:
        from airflow.sdk.log import mask_secret

        mask_secret(value.strip())
        if len(value.strip()) < 32:
            raise settings.ConfigurationError(
                f"Variable {KEY_VARIABLE} is shorter than 32 characters"
            )
        return value.strip().encode("utf-8")
    return settings.pseudonym_key()


def connection_url(conn_id: str) -> str | None:
    """The database URL of an Airflow connection, or None when there is no such connection."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import Connection

    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        return None
    return url_of(
        conn.conn_type,
        host=conn.host,
        port=conn.port,
        login=conn.login,
        password=conn.password,
        schema=conn.schema,
        extra=conn.extra_dejson,
        conn_id=conn_id,
    )


def url_of(
    conn_type: str | None,
    *,
    host: str | None = None,
    port: int | None = None,
    login: str | None = None,
    password: str | None = None,
    schema: str | None = None,
    extra: dict | None = None,
    conn_id: str = "?",
) -> str:
    """A source URL from a connection's fields, each part percent-encoded (a password such as
    ``p@ss:w/rd#1`` stays a password). Postgres: the database is the connection's *schema*
    field, as in Airflow's Postgres connection; SQLite: the database file is its *host*."""
    kind = (conn_type or "").lower()
    if kind == "sqlite":
        if not host:
            raise settings.ConfigurationError(
                f"Airflow connection {conn_id!r} (sqlite): set Host to the database file's path"
            )
        return f"sqlite:///{host}"
    if kind in ("postgres", "postgresql"):
        if not host:
            raise settings.ConfigurationError(f"Airflow connection {conn_id!r} (postgres): no Host")
        auth = ""
        if login:
            auth = quote(login, safe="")
            if password:
                auth += ":" + quote(password, safe="")
            auth += "@"
        address = f"[{host}]" if ":" in host and not host.startswith("[") else host
        address += f":{int(port)}" if port else ""
        query = {k: str(v) for k, v in (extra or {}).items() if k in LIBPQ_PARAMETERS}
        return f"postgresql://{auth}{address}/{quote(schema or '', safe='')}" + (
            f"?{urlencode(query)}" if query else ""
        )
    raise settings.ConfigurationError(
        f"Airflow connection {conn_id!r} is of type {conn_type!r}: a source database is a "
        "postgres or sqlite connection"
    )
