"""Airflow's configuration for the embedded mode, in one place.

``make demo``, ``make airflow`` and the tests all run Airflow with these settings: metadata in
SQLite under ``<data>/airflow``, the repository's ``dags/`` and ``plugins/`` folders and no
example DAGs.
"""

from __future__ import annotations

import os

from sotelake.settings import REPO_ROOT, Settings, get_settings


def environment(settings: Settings | None = None) -> dict[str, str]:
    settings = settings or get_settings()
    home = settings.data_dir / "airflow"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Europe/Helsinki",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
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
    return env


def migrate_database() -> None:
    """Create or upgrade Airflow's metadata database (``airflow db migrate``)."""
    from airflow.utils import db

    db.upgradedb()
