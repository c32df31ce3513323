"""Open items: what went wrong stays on the list until someone resolves it.

Every rejected batch, failed load, file set aside and late delivery is an *item* in
``<lake>/dq/items/items.parquet`` (in the lake, so it outlives any rebuild of the warehouse;
public as ``dq.open_items``). An item is opened by the step that finds the problem and stays
open, whatever later runs do, until it is resolved:

- a **failed load** (``failed_load``): by a later successful load of the table (of the same or a
  later load date: an incremental window or a file not taken is taken by the next load); a table
  that keeps failing day after day is one item, seen again by each run, from its first failure;
- a **rejected batch** (``rejected_batch``): by its replay (``sotelake replay``), by a new load of
  its load date, by a re-delivery of the files it came from, or, for a full table, by a later
  load that replaced the whole table;
- a **file set aside** (``file_set_aside``): by a corrected file of the same name that a load
  takes;
- a **late delivery** (``late_delivery``): by the delivery, when it comes (lake/freshness.py);

or by a steward who dismisses it with a reason (``sotelake dismiss ITEM --reason ...``), which
is recorded. While anything is open, the run's last task (``conclude``) fails and alerts, and
says which items are new, which persist and which were resolved since the previous run
(``<lake>/dq/conclusion.json`` remembers what the previous run left open).

Items are updated under a lock (storage.update_bytes): loads of several tables run at once.
"""

from __future__ import annotations

import fnmatch
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from sotelake.lake import storage, zones

if TYPE_CHECKING:
    from sotelake.lake.storage import LakePath
    from sotelake.sources.registry import Source

FAILED_LOAD, REJECTED_BATCH, FILE_SET_ASIDE, LATE_DELIVERY = (
    "failed_load",
    "rejected_batch",
    "file_set_aside",
    "late_delivery",
)
KINDS = (FAILED_LOAD, REJECTED_BATCH, FILE_SET_ASIDE, LATE_DELIVERY)
OPEN, RESOLVED, DISMISSED = "open", "resolved", "dismissed"

ITEMS_SCHEMA = pa.schema(
    [
        ("item_id", pa.string()),  # <kind>:<source>.<table>:<load date, or the file set aside>
        ("kind", pa.string()),
        ("source", pa.string()),
        ("table_name", pa.string()),
        ("load_date", pa.date32()),  # the load date it concerns (a late delivery: its due date)
        ("load_id", pa.string()),  # the load that found it
        ("files", pa.string()),  # the delivered files it concerns, ';'-separated
        ("detail", pa.string()),  # what went wrong
        ("action", pa.string()),  # what resolves it
        ("status", pa.string()),  # open | resolved | dismissed
        ("opened_at", pa.timestamp("us", tz="UTC")),
        ("last_seen_at", pa.timestamp("us", tz="UTC")),  # found again by a later run
        ("closed_at", pa.timestamp("us", tz="UTC")),
        ("resolution", pa.string()),  # how it was resolved, or who dismissed it and why
    ]
)


def items_file(lake: LakePath) -> LakePath:
    return lake / zones.DQ / "items" / "items.parquet"


def conclusion_file(lake: LakePath) -> LakePath:
    return lake / zones.DQ / "conclusion.json"


@dataclass(frozen=True)
class Found:
    """A problem a step found, to open (or keep open) as an item."""

    kind: str
    source: str
    table: str
    load_date: date
    detail: str
    action: str
    load_id: str | None = None
    files: tuple[str, ...] = ()
    name: str | None = None  # what tells it apart besides the table (a file set aside)

    @property
    def item_id(self) -> str:
        return item_id(self.kind, self.source, self.table, self.name or self.load_date.isoformat())


def item_id(kind: str, source: str, table: str, which: str) -> str:
    return f"{kind}:{source}.{table}:{which}"


def _decode(content: bytes | None) -> list[dict]:
    if not content:
        return []
    return pq.read_table(io.BytesIO(content)).to_pylist()


def _encode(items: list[dict]) -> bytes:
    out = io.BytesIO()
    ordered = sorted(items, key=lambda i: (i["opened_at"], i["item_id"]))
    pq.write_table(pa.Table.from_pylist(ordered, ITEMS_SCHEMA), out, compression="zstd")
    return out.getvalue()


def read_items(lake: LakePath) -> list[dict]:
    """Every item, open and closed, oldest first."""
    path = items_file(lake)
    if not path.exists():
        return []
    return storage.read_table(path).to_pylist()


def open_items(lake: LakePath) -> list[dict]:
    return [i for i in read_items(lake) if i["status"] == OPEN]


def update(lake: LakePath, change: Callable[[list[dict]], None]) -> list[dict]:
    """Apply ``change`` to the list of items (in place) with no other update in between, and
    write it (the file exists afterwards, also when empty). Returns the items as written."""
    written: list[dict] = []

    def apply(content: bytes | None) -> bytes:
        items = _decode(content)
        change(items)
        written[:] = items
        return _encode(items)

    storage.update_bytes(items_file(lake), apply)
    return written


def now() -> datetime:
    return datetime.now(UTC)


def record(items: list[dict], found: Found, at: datetime | None = None) -> dict:
    """Open ``found`` (or, if its item is open already, note that it was seen again); an item
    closed earlier opens again: the problem came back."""
    at = at or now()
    mine = next((i for i in items if i["item_id"] == found.item_id), None)
    if found.kind == FAILED_LOAD:  # a table that keeps failing is one item, seen again daily
        failing = of_table(found.source, found.table, FAILED_LOAD)
        mine = next((i for i in items if i["status"] == OPEN and failing(i)), mine)
        if mine is not None and mine["status"] == OPEN:
            found = replace(found, load_date=min(found.load_date, mine["load_date"]))
    fields = {
        "kind": found.kind,
        "source": found.source,
        "table_name": found.table,
        "load_date": found.load_date,
        "load_id": found.load_id,
        "files": ";".join(found.files) or None,
        "detail": found.detail[:2000],
        "action": found.action,
        "last_seen_at": at,
    }
    if mine is None:
        mine = {"item_id": found.item_id, "opened_at": at, **fields}
        items.append(mine)
    elif mine["status"] != OPEN:
        mine.update(opened_at=at)
    mine.update(fields, status=OPEN, closed_at=None, resolution=None)
    return mine


def resolve(
    items: list[dict],
    matches: Callable[[dict], bool],
    resolution: str,
    at: datetime | None = None,
) -> list[dict]:
    """Close the open items ``matches`` picks, saying how they were resolved."""
    closed = []
    for item in items:
        if item["status"] == OPEN and matches(item):
            item.update(status=RESOLVED, closed_at=at or now(), resolution=resolution)
            closed.append(item)
    return closed


def of_table(source: str, table: str, kind: str | None = None) -> Callable[[dict], bool]:
    return lambda i: (
        i["source"] == source and i["table_name"] == table and (kind is None or i["kind"] == kind)
    )


class UnknownItem(LookupError):
    """No open item has that id."""


def dismiss(lake: LakePath, wanted: str, reason: str, by: str) -> dict:
    """Close an open item by a steward's decision; the reason and who gave it are recorded."""
    if not reason.strip():
        raise ValueError("a dismissal needs a reason")
    dismissed: list[dict] = []

    def close(items: list[dict]) -> None:
        for item in items:
            if item["item_id"] == wanted and item["status"] == OPEN:
                item.update(
                    status=DISMISSED, closed_at=now(), resolution=f"dismissed by {by}: {reason}"
                )
                dismissed.append(dict(item))
        if not dismissed:
            known = sorted(i["item_id"] for i in items if i["status"] == OPEN)
            raise UnknownItem(
                f"no open item {wanted!r}; the open items are: {', '.join(known) or 'none'}"
            )

    update(lake, close)
    return dismissed[0]


# --- what changed since the previous run -------------------------------------------------


@dataclass
class Trend:
    """The open items now against those the previous run concluded with."""

    new: list[dict]
    persisting: list[dict]
    resolved: list[dict]  # open at the previous conclusion, closed since
    previous_run: str | None

    @property
    def open(self) -> list[dict]:
        return self.new + self.persisting


def trend(lake: LakePath, items: list[dict] | None = None) -> Trend:
    items = read_items(lake) if items is None else items
    previous = json.loads(storage.read_text(conclusion_file(lake)) or "{}")
    before = set(previous.get("open", []))
    opened = [i for i in items if i["status"] == OPEN]
    return Trend(
        new=[i for i in opened if i["item_id"] not in before],
        persisting=[i for i in opened if i["item_id"] in before],
        resolved=[i for i in items if i["item_id"] in before and i["status"] != OPEN],
        previous_run=previous.get("run_id"),
    )


def conclude(lake: LakePath, run_id: str, at: datetime | None = None) -> Trend:
    """The run's verdict on the open items: their trend since the previous conclusion, which
    this one replaces."""
    found = trend(lake)
    storage.write_text(
        conclusion_file(lake),
        json.dumps(
            {
                "run_id": run_id,
                "concluded_at": (at or now()).isoformat(),
                "open": sorted(i["item_id"] for i in found.open),
            },
            indent=1,
        ),
    )
    return found


def age_days(item: dict, today: date | None = None) -> int:
    return ((today or date.today()) - item["opened_at"].date()).days


def describe(item: dict, today: date | None = None, short: bool = False) -> str:
    """One line: the item, its age, what went wrong and what resolves it (``short``: the
    first 160 characters of what went wrong, for an alert)."""
    detail = item["detail"] or ""
    if short and len(detail) > 160:
        detail = detail[:157] + "..."
    return f"{item['item_id']} ({age_days(item, today)} d): {detail}" + (
        f" -> {item['action']}" if item["action"] and not short else ""
    )


def sources_behind(lake: LakePath) -> list[str]:
    """Sources with an open item: some of their data is not in the warehouse (a batch rejected
    or not loaded, a file set aside, a delivery late)."""
    return sorted({i["source"] for i in open_items(lake)})


def replay_command(source: str, table: str, load_date: date, from_source: bool) -> str:
    return f"sotelake replay {source}.{table} --load-date {load_date.isoformat()}" + (
        " --from-source" if from_source else ""
    )


def set_aside_file(
    source: Source,
    table: str,
    load_date: date,
    name: str,
    moved: str,
    reason: str,
    load_id: str | None = None,
) -> Found:
    """A delivered file moved to ``<folder>/_rejected/<moved>``, as an item named after where
    it lies (the sweep finds it by that name too)."""
    folder = f"{source.folder or source.name}/{REJECTED_FOLDER}"
    return Found(
        FILE_SET_ASIDE,
        source.name,
        table,
        load_date,
        f"{name}: {reason} (set aside as {folder}/{moved}, the reason beside it)",
        "correct the file and deliver it again under the same name, or dismiss",
        load_id,
        (name,),
        name=moved,
    )


REJECTED_FOLDER = "_rejected"  # sources/files.py: where a bad delivered file is moved
STAMP = re.compile(r"^(\d{8})T\d{6}Z_(.+)$")  # sources/files.py reject(): <UTC stamp>_<name>


def sweep(lake: LakePath, registry: dict[str, Source], landing: Path) -> list[dict]:
    """Open an item for every trace of a problem that has none: a batch in the rejected zone, a
    file in a source folder's ``_rejected/`` (a run killed between setting a file aside and
    recording it, or a lake older than open items). An item closed already is left closed.
    Returns the items opened."""
    found: list[Found] = []
    rejected = lake / zones.REJECTED
    for partition in storage.files(rejected, "*/*/load_date=*"):
        if storage.files(partition):
            source, table = partition.parent.parent.name, partition.parent.name
            day = date.fromisoformat(partition.name.split("=", 1)[1])
            found.append(
                Found(
                    REJECTED_BATCH,
                    source,
                    table,
                    day,
                    "a batch in the rejected zone (held back by a critical expectation)",
                    "fix the rule or the source, then "
                    + replay_command(source, table, day, from_source=False),
                )
            )
    for source in registry.values():
        if source.kind == "database":
            continue
        folder = landing / (source.folder or source.name) / REJECTED_FOLDER
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            stamped = STAMP.match(path.name)
            if not stamped or path.name.endswith(".reason.txt"):
                continue
            table = _table_of(source, stamped[2])
            note = path.with_name(path.name + ".reason.txt")
            reason = note.read_text(encoding="utf-8").strip() if note.exists() else "set aside"
            day = datetime.strptime(stamped[1], "%Y%m%d").date()
            found.append(set_aside_file(source, table, day, stamped[2], path.name, reason))
    opened: list[dict] = []

    def add(items: list[dict]) -> None:
        known = {i["item_id"] for i in items}
        for f in found:
            if f.item_id not in known:
                opened.append(record(items, f))

    update(lake, add)
    return opened


def _table_of(source: Source, name: str) -> str:
    """The table a delivered file belongs to (by the tables' globs or FHIR resource types)."""
    for table in source.tables.values():
        if table.files and fnmatch.fnmatch(name, table.files):
            return table.name
        if table.resource and re.fullmatch(
            rf"{re.escape(table.resource)}(\.[^.]+)?\.ndjson(\.gz)?", name
        ):
            return table.name
    return "(unknown table)"


def files_of(item: dict) -> set[str]:
    return {f for f in (item.get("files") or "").split(";") if f}


def taken_again(files: Iterable[str]) -> Callable[[dict], bool]:
    """An item whose every file is among ``files`` (a corrected re-delivery was taken)."""
    taken = set(files)
    return lambda i: bool(files_of(i)) and files_of(i) <= taken
