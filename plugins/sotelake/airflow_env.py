"""Airflow's configuration for the embedded mode, in one place.

``make demo``, ``make airflow`` and the tests all run Airflow with these settings: metadata in
SQLite under ``<data>/airflow``, the repository's ``dags/`` and ``plugins/`` folders and no
example DAGs.
"""

from __future__ import annotations

import json
import os

from sotelake.settings import REPO_ROOT, Settings, get_settings


def environment(settings: Settings | None = None) -> dict[str, str]:
    from sotelake.publish.lineage import airflow_environment

    settings = settings or get_settings()
    home = settings.data_dir / "airflow"
    return {
        # OpenLineage events of the tasks (the provider's listener): where the pipeline's own go
        **airflow_environment(settings),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/Helsinki",
        # SQLite: wait for a lock rather than fail (a busy scheduler and the task API share it)
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db?timeout=60",
        # A 2-core machine: a few tasks at a time (they are CPU-bound; more only contend)
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.logs / "airflow"),
        "AIRFLOW__LOGGING__DAG_PROCESSOR_CHILD_PROCESS_LOG_DIRECTORY": str(
            settings.logs / "airflow" / "dag_processor"
        ),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "SOTELAKE_DATA_DIR": str(settings.data_dir),
    }


def configure(settings: Settings | None = None) -> dict[str, str]:
    """Set the environment before ``airflow`` is imported (it reads its settings at import)."""
    env = environment(settings)
    for key, value in env.items():
        os.environ.setdefault(key, value)
    (settings or get_settings()).data_dir.joinpath("airflow").mkdir(parents=True, exist_ok=True)
    if transport := env.get("AIRFLOW__OPENLINEAGE__TRANSPORT"):
        from sotelake.publish.lineage import prepare

        prepare(json.loads(transport))
    return env


# The DAG's pools of one slot each, whichever run their tasks belong to (migrate_database
# creates them). DuckDB allows one process at a time on the warehouse file: the tasks that open
# it (dbt, the reports) share one slot. Airflow creates an asset on its first event, and two
# runs recording a lake zone's first event at once (a backfill beside the day's run) fail one
# task on its unique key: the task that records the zones' events (validate) has one slot.
DUCKDB_WRITER_POOL = "duckdb_writer"
LAKE_EVENTS_POOL = "lake_zone_events"
POOLS = {
    DUCKDB_WRITER_POOL: "Tasks that open the DuckDB warehouse, one at a time",
    LAKE_EVENTS_POOL: "The task that records the lake zones' asset events, one run at a time",
}


def migrate_database() -> None:
    """Create or upgrade Airflow's metadata database (``airflow db migrate``) and the pools."""
    from airflow.models.pool import Pool
    from airflow.utils import db

    db.upgradedb()
    from airflow import settings as airflow_settings

    if airflow_settings.engine.dialect.name == "sqlite":  # readers then never block the writer
        with airflow_settings.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    for name, description in POOLS.items():
        Pool.create_or_update_pool(name, slots=1, include_deferred=False, description=description)
