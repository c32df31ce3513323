"""One load: extract a registered table, pseudonymise it and write the raw and quarantine zones.

What a load takes depends on the table's mode (config/sources.yml): a *full* table is taken
whole; an *incremental* database table only its rows changed since the previous load date (a
watermark window, lake/state.py); an *incremental* file table only the files no other load date
took. Delivered files are checked first (sources/files.py): a bad file is moved aside, never
half-loaded.

Rows stream from the source in batches (memory does not grow with the table). Each row ends in
exactly one place: the raw zone, or the quarantine with its reason; ``extracted = loaded +
quarantined`` is checked before the load is published, and written to the load audit.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sotelake import engine
from sotelake.lake import freshness, open_items, state, storage, zones
from sotelake.lake.audit import LoadResult, write_audit
from sotelake.privacy import hetu
from sotelake.settings import Settings, get_settings
from sotelake.sources import fhir, sotkanet
from sotelake.sources.files import Intake, reject, take_files
from sotelake.sources.readers import attach, extensions_for, select_sql
from sotelake.sources.registry import Source, Table
from sotelake.withholding import CANDIDATE, screen_codes, withheld_error, withhold

if TYPE_CHECKING:
    from sotelake.lake.storage import LakePath

log = logging.getLogger(__name__)

BATCH_ROWS = 250_000
INTERNAL = {"_problems", "_row_json", "_private_json", "_source_file"}
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


def _split_batch(
    batch: pa.RecordBatch, table: Table, key: bytes, result: LoadResult, extracted_at: datetime
) -> tuple[pa.Table, list[dict]]:
    """Pseudonymise identifier columns; return (raw rows, quarantine records).

    Python touches single rows only for identifier columns and for quarantined rows; the rest
    stays in Arrow (a million-row batch without identifiers costs no Python loop)."""
    identifiers = {c.name: c for c in table.kept_columns if c.privacy == "person_identifier"}
    problems = batch.column("_problems")  # null where the reader found nothing wrong
    merged: list | None = None  # the problems and the identifiers' reasons, when there are any
    columns: dict[str, pa.Array] = {}
    for name in batch.schema.names:
        if name in INTERNAL:
            continue
        if name not in identifiers:
            columns[name] = batch.column(name)
            continue
        started = time.perf_counter()
        ids = hetu.pseudonymise(batch.column(name).to_pylist(), key)
        result.pseudonymise_seconds += time.perf_counter() - started
        optional = not identifiers[name].required  # a missing code is allowed, a bad one is not
        merged = merged if merged is not None else problems.to_pylist()
        for i, reason in enumerate(ids.reasons):
            if reason and not (optional and reason == hetu.MISSING):
                merged[i] = f"{reason};{merged[i]}" if merged[i] else reason
        output = identifiers[name].output_name
        prefix = output.removesuffix("_pseudonym")
        columns[output] = pa.array(ids.pseudonyms, pa.string())
        columns[f"{prefix}_birth_year"] = pa.array(ids.birth_years, pa.int32())
        columns[f"{prefix}_sex"] = pa.array(ids.sexes, pa.int8())
    n = batch.num_rows
    load_date = date.fromisoformat(result.load_date)
    extracted = pa.scalar(extracted_at, pa.timestamp("us", tz="UTC"))
    columns["_load_id"] = pa.repeat(pa.scalar(result.load_id, pa.string()), n)
    columns["_load_date"] = pa.repeat(pa.scalar(load_date, pa.date32()), n)
    columns["_source_system"] = pa.repeat(pa.scalar(table.source, pa.string()), n)
    columns["_extracted_at"] = pa.repeat(extracted, n)
    # when the rows entered the raw zone (a replayed batch is published again later)
    columns["_published_at"] = columns["_extracted_at"]
    columns["_source_file"] = batch.column("_source_file")
    rows = pa.table(columns)
    if merged is not None:
        problems = pa.array(merged, pa.string())
    bad = pc.is_valid(problems)
    # free text is screened in the rows for the raw zone here, and in quarantined rows below
    for column in table.kept_columns:
        if column.privacy == "free_text" and column.name in rows.column_names:
            screened = _screened(rows.column(column.name), pc.invert(bad), result)
            rows = rows.set_column(rows.column_names.index(column.name), column.name, screened)
    if not pc.any(bad).as_py():
        return rows, []
    derived = {
        f"{c.output_name.removesuffix('_pseudonym')}{suffix}"
        for c in identifiers.values()
        for suffix in ("_pseudonym", "_birth_year", "_sex")
    }
    public = [c for c in rows.column_names if c not in derived and not c.startswith("_")]
    quarantine = []
    held = zip(
        problems.filter(bad).to_pylist(),
        batch.column("_row_json").filter(bad).to_pylist(),
        batch.column("_private_json").filter(bad).to_pylist(),
        batch.column("_source_file").filter(bad).to_pylist(),
        rows.filter(bad).select(public).to_pylist(),
        strict=True,
    )
    for problem, row_json, private_json, source_file, typed in held:
        if row_json is not None:
            record = json.loads(row_json)
        else:
            record = {
                k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in typed.items()
            }
        # the row's names, addresses and codes are withheld wherever they appear in it (a
        # misaligned row puts a name into another column), and so is any other code
        private = json.loads(private_json).values() if private_json else ()
        for name, value in record.items():
            if isinstance(value, str):
                screened, codes = screen_codes(value)
                record[name] = withhold(screened, private)
                result.codes_withheld += codes
        problem = withhold(problem, private)
        for name in identifiers:
            record[name] = WITHHELD
        quarantine.append(
            {
                "source": table.source,
                "table_name": table.name,
                "load_id": result.load_id,
                "load_date": load_date,
                "reason": problem.split(";")[0].split(":")[0],
                "reasons": problem,
                "row_json": json.dumps(record, ensure_ascii=False, default=str),
                "_source_file": source_file,
                "quarantined_at": extracted_at,
            }
        )
    return rows.filter(pc.invert(bad)), quarantine


def _screened(values: pa.ChunkedArray, kept: pa.Array, result: LoadResult) -> pa.Array:
    """A declared free-text column (``privacy: free_text``) with every henkilötunnus in it,
    in any case, replaced by a marker, counted in the load's audit for the ``kept`` rows (the
    others are quarantined, and counted there). Only the values holding a candidate code
    (found by Arrow, without a Python loop) go through Python."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    matched = pc.match_substring_regex(values, CANDIDATE, ignore_case=True)
    candidates = pc.fill_null(matched, False)
    if not pc.any(candidates).as_py():
        return values
    found = pc.indices_nonzero(candidates)
    screened = []
    for text, counted in zip(
        values.take(found).to_pylist(), kept.take(found).to_pylist(), strict=True
    ):
        text, codes = screen_codes(text)
        screened.append(text)
        result.codes_withheld += codes if counted else 0
    return pc.replace_with_mask(values, candidates, pa.array(screened, values.type))


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
    lake = settings.lake
    started = time.perf_counter()
    extracted_at = datetime.now(UTC)
    # Sortable by time and unique per run.
    load_id = f"{extracted_at:%Y%m%dT%H%M%S%fZ}_{source.name}_{table.name}"
    result = LoadResult(load_id, source.name, table.name, load_date.isoformat(), mode=table.mode)
    window = state.Window()
    owner = zones.load_name(source.name, table.name, load_date)
    storage.clear_scratch(lake, owner)  # what a killed run of this load left
    scratch = storage.scratch_dir(lake, owner)
    extensions = extensions_for(source, settings, connection_lookup)
    with engine.load_connection(extensions) as con:
        try:
            files: list[Path] = []
            intake = Intake()
            aside: dict[str, str] = {}  # files set aside: name -> name in _rejected/
            if source.kind == "database":
                attach(con, source, settings, connection_lookup)
                if table.mode == "incremental":
                    window = state.incremental_window(
                        lake, source.name, table.name, load_date, table.lookback
                    )
                    result.window = {
                        "lower": window.to_json()["lower"],
                        "upper": window.to_json()["upper"],
                    }
            else:
                folder = source.path(settings)
                if source.kind == "fhir_bulk":
                    delivered = fhir.export_files(folder, table.resource) if folder.is_dir() else []
                else:
                    delivered = sorted(p for p in folder.glob(table.files) if p.is_file())
                if table.mode == "incremental":
                    delivered = state.new_files(lake, source.name, table.name, load_date, delivered)
                if source.kind in ("fhir_bulk", "sotkanet"):  # a file not whole is set aside
                    delivered = _whole_files(source.kind, delivered, result, intake)
                    aside.update(intake.set_aside)
                window.files = {p.name: state.file_signature(p) for p in delivered}
                if source.kind == "fhir_bulk":
                    files = _flatten_fhir(folder, table, delivered, scratch) if delivered else []
                elif source.kind == "sotkanet":
                    files = _flatten_sotkanet(table, delivered, scratch) if delivered else []
                else:
                    intake = take_files(
                        delivered,
                        source.dialect,
                        [c.name for c in table.columns],
                        [c.name for c in table.columns if c.required],
                        scratch,
                        con,
                    )
                    result.rejected_files.update(intake.rejected)
                    aside.update(intake.set_aside)
                    for name in intake.rejected:
                        window.files.pop(name, None)
                    files = intake.ready
                result.source_files = sorted(window.files)  # whatever they held
                window.delivered = bool(window.files)
                if not files:
                    log.info("%s: no new files to load in %s", table.qualified_name, folder)
                    result.status = "no_data"
            # A load with no rows is a valid load: an empty partition with the declared schema
            # (staging reads it). Only a full table that has loads already keeps its latest one
            # when nothing was delivered: a missing delivery is not an empty table.
            missing = result.status == "no_data" and table.mode == "full"
            if not (missing and _has_loads(lake, table)):
                query = select_sql(con, source, table, window, files)
                result.new_columns = query.new_columns
                result.withheld_columns = query.withheld_columns
                result.missing_columns = sorted(set(query.missing_columns) | intake.missing)
                _extract(
                    con.execute(query.sql).to_arrow_reader(BATCH_ROWS),
                    table,
                    lake,
                    key,
                    result,
                    extracted_at,
                    scratch,
                )
            if source.kind == "database":  # a full table is read whole: delivered
                window.delivered = table.mode == "full" or result.extracted > 0
            state.record(lake, source.name, table.name, load_date, window)
        except Exception as error:  # the audit says the load failed, and why; the task fails
            # withheld: a driver's error quotes its connection URL, a reader's a row of data
            result.status = "failed"
            result.error = withhold(f"{type(error).__name__}: {error}")[:1000]
            result.extracted = result.loaded = result.quarantined = 0  # nothing was published
            result.codes_withheld = 0
            result.seconds = round(time.perf_counter() - started, 3)
            write_audit(result, lake)
            _note_failure(lake, source, table, load_date, result, aside)
            safe = withheld_error(error)
            if safe is error:
                raise  # with its causes: the retry policy reads them
            raise safe from None
        finally:
            storage.release_scratch(scratch)
    result.seconds = round(time.perf_counter() - started, 3)
    result.pseudonymise_seconds = round(result.pseudonymise_seconds, 3)
    write_audit(result, lake)
    _note_items(lake, source, table, load_date, result, sorted(window.files), aside)
    if result.rejected_files or result.withheld_columns:
        log.warning(result.summary())
    else:
        log.info(result.summary())
    return result


def _set_aside(
    source: Source, table: Table, load_date: date, result: LoadResult, aside: dict[str, str]
) -> list[open_items.Found]:
    """The files this load set aside, as open items (until a corrected file is taken)."""
    return [
        open_items.set_aside_file(
            source, table.name, load_date, name, moved, result.rejected_files[name], result.load_id
        )
        for name, moved in aside.items()
    ]


def _note_failure(
    lake: LakePath,
    source: Source,
    table: Table,
    load_date: date,
    result: LoadResult,
    aside: dict[str, str],
) -> None:
    """A failed load (and any file it set aside) is an open item."""
    failed = open_items.Found(
        open_items.FAILED_LOAD,
        source.name,
        table.name,
        load_date,
        result.error or "the load failed",
        "fix the cause, then "
        + open_items.replay_command(source.name, table.name, load_date, from_source=True),
        result.load_id,
    )

    def change(items: list[dict]) -> None:
        for found in [failed, *_set_aside(source, table, load_date, result, aside)]:
            open_items.record(items, found)

    try:
        open_items.update(lake, change)
    except Exception as error:  # the load's own error is the one to raise
        log.error("%s: the open item of the failure was not recorded: %s", result.load_id, error)


def _note_items(
    lake: LakePath,
    source: Source,
    table: Table,
    load_date: date,
    result: LoadResult,
    taken: list[str],
    aside: dict[str, str],
) -> None:
    """What this load resolves (earlier failures of the table, batches and files it replaced,
    a late delivery that came) and what it found (files set aside, a delivery now late)."""
    s, t = source.name, table.name
    late = None
    if table.delivery:
        deliveries, first = state.deliveries(lake, s, t)
        late = freshness.check(table.delivery, load_date, deliveries, first or load_date)
    by = f"the load {result.load_id} ({load_date})"

    def change(items: list[dict]) -> None:
        def mine(kind: str, also=lambda i: True):
            return lambda i: open_items.of_table(s, t, kind)(i) and also(i)

        resolve = open_items.resolve
        resolve(
            items,
            mine(open_items.FAILED_LOAD, lambda i: i["load_date"] <= load_date),
            f"loaded by {by}",
        )
        resolve(
            items,
            mine(open_items.REJECTED_BATCH, lambda i: i["load_date"] == load_date),
            f"replaced by {by}",
        )
        if table.mode == "full" and result.status == "loaded":
            resolve(
                items,
                mine(open_items.REJECTED_BATCH, lambda i: i["load_date"] < load_date),
                f"superseded: {by} read the whole table again",
            )
        if taken:
            again = open_items.taken_again(taken)
            resolve(items, mine(open_items.REJECTED_BATCH, again), f"re-delivered: taken by {by}")
            resolve(items, mine(open_items.FILE_SET_ASIDE, again), f"re-delivered: taken by {by}")
        for found in _set_aside(source, table, load_date, result, aside):
            open_items.record(items, found)
        if late:
            open_items.record(
                items,
                open_items.Found(
                    open_items.LATE_DELIVERY,
                    s,
                    t,
                    late.due,
                    late.detail(table.delivery),
                    f"ask {s} for the delivery (the next load takes it), or dismiss",
                    result.load_id,
                ),
            )
        elif table.delivery:  # delivered for every due date up to this load's
            resolve(
                items,
                mine(open_items.LATE_DELIVERY, lambda i: i["load_date"] <= load_date),
                f"delivered: {by}",
            )

    open_items.update(lake, change)


def _whole_files(kind: str, files: list[Path], result: LoadResult, intake: Intake) -> list[Path]:
    """The files (a FHIR export's, Sotkanet's) that can be read whole; the others are set
    aside (``_rejected/``) with the reason."""
    check = fhir.check_export_file if kind == "fhir_bulk" else sotkanet.check_file
    whole = []
    for path in files:
        try:
            check(path)
        except fhir.IncompleteFile as bad:
            intake.set_aside[path.name] = reject(path, str(bad)).name
            result.rejected_files[path.name] = str(bad)
            continue
        whole.append(path)
    return whole


def _has_loads(lake: LakePath, table: Table) -> bool:
    """Whether the table has a partition in the raw zone (of any load date)."""
    today = zones.partition(lake, zones.RAW, table.source, table.name, date.today())
    return bool(storage.files(today.parent, "load_date=*"))


def _flatten_fhir(folder: Path, table: Table, files: list[Path], scratch: Path) -> list[Path]:
    """The resources' declared paths as text columns, streamed to one Parquet file."""
    columns = {c.name: c.path for c in table.kept_columns}
    target = scratch / f"{table.resource}.parquet"
    with pq.ParquetWriter(target, fhir.schema(columns)) as writer:
        for batch in fhir.read_resources(folder, table.resource, columns, BATCH_ROWS, files):
            writer.write_batch(batch)
    return [target]


def _flatten_sotkanet(table: Table, files: list[Path], scratch: Path) -> list[Path]:
    """The records' declared paths as text columns, in one Parquet file."""
    columns = {c.name: c.path for c in table.kept_columns}
    target = scratch / f"{table.name}.parquet"
    with pq.ParquetWriter(target, fhir.schema(columns)) as writer:
        for batch in sotkanet.read_records(files, columns, BATCH_ROWS):
            writer.write_batch(batch)
    return [target]


def _extract(
    reader: pa.RecordBatchReader,
    table: Table,
    lake: LakePath,
    key: bytes,
    result: LoadResult,
    extracted_at: datetime,
    scratch: Path,
) -> None:
    """Stream the rows into the scratch folder, check the invariant, then publish the partitions."""
    load_date = date.fromisoformat(result.load_date)
    raw_dir, quarantine_dir = scratch / "raw", scratch / "quarantine"
    raw_dir.mkdir()
    quarantine_dir.mkdir()
    raw_writer, quarantined, reasons, files = None, [], Counter(), set()
    for batch in reader:
        rows, bad = _split_batch(batch, table, key, result, extracted_at)
        result.extracted += batch.num_rows
        result.loaded += rows.num_rows
        result.quarantined += len(bad)
        files.update(f for f in pc.unique(batch.column("_source_file")).to_pylist() if f)
        reasons.update(q["reason"] for q in bad)
        quarantined.extend(bad)
        if raw_writer is None:
            raw_writer = pq.ParquetWriter(
                raw_dir / f"{result.load_id}.parquet", rows.schema, compression="zstd"
            )
        raw_writer.write_table(rows)
        log.info("%s: %d rows extracted so far", table.qualified_name, result.extracted)
    if raw_writer is not None:
        raw_writer.close()
    else:  # no rows: an empty file with the declared schema, so staging reads the table
        empty = pa.RecordBatch.from_pylist([], schema=reader.schema)
        rows, _ = _split_batch(empty, table, key, result, extracted_at)
        pq.write_table(rows, raw_dir / f"{result.load_id}.parquet", compression="zstd")
    pq.write_table(
        pa.Table.from_pylist(quarantined, QUARANTINE_SCHEMA),
        quarantine_dir / f"{result.load_id}.parquet",
        compression="zstd",
    )
    result.reasons = dict(sorted(reasons.items()))
    result.source_files = sorted(set(result.source_files) | files)
    result.check()
    raw = zones.partition(lake, zones.RAW, table.source, table.name, load_date)
    storage.replace_dir(raw, raw_dir)
    # a batch of this date rejected earlier is superseded by this load
    storage.remove(zones.partition(lake, zones.REJECTED, table.source, table.name, load_date))
    storage.replace_dir(
        zones.partition(lake, zones.QUARANTINE, table.source, table.name, load_date), quarantine_dir
    )
