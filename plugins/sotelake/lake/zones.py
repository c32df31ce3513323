"""Lake layout (DESIGN.md): one place that knows where every zone's files go.

    <lake>/raw/<source>/<table>/load_date=YYYY-MM-DD/<load_id>.parquet
    <lake>/quarantine/<source>/<table>/load_date=YYYY-MM-DD/<load_id>.parquet
    <lake>/rejected/<source>/<table>/load_date=YYYY-MM-DD/<load_id>.parquet
    <lake>/dq/load_audit/<source>__<table>__YYYY-MM-DD.parquet
    <lake>/dq/validation_results/<source>__<table>__YYYY-MM-DD.parquet
    <lake>/gold/<schema>/<table>.parquet   the public marts of the last build (publish.gold)

A load owns its partition: re-running it for the same load date replaces the partition (and its
quarantine, audit and validation files) and never adds to it.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import date
from pathlib import Path

RAW = "raw"
QUARANTINE = "quarantine"
REJECTED = "rejected"  # batches a critical expectation held back, kept for replay
DQ = "dq"
GOLD = "gold"  # Parquet exports of the public marts, replaced whole by each run


def partition(lake: Path, zone: str, source: str, table: str, load_date: date) -> Path:
    return lake / zone / source / table / f"load_date={load_date.isoformat()}"


def dq_file(lake: Path, kind: str, source: str, table: str, load_date: date) -> Path:
    return lake / DQ / kind / f"{source}__{table}__{load_date.isoformat()}.parquet"


def scratch_dir(lake: Path) -> Path:
    """A fresh folder under ``<lake>/_tmp`` to write a load into before ``replace_dir``.

    It lies outside every zone, so a crashed load leaves nothing a reader's glob would find.
    """
    path = lake / "_tmp" / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def replace_dir(target: Path, new: Path) -> None:
    """Swap ``new`` in place of ``target`` by renames; readers never see half a partition."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = new.parent / f"{new.name}.old"
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
