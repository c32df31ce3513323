"""A dbt-duckdb plugin (dbt/profiles.yml): the build's DuckDB reaches the lake where it lies.

For a lake on an object store it loads httpfs and the store's credentials
(lake.storage.configure_duckdb, the same as every other DuckDB connection that reads the lake);
for a local lake it does nothing.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from sotelake.lake.storage import configure_duckdb
from sotelake.settings import get_settings


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        configure_duckdb(conn, get_settings().lake)
