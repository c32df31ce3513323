"""One load: extract a registered table, pseudonymise it and write the raw and quarantine zones.

Rows stream from the source in batches (memory does not grow with the table). Each row ends in
exactly one place: the raw zone, or the quarantine with its reason; ``extracted = loaded +
quarantined`` is checked before the load is published, and written to the load audit.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sotelake import engine
from sotelake.lake import zones
from sotelake.privacy import hetu
from sotelake.settings import Settings, get_settings
from sotelake.sources.readers import attach, extensions_for, select_sql
from sotelake.sources.registry import Source, Table

log = logging.getLogger(__name__)

BATCH_ROWS = 250_000
QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("table_name", pa.string()),
        ("load_id", pa.string()),
        ("load_date", pa.date32()),
        ("reason", pa.string()),
        ("reasons", pa.string()),
        ("row_json", pa.string()),
        ("_source_file", pa.string()),
        ("quarantined_at", pa.timestamp("us", tz="UTC")),
    ]
)
WITHHELD = "<withheld: invalid henkilötunnus>"


class LoadInvariantError(RuntimeError):
    """extracted != loaded + quarantined: the load is not published."""


@dataclass
class LoadResult:
    load_id: str
    source: str
    table: str
    load_date: str
    extracted: int = 0
    loaded: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    source_files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    status: str = "loaded"  # loaded | no_data

    def summary(self) -> str:
        return (
            f"{self.source}.{self.table} load {self.load_id}: extracted {self.extracted}, "
            f"loaded {self.loaded}, quarantined {self.quarantined} {self.reasons or ''} "
            f"in {self.seconds:.1f} s"
        )


def _split_batch(
    batch: pa.RecordBatch,
    table: Table,
    key: bytes,
    load_id: str,
    load_date: date,
    extracted_at: datetime,
) -> tuple[pa.Table, list[dict]]:
    """Pseudonymise identifier columns; return (raw rows, quarantine records)."""
    problems = batch.column("_problems").to_pylist()
    row_json = batch.column("_row_json").to_pylist()
    columns: dict[str, pa.Array] = {}
    for col in table.kept_columns:
        values = batch.column(col.name)
        if col.privacy != "person_identifier":
            columns[col.name] = values
            continue
        ids = hetu.pseudonymise(values.to_pylist(), key)
        for i, reason in enumerate(ids.reasons):
            if reason:
                problems[i] = f"{reason};{problems[i]}" if problems[i] else reason
        prefix = col.output_name.removesuffix("_pseudonym")
        columns[col.output_name] = pa.array(ids.pseudonyms, pa.string())
        columns[f"{prefix}_birth_year"] = pa.array(ids.birth_years, pa.int32())
        columns[f"{prefix}_sex"] = pa.array(ids.sexes, pa.int8())
    n = batch.num_rows
    columns["_load_id"] = pa.array([load_id] * n, pa.string())
    columns["_load_date"] = pa.array([load_date] * n, pa.date32())
    columns["_source_system"] = pa.array([table.source] * n, pa.string())
    columns["_extracted_at"] = pa.array([extracted_at] * n, pa.timestamp("us", tz="UTC"))
    columns["_source_file"] = batch.column("_source_file")
    rows = pa.table(columns)
    bad = pa.array([p is not None for p in problems], pa.bool_())
    if not pc.any(bad).as_py():
        return rows, []
    quarantine = []
    public = [c.name for c in table.kept_columns if c.privacy is None]
    source_files = batch.column("_source_file").to_pylist()
    bad_rows = rows.filter(bad).select(public).to_pylist()
    for i, typed in zip(
        [i for i, p in enumerate(problems) if p is not None], bad_rows, strict=True
    ):
        if row_json[i] is not None:
            record = json.loads(row_json[i])
        else:
            record = {
                k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in typed.items()
            }
        for col in table.kept_columns:
            if col.privacy == "person_identifier":
                record[col.name] = WITHHELD
        quarantine.append(
            {
                "source": table.source,
                "table_name": table.name,
                "load_id": load_id,
                "load_date": load_date,
                "reason": problems[i].split(";")[0].split(":")[0],
                "reasons": problems[i],
                "row_json": json.dumps(record, ensure_ascii=False, default=str),
                "_source_file": source_files[i],
                "quarantined_at": extracted_at,
            }
        )
    return rows.filter(pc.invert(bad)), quarantine


def load_table(
    source: Source,
    table: Table,
    load_date: date,
    key: bytes,
    settings: Settings | None = None,
    connection_lookup: Callable[[str], str | None] | None = None,
) -> LoadResult:
    """Extract ``table`` into the raw zone partition of ``load_date``, replacing it."""
    settings = settings or get_settings()
    started = time.perf_counter()
    extracted_at = datetime.now(UTC)
    # Sortable by time (staging reads the latest load by max(_load_id)) and unique per run.
    load_id = f"{extracted_at:%Y%m%dT%H%M%S%fZ}_{source.name}_{table.name}"
    result = LoadResult(load_id, source.name, table.name, load_date.isoformat())
    con = engine.connect(extensions=extensions_for(source, settings, connection_lookup))
    try:
        if source.kind == "database":
            attach(con, source, settings, connection_lookup)
        if source.kind == "files" and not any(source.path(settings).glob(table.files)):
            log.warning(
                "%s.%s: no files match %s; nothing to load",
                source.name,
                table.name,
                source.path(settings) / table.files,
            )
            result.status = "no_data"
        else:
            sql = select_sql(con, source, table, settings)
            _extract(
                con.execute(sql).to_arrow_reader(BATCH_ROWS),
                table,
                settings.lake,
                key,
                result,
                extracted_at,
            )
    finally:
        con.close()
    result.seconds = round(time.perf_counter() - started, 3)
    write_audit(result, settings.lake)
    log.info(result.summary())
    return result


def _extract(
    reader: pa.RecordBatchReader,
    table: Table,
    lake: Path,
    key: bytes,
    result: LoadResult,
    extracted_at: datetime,
) -> None:
    """Stream the rows into a scratch folder, check the invariant, then publish the partitions."""
    load_id, load_date = result.load_id, date.fromisoformat(result.load_date)
    scratch = zones.scratch_dir(lake)
    raw_dir, quarantine_dir = scratch / "raw", scratch / "quarantine"
    raw_dir.mkdir()
    quarantine_dir.mkdir()
    raw_writer, quarantined, reasons, files = None, [], Counter(), set()
    try:
        for batch in reader:
            rows, bad = _split_batch(batch, table, key, load_id, load_date, extracted_at)
            result.extracted += batch.num_rows
            result.loaded += rows.num_rows
            result.quarantined += len(bad)
            files.update(f for f in batch.column("_source_file").to_pylist() if f)
            reasons.update(q["reason"] for q in bad)
            quarantined.extend(bad)
            if raw_writer is None:
                raw_writer = pq.ParquetWriter(
                    raw_dir / f"{load_id}.parquet", rows.schema, compression="zstd"
                )
            raw_writer.write_table(rows)
            log.info("%s: %d rows extracted so far", table.qualified_name, result.extracted)
        if raw_writer is not None:
            raw_writer.close()
        pq.write_table(
            pa.Table.from_pylist(quarantined, QUARANTINE_SCHEMA),
            quarantine_dir / f"{load_id}.parquet",
            compression="zstd",
        )
        result.reasons = dict(sorted(reasons.items()))
        result.source_files = sorted(files)
        if result.extracted != result.loaded + result.quarantined:
            raise LoadInvariantError(f"{result.summary()}: extracted != loaded + quarantined")
        if raw_writer is not None:
            zones.replace_dir(
                zones.partition(lake, zones.RAW, table.source, table.name, load_date), raw_dir
            )
        zones.replace_dir(
            zones.partition(lake, zones.QUARANTINE, table.source, table.name, load_date),
            quarantine_dir,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


AUDIT_SCHEMA = pa.schema(
    [
        ("load_id", pa.string()),
        ("source", pa.string()),
        ("table_name", pa.string()),
        ("load_date", pa.date32()),
        ("extracted", pa.int64()),
        ("loaded", pa.int64()),
        ("quarantined", pa.int64()),
        ("reasons_json", pa.string()),
        ("source_files", pa.string()),
        ("status", pa.string()),
        ("seconds", pa.float64()),
        ("recorded_at", pa.timestamp("us", tz="UTC")),
    ]
)


def write_audit(result: LoadResult, lake: Path) -> Path:
    """The load's audit row (dq.load_audit), replacing the one of an earlier run of the load."""
    path = zones.dq_file(
        lake, "load_audit", result.source, result.table, date.fromisoformat(result.load_date)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    record = asdict(result)
    row = {
        "load_id": record["load_id"],
        "source": record["source"],
        "table_name": record["table"],
        "load_date": date.fromisoformat(record["load_date"]),
        "extracted": record["extracted"],
        "loaded": record["loaded"],
        "quarantined": record["quarantined"],
        "reasons_json": json.dumps(record["reasons"]),
        "source_files": ";".join(record["source_files"]),
        "status": record["status"],
        "seconds": record["seconds"],
        "recorded_at": datetime.now(UTC),
    }
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.Table.from_pylist([row], AUDIT_SCHEMA), tmp)
    tmp.replace(path)
    return path
