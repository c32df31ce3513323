"""Secrets and connections as Airflow provides them (Variables, Connections, secrets backends).

Used only inside Airflow tasks. Outside Airflow the same values come from environment variables
(see sotelake.settings and sotelake.sources.registry).
"""

from __future__ import annotations

from sotelake import settings

KEY_VARIABLE = "sotelake_pseudonym_key"


def pseudonym_key() -> bytes:
    """The Airflow Variable ``sotelake_pseudonym_key`` if set, else the environment's key."""
    from airflow.sdk import Variable

    value = Variable.get(KEY_VARIABLE, default=None)
    if value:
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
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    if conn.conn_type in ("postgres", "postgresql"):
        auth = f"{conn.login}:{conn.password}@" if conn.login else ""
        port = f":{conn.port}" if conn.port else ""
        return f"postgresql://{auth}{conn.host}{port}/{conn.schema}"
    return conn.get_uri()
