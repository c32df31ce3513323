"""Per-table load state: what each load date took from its source (watermarks, files).

``<lake>/_state/<source>__<table>.json`` records, for every load date, the window of an
incremental database table (rows with ``lower <= watermark column < upper``) or the files a file
table took. A load's window depends only on the loads of earlier dates, so re-running a date
takes the same rows again, and a backfill of older dates does not disturb later ones.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sotelake.lake import storage
from sotelake.sources.window import Window  # noqa: F401 (the window of a load, kept here)

if TYPE_CHECKING:
    from sotelake.lake.storage import LakePath


def _path(lake: LakePath, source: str, table: str) -> LakePath:
    return lake / "_state" / f"{source}__{table}.json"


def read_state(lake: LakePath, source: str, table: str) -> dict[str, dict]:
    return json.loads(storage.read_text(_path(lake, source, table)) or "{}")


def record(lake: LakePath, source: str, table: str, load_date: date, window: Window) -> None:
    """Remember what the load of ``load_date`` took (replacing an earlier run of that date).

    Loads of the same table for different dates may run at once (a backfill beside the daily
    run): the read-modify-write of the state file is exclusive (storage.update_text).
    """

    def with_this_load(text: str | None) -> str:
        state = json.loads(text or "{}")
        state[load_date.isoformat()] = window.to_json()
        return json.dumps(dict(sorted(state.items())), indent=1)

    storage.update_text(_path(lake, source, table), with_this_load)


def incremental_window(
    lake: LakePath, source: str, table: str, load_date: date, lookback: timedelta | None = None
) -> Window:
    """Rows changed after the previous load date's upper bound, up to the end of ``load_date``.

    The first load of a table has no lower bound: it takes everything so far. With
    ``lookback`` (the table's ``lookback:``), the window begins that much before the previous
    upper bound, so a row committed after the previous load but stamped inside its window (a
    long transaction, a clock behind) is taken late rather than never; the rows read twice
    are merged by key in staging, the newest version winning.
    """
    earlier = [
        datetime.fromisoformat(entry["upper"])
        for day, entry in read_state(lake, source, table).items()
        if date.fromisoformat(day) < load_date and entry.get("upper")
    ]
    upper = datetime.combine(load_date + timedelta(days=1), time())
    lower = max(earlier, default=None)
    if lower is not None and lookback:
        lower -= lookback
    return Window(lower=lower, upper=upper)


def deliveries(lake: LakePath, source: str, table: str) -> tuple[list[date], date | None]:
    """The load dates that delivered something, and the table's first load date (None when it
    has none). A date recorded before deliveries were (no ``delivered``) counts when it took
    files or had a window."""
    recorded = read_state(lake, source, table)
    delivered = [
        date.fromisoformat(day)
        for day, entry in recorded.items()
        if entry.get("delivered", bool(entry.get("files")) or entry.get("upper") is not None)
    ]
    first = min((date.fromisoformat(day) for day in recorded), default=None)
    return sorted(delivered), first


def file_signature(path: Path) -> dict:
    """SHA-256 of a delivered file's content, with what tells whether the file on disk is still
    the one hashed: its size, modification and change times, and inode."""
    stat = path.stat()
    with open(path, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return {"sha256": digest, **_identity(stat)}


def _identity(stat) -> dict:
    return {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        # changed by the system on every write, rename or touch, and not settable by a user:
        # a file with the same inode and change time is the very file hashed, unchanged
        "ctime_ns": stat.st_ctime_ns,
        "inode": stat.st_ino,
    }


def new_files(
    lake: LakePath, source: str, table: str, load_date: date, candidates: list[Path]
) -> list[Path]:
    """The files a load of ``load_date`` takes: those no other load date has taken already.

    A file counts as taken by its name and content (SHA-256), so a corrected re-delivery under
    the same name is new again, even with the same size and modification time. A file is not
    hashed again only when it is the very file an earlier load hashed (the same inode and
    change time, which every write, rename or touch moves on). A re-run of a date takes its
    own files again.
    """
    taken: dict[str, list[dict]] = {}
    for day, entry in read_state(lake, source, table).items():
        if day != load_date.isoformat():
            for name, signature in entry.get("files", {}).items():
                taken.setdefault(name, []).append(signature)
    chosen = []
    for path in candidates:
        earlier = taken.get(path.name, [])
        if not earlier:
            chosen.append(path)
            continue
        unchanged = _identity(path.stat())
        if any(all(s.get(k) == v for k, v in unchanged.items()) for s in earlier):
            continue  # the very file hashed then
        if file_signature(path)["sha256"] not in {s["sha256"] for s in earlier}:
            chosen.append(path)
    return chosen
