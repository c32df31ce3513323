"""Lake layout (DESIGN.md): one place that knows where every zone's files go.

    <lake>/raw/<source>/<table>/load_date=YYYY-MM-DD/<load_id>.parquet
    <lake>/quarantine/<source>/<table>/load_date=YYYY-MM-DD/<load_id>.parquet
    <lake>/rejected/<source>/<table>/load_date=YYYY-MM-DD/<load_id>.parquet
    <lake>/dq/load_audit/<source>__<table>__YYYY-MM-DD.parquet
    <lake>/dq/validation_results/<source>__<table>__YYYY-MM-DD.parquet
    <lake>/gold/<schema>/<table>.parquet   the public marts of the last build (publish.gold)

A load owns its partition: re-running it for the same load date replaces the partition (and its
quarantine, audit and validation files) and never adds to it. ``<lake>`` is a local folder or a
folder on an object store; lake.storage reads and writes under it, and says what is atomic.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sotelake.lake.storage import LakePath

RAW = "raw"
QUARANTINE = "quarantine"
REJECTED = "rejected"  # batches a critical expectation held back, kept for replay
DQ = "dq"
GOLD = "gold"  # Parquet exports of the public marts, replaced whole by each run


def partition(lake: LakePath, zone: str, source: str, table: str, load_date: date) -> LakePath:
    return lake / zone / source / table / f"load_date={load_date.isoformat()}"


def load_name(source: str, table: str, load_date: date) -> str:
    """``<source>__<table>__YYYY-MM-DD``: the load of a table for a load date, as files and
    scratch folders are named after it."""
    return f"{source}__{table}__{load_date.isoformat()}"


def dq_file(lake: LakePath, kind: str, source: str, table: str, load_date: date) -> LakePath:
    return lake / DQ / kind / f"{source}__{table}__{load_date.isoformat()}.parquet"


def dq_file_load(path: LakePath) -> tuple[str, str, date]:
    """The load (source, table, load date) a quality file of ``dq_file`` is of."""
    source, rest = path.name.removesuffix(".parquet").split("__", 1)
    table, day = rest.rsplit("__", 1)
    return source, table, date.fromisoformat(day)
