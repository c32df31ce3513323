"""The load audit (dq.load_audit): one record per load, replaced when the load re-runs.

Every extracted row is accounted for: ``extracted = loaded + quarantined + rejected``, where
*rejected* counts the rows of a batch a critical expectation held back (kept for replay).
Validation can move rows after the load (quarantined by an error expectation, or the whole
batch rejected); it updates the record through ``read_audit`` and ``write_audit``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pyarrow as pa

from sotelake.lake import storage, zones

if TYPE_CHECKING:
    from sotelake.lake.storage import LakePath


class LoadInvariantError(RuntimeError):
    """extracted != loaded + quarantined + rejected: the load is not published."""


@dataclass
class LoadResult:
    load_id: str
    source: str
    table: str
    load_date: str
    mode: str = "full"
    window: dict = field(default_factory=dict)  # incremental database tables: lower, upper
    extracted: int = 0
    loaded: int = 0
    quarantined: int = 0
    rejected: int = 0  # rows of a batch held back by a critical expectation (kept for replay)
    reasons: dict[str, int] = field(default_factory=dict)
    source_files: list[str] = field(default_factory=list)
    rejected_files: dict[str, str] = field(default_factory=dict)  # file -> why
    new_columns: list[str] = field(default_factory=list)  # schema drift, carried as text
    withheld_columns: list[str] = field(default_factory=list)  # new columns with henkilötunnus
    missing_columns: list[str] = field(default_factory=list)  # optional columns not delivered
    codes_withheld: int = 0  # henkilötunnus in free text or quarantined values, replaced
    seconds: float = 0.0
    pseudonymise_seconds: float = 0.0  # of ``seconds``: validating and pseudonymising codes
    status: str = "loaded"  # loaded | no_data | rejected | failed
    error: str | None = None  # why a failed load failed

    def summary(self) -> str:
        text = (
            f"{self.source}.{self.table} load {self.load_id}: extracted {self.extracted}, "
            f"loaded {self.loaded}, quarantined {self.quarantined} {self.reasons or ''}"
        )
        for label, value in (
            ("rejected files", self.rejected_files),
            ("new columns", self.new_columns),
            ("withheld columns", self.withheld_columns),
            ("missing columns", self.missing_columns),
            ("henkilötunnus withheld", self.codes_withheld),
        ):
            if value:
                text += f"; {label}: {value}"
        return f"{text} in {self.seconds:.1f} s"

    def check(self) -> None:
        if self.extracted != self.loaded + self.quarantined + self.rejected:
            raise LoadInvariantError(
                f"{self.summary()}: extracted != loaded + quarantined + rejected"
            )


AUDIT_SCHEMA = pa.schema(
    [
        ("load_id", pa.string()),
        ("source", pa.string()),
        ("table_name", pa.string()),
        ("load_date", pa.date32()),
        ("mode", pa.string()),
        ("window_json", pa.string()),
        ("extracted", pa.int64()),
        ("loaded", pa.int64()),
        ("quarantined", pa.int64()),
        ("rejected", pa.int64()),
        ("reasons_json", pa.string()),
        ("source_files", pa.string()),
        ("rejected_files_json", pa.string()),
        ("new_columns", pa.string()),
        ("withheld_columns", pa.string()),
        ("missing_columns", pa.string()),
        ("codes_withheld", pa.int64()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("seconds", pa.float64()),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
    ]
)


def write_audit(result: LoadResult, lake: LakePath) -> LakePath:
    """The load's audit row (dq.load_audit), replacing the one of an earlier run of the load."""
    path = zones.dq_file(
        lake, "load_audit", result.source, result.table, date.fromisoformat(result.load_date)
    )
    record = asdict(result)
    row = {
        "load_id": record["load_id"],
        "source": record["source"],
        "table_name": record["table"],
        "load_date": date.fromisoformat(record["load_date"]),
        "mode": record["mode"],
        "window_json": json.dumps(record["window"]),
        "extracted": record["extracted"],
        "loaded": record["loaded"],
        "quarantined": record["quarantined"],
        "rejected": record["rejected"],
        "reasons_json": json.dumps(record["reasons"]),
        "source_files": ";".join(record["source_files"]),
        "rejected_files_json": json.dumps(record["rejected_files"], ensure_ascii=False),
        "new_columns": ";".join(record["new_columns"]),
        "withheld_columns": ";".join(record["withheld_columns"]),
        "missing_columns": ";".join(record["missing_columns"]),
        "codes_withheld": record["codes_withheld"],
        "status": record["status"],
        "error": record["error"],
        "seconds": record["seconds"],
        "recorded_at": datetime.now(UTC),
    }
    storage.write_table(pa.Table.from_pylist([row], AUDIT_SCHEMA), path)
    return path


def read_audit(lake: LakePath, source: str, table: str, load_date: date) -> LoadResult | None:
    path = zones.dq_file(lake, "load_audit", source, table, load_date)
    if not path.exists():
        return None
    row = storage.read_table(path).to_pylist()[0]
    return LoadResult(
        load_id=row["load_id"],
        source=row["source"],
        table=row["table_name"],
        load_date=row["load_date"].isoformat(),
        mode=row["mode"] or "full",
        window=json.loads(row["window_json"] or "{}"),
        extracted=row["extracted"],
        loaded=row["loaded"],
        quarantined=row["quarantined"],
        rejected=row.get("rejected") or 0,
        reasons=json.loads(row["reasons_json"] or "{}"),
        source_files=[f for f in (row["source_files"] or "").split(";") if f],
        rejected_files=json.loads(row["rejected_files_json"] or "{}"),
        new_columns=[c for c in (row["new_columns"] or "").split(";") if c],
        withheld_columns=[c for c in (row["withheld_columns"] or "").split(";") if c],
        missing_columns=[c for c in (row["missing_columns"] or "").split(";") if c],
        codes_withheld=row.get("codes_withheld") or 0,
        seconds=row["seconds"],
        status=row["status"],
    )


def held_back_sources(lake: LakePath) -> list[str]:
    """Sources whose latest load of some table failed or was rejected (not in the warehouse).

    A table's latest load is its latest load date's audit row (a replay replaces that row);
    the date is in the file's name, so only the latest file of each table is read.
    """
    latest: dict[tuple[str, str], tuple[str, LakePath]] = {}
    for path in storage.files(lake / zones.DQ / "load_audit"):
        source, table, day = path.stem.split("__")
        if (source, table) not in latest or latest[source, table][0] < day:
            latest[source, table] = (day, path)
    return sorted(
        {
            source
            for (source, _), (_, path) in latest.items()
            if storage.read_table(path, columns=["status"])[0][0].as_py() in ("failed", "rejected")
        }
    )
