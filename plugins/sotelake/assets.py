"""Airflow assets: one per lake zone and per published mart, so lineage shows in the UI and
other DAGs (a county's BI refresh, say) can be scheduled on the data they need.

Cheap to import (the DAG file uses it): mart names come from the dbt model files, not from dbt.
"""

from __future__ import annotations

from airflow.sdk import Asset

from sotelake.settings import get_settings

LAKE_ZONES = ("raw", "quarantine", "rejected", "dq", "gold")
MART_FOLDERS = {"core": "marts", "indicators": "marts", "dq": "dq"}  # folder -> schema


def lake_zone(zone: str) -> Asset:
    if zone not in LAKE_ZONES:
        raise ValueError(f"unknown lake zone {zone!r}; zones are {', '.join(LAKE_ZONES)}")
    return Asset(name=f"sotelake.lake.{zone}", group="lake")


def published_marts() -> list[Asset]:
    """One asset per public mart (``marts`` and ``dq`` schemas) of the warehouse."""
    marts = get_settings().dbt_project / "models" / "marts"
    return [
        Asset(name=f"sotelake.warehouse.{schema}.{model.stem}", group="warehouse")
        for folder, schema in MART_FOLDERS.items()
        for model in sorted((marts / folder).glob("*.sql"))
    ]


REPORTS = Asset(name="sotelake.reports", group="reports")
BI_WAREHOUSE = Asset(name="sotelake.bi_warehouse", group="warehouse")
