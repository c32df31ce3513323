"""Secrets and connections as Airflow provides them (Variables, Connections, secrets backends).

Used only inside Airflow tasks. Outside Airflow the same values come from environment variables
(see sotelake.settings and sotelake.sources.registry).
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from sotelake import settings

KEY_VARIABLE = "sotelake_pseudonym_key"


def mask_secrets() -> None:
    """Have Airflow mask, in every line of the task's log, the secrets the environment holds:
    the pseudonymisation key and the passwords of the database URLs (``SOTELAKE_*_URL``). The
    Connections' passwords Airflow masks itself; texts the pipeline writes are withheld anyway
    (privacy.withhold)."""
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
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    if conn.conn_type in ("postgres", "postgresql"):
        auth = f"{conn.login}:{conn.password}@" if conn.login else ""
        port = f":{conn.port}" if conn.port else ""
        return f"postgresql://{auth}{conn.host}{port}/{conn.schema}"
    return conn.get_uri()
