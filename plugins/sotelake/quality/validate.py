"""Validate each load's raw batch with its suite, and act on the severity of what failed.

- **critical**: the batch is rejected: its partition moves from the raw zone to
  ``<lake>/rejected/`` (kept for ``sotelake replay``), so nothing of it reaches the warehouse;
  the run leaves that source's models out and fails at the end;
- **error**: the failing rows move from the raw partition to the quarantine, with the reason
  ``dq_<check>:<column>`` and the row as JSON; the rest of the batch goes on;
- **warning**: reported only.

Every expectation of every batch becomes a row of ``dq.validation_results`` (counts and the
failing values' shapes: public), with a few failing rows as examples for stewards only
(``dq.validation_examples``, identifiers withheld, never a row this validation quarantines: those
are in ``dq.quarantine``); the load audit is updated so that ``extracted = loaded + quarantined
+ rejected`` still holds.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from sotelake import engine
from sotelake.lake import open_items, storage, zones
from sotelake.lake.audit import read_audit, write_audit
from sotelake.lake.load import QUARANTINE_SCHEMA
from sotelake.quality.gx_runner import RESULT_SCHEMA, GreatExpectations, referenced_columns
from sotelake.quality.suite_spec import mart_suite_path
from sotelake.quality.suites import read_suite, suite_path
from sotelake.settings import Settings, get_settings
from sotelake.withholding import withhold_values

if TYPE_CHECKING:
    from sotelake.lake.storage import LakePath

log = logging.getLogger(__name__)
EXAMPLES = 3  # failing rows kept per expectation, for stewards
SHORT_NAMES = {
    "expect_column_values_to_be_": "",
    "expect_column_values_to_": "",
    "expect_column_pair_values_": "pair_",
    "expect_compound_columns_to_be_": "",
    "expect_table_": "table_",
}


@dataclass
class ValidationSummary:
    source: str
    table: str
    load_date: str
    load_id: str | None = None
    rows: int = 0
    evaluated: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # severity -> failed expectations
    quarantined_rows: int = 0
    status: str = "passed"  # passed | warnings | rows_quarantined | rejected | no_data
    failing: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rebuilt_from: str | None = None  # a mart rebuilt by day: only its rows of the days rebuilt

    def summary(self) -> str:
        return (
            f"{self.source}.{self.table} ({self.load_date}): {self.status}; "
            f"{self.evaluated} expectations on {self.rows} rows"
            + (f" of the days from {self.rebuilt_from}" if self.rebuilt_from else "")
            + f", failed {self.failed or 'none'}"
            + (f", {self.quarantined_rows} rows quarantined" if self.quarantined_rows else "")
            + f" in {self.seconds:.1f} s"
        )


def reason_code(result: dict) -> str:
    """``dq_<check>:<column>`` for a failing expectation, e.g. ``dq_in_set:status``."""
    check = result["expectation_type"]
    for prefix, replacement in SHORT_NAMES.items():
        if check.startswith(prefix):
            check = replacement + check[len(prefix) :]
            break
    column = (result["column_name"] or "").replace(", ", "+")
    return f"dq_{check}:{column}".rstrip(":")


def _write(table: pa.Table, path: LakePath) -> None:
    storage.write_table(table, path, compression="zstd")


class Validator:
    """Validates loads in one GX context; ``finish()`` builds the Data Docs."""

    def __init__(
        self, run_id: str, settings: Settings | None = None, docs_site: str = "loads"
    ) -> None:
        self.run_id = run_id
        self.settings = settings or get_settings()
        self.docs_site = docs_site  # DOCS_SITES: the Data Docs site of what it validates

    @cached_property
    def gx(self) -> GreatExpectations:
        """GX, imported and set up when the first batch with rows comes (a quiet day's loads
        are mostly empty)."""
        return GreatExpectations(docs_site(self.settings, self.docs_site))

    def validate_load(self, source: str, table: str, load_date: date) -> ValidationSummary:
        started = time.perf_counter()
        lake = self.settings.lake
        summary = ValidationSummary(source, table, load_date.isoformat())
        partition = zones.partition(lake, zones.RAW, source, table, load_date)
        files = storage.files(partition)
        suite_file = suite_path(self.settings.expectations, source, table)
        document = read_suite(suite_file)
        if not files:
            summary.status = "no_data"
            log.info(
                "%s.%s: no raw partition for %s: nothing to validate", source, table, load_date
            )
            return summary
        summary.load_id = files[0].stem
        if storage.parquet_rows(files) == 0:
            summary.status = "no_data"
            storage.remove(_results_file(lake, source, table, load_date))
            log.info(
                "%s.%s: the load of %s has no rows: nothing to validate", source, table, load_date
            )
            return summary
        batch = storage.read_table(files)
        summary.rows = batch.num_rows
        outcome = self._run_suite(batch, document, suite_file, summary, source, table, load_date)
        # a rejected batch stays whole; otherwise the rows failing an error expectation go
        # to the quarantine, and no example shows one of them
        rejected = bool(summary.failed.get("critical"))
        reasons = {} if rejected else _quarantine_reasons(outcome)
        _add_examples(outcome, batch, set(reasons))
        self._write_results(outcome, source, table, load_date)
        if rejected:
            self._reject(source, table, load_date, partition, summary)
        elif summary.failed.get("error"):
            self._quarantine_rows(source, table, load_date, batch, reasons, files, summary)
        else:
            summary.status = "warnings" if summary.failed else "passed"
        summary.seconds = round(time.perf_counter() - started, 2)
        (log.warning if summary.failed else log.info)(summary.summary())
        return summary

    def _run_suite(
        self,
        batch: pa.Table,
        document: dict,
        suite_file: Path,
        summary: ValidationSummary,
        source: str,
        table: str,
        load_date: date,
    ):
        """Validate ``batch`` with the suite and count what failed by severity into
        ``summary``."""
        identity = {
            "run_id": self.run_id,
            "load_id": summary.load_id,
            "source": source,
            "table_name": table,
            "load_date": load_date,
        }
        outcome = self.gx.validate(batch, document, suite_file, identity)
        summary.evaluated = len(outcome.rows)
        for row in outcome.rows:
            if not row["success"]:
                summary.failed[row["severity"]] = summary.failed.get(row["severity"], 0) + 1
                summary.failing.append(
                    f"{row['severity']}: {reason_code(row)} ({row['unexpected_count']} rows)"
                )
        return outcome

    def _write_results(self, outcome, source: str, table: str, load_date: date) -> None:
        """The results of the batch, replacing an earlier run's."""
        _write(
            pa.Table.from_pylist(outcome.rows, RESULT_SCHEMA),
            _results_file(self.settings.lake, source, table, load_date),
        )

    def _reject(
        self,
        source: str,
        table: str,
        load_date: date,
        partition: LakePath,
        summary: ValidationSummary,
    ) -> None:
        lake = self.settings.lake
        storage.move_dir(
            lake,
            partition,
            zones.partition(lake, zones.REJECTED, source, table, load_date),
            zones.load_name(source, table, load_date),
        )
        audit = read_audit(lake, source, table, load_date)
        if audit:
            audit.rejected, audit.loaded, audit.status = audit.loaded, 0, "rejected"
            audit.check()
            write_audit(audit, lake)
        summary.status = "rejected"
        batch = open_items.Found(
            open_items.REJECTED_BATCH,
            source,
            table,
            load_date,
            "batch rejected by critical expectations: " + "; ".join(summary.failing),
            "fix the rule, then "
            + open_items.replay_command(source, table, load_date, from_source=False)
            + "; or fix the source, then "
            + open_items.replay_command(source, table, load_date, from_source=True),
            summary.load_id,
            tuple(audit.source_files) if audit else (),
        )
        open_items.update(lake, lambda items: open_items.record(items, batch))

    def _quarantine_rows(
        self,
        source: str,
        table: str,
        load_date: date,
        batch: pa.Table,
        reasons: dict[int, list[str]],
        files: list[LakePath],
        summary: ValidationSummary,
    ) -> None:
        lake = self.settings.lake
        if not reasons:
            summary.status = "warnings"
            return
        bad = pa.array([i in reasons for i in range(batch.num_rows)])
        visible = [c for c in batch.column_names if not c.startswith("_")]
        now = datetime.now(UTC)
        records = [
            {
                "source": source,
                "table_name": table,
                "load_id": summary.load_id,
                "load_date": load_date,
                "reason": reasons[i][0].split(":")[0],
                "reasons": ";".join(reasons[i]),
                "row_json": json.dumps(withhold_values(values), default=str, ensure_ascii=False),
                "_source_file": batch.column("_source_file")[i].as_py(),
                "quarantined_at": now,
            }
            for i, values in zip(
                sorted(reasons), batch.filter(bad).select(visible).to_pylist(), strict=True
            )
        ]
        _write(batch.filter(pc.invert(bad)), files[0])
        for extra in files[1:]:
            storage.remove(extra)
        quarantine = zones.partition(lake, zones.QUARANTINE, source, table, load_date)
        earlier = storage.files(quarantine)
        merged = pa.concat_tables(
            [
                *(storage.read_table(p, schema=QUARANTINE_SCHEMA) for p in earlier),
                pa.Table.from_pylist(records, QUARANTINE_SCHEMA),
            ]
        )
        _write(merged, earlier[0] if earlier else quarantine / f"{summary.load_id}.parquet")
        for extra in earlier[1:]:
            storage.remove(extra)
        audit = read_audit(lake, source, table, load_date)
        if audit:
            audit.loaded -= len(records)
            audit.quarantined += len(records)
            counts = Counter(audit.reasons) + Counter(r["reason"] for r in records)
            audit.reasons = dict(sorted(counts.items()))
            audit.check()
            write_audit(audit, lake)
        summary.quarantined_rows = len(records)
        summary.status = "rows_quarantined"

    def validate_relation(
        self, relation: str, load_date: date, rebuilt: tuple[str, date] | None = None
    ) -> ValidationSummary:
        """Validate a published mart (``schema.model``) of the warehouse with its suite.

        Only the columns the suite looks at are read; with ``rebuilt`` (the column of the day
        and the first day a build rebuilt), only the rows of the days rebuilt (the others were
        checked when they were built; the table's keys are also dbt's tests, on every build).
        A mart a held-back source kept from being built is skipped (no_data). Critical failures
        are for the caller to act on: a mart cannot be held back, the run fails instead.
        """
        started = time.perf_counter()
        schema, model = relation.split(".", 1)
        summary = ValidationSummary("warehouse", relation, load_date.isoformat())
        suite_file = mart_suite_path(self.settings.expectations, relation)
        document = read_suite(suite_file)
        columns = sorted(
            {c for e in document["expectations"] for c in referenced_columns(e["kwargs"])}
        )
        con = engine.connect_warehouse(self.settings.warehouse)
        try:
            exists = con.execute(
                "select count(*) from information_schema.tables where "
                "table_schema = ? and table_name = ?",
                [schema, model],
            ).fetchone()[0]
            if not exists:
                summary.status = "no_data"
                return summary
            where = "" if rebuilt is None else f" where {engine.quote(rebuilt[0])} >= ?"
            batch = con.execute(
                f"select {', '.join(engine.quote(c) for c in columns)} "
                f"from {engine.quote(schema)}.{engine.quote(model)}{where}",
                [] if rebuilt is None else [rebuilt[1]],
            ).to_arrow_table()
        finally:
            con.close()
        summary.rows, summary.load_id = batch.num_rows, f"build_{self.run_id}"
        if rebuilt is not None:
            summary.rebuilt_from = rebuilt[1].isoformat()
        outcome = self._run_suite(
            batch, document, suite_file, summary, "warehouse", relation, load_date
        )
        _add_examples(outcome, batch, set())
        self._write_results(outcome, "warehouse", relation, load_date)
        summary.status = (
            "failed"
            if summary.failed.get("critical")
            else "warnings"
            if summary.failed
            else "passed"
        )
        summary.seconds = round(time.perf_counter() - started, 2)
        (log.warning if summary.failed else log.info)(summary.summary())
        return summary

    def finish(self) -> Path | None:
        """Build the GX Data Docs of everything validated (linked from the steward report)."""
        if "gx" not in self.__dict__:  # nothing was validated
            return None
        try:
            return self.gx.build_docs()
        except Exception as error:  # the docs are a convenience: never fail the run for them
            log.warning("GX Data Docs were not built: %s", error)
            return None


def _quarantine_reasons(outcome) -> dict[int, list[str]]:
    """The rows an error expectation failed, by position, with the reasons of each."""
    reasons: dict[int, list[str]] = {}
    for row, positions in outcome.failing_positions:
        if row["severity"] == "error":
            for position in positions:
                reasons.setdefault(position, []).append(reason_code(row))
    return reasons


def _add_examples(outcome, batch: pa.Table, quarantined: set[int]) -> None:
    """A few failing rows of each failing expectation, as JSON for stewards (``examples_json``,
    read by dq.validation_examples only): not a row that goes to the quarantine, no internal
    column, every text withheld (sotelake.withholding)."""
    visible = [c for c in batch.column_names if not c.startswith("_")]
    for row, positions in outcome.failing_positions:
        shown = list(islice((p for p in positions if p not in quarantined), EXAMPLES))
        if not shown:
            row["examples_json"] = "[]"
            continue
        examples = batch.select(visible).take(pa.array(shown, pa.int64())).to_pylist()
        row["examples_json"] = json.dumps(
            [withhold_values(e) for e in examples], default=str, ensure_ascii=False
        )


# The GX Data Docs: one site per validating step, each rebuilt whole by its step (a site lists
# only the batches of the context that builds it), linked from the steward report: the loads'
# batches (the validate task, a replay) and the published marts (the transform task).
DOCS_SITES = ("loads", "marts")


def docs_site(settings: Settings, site: str) -> Path:
    return settings.reports / "quality" / "gx" / site


def _results_file(lake: LakePath, source: str, table: str, load_date: date) -> LakePath:
    return zones.dq_file(lake, "validation_results", source, table, load_date)


def restore_rejected(
    source: str, table: str, load_date: date, settings: Settings | None = None
) -> bool:
    """Put a rejected batch back into the raw zone (for a replay); True if there was one.

    Its rows are published again: ``_published_at`` becomes now, so the warehouse's
    incremental models take them on their next run.
    """
    settings = settings or get_settings()
    lake = settings.lake
    rejected = zones.partition(lake, zones.REJECTED, source, table, load_date)
    files = storage.files(rejected)
    if not files:
        return False
    now = datetime.now(UTC)
    for path in files:
        batch = storage.read_table(path)
        if "_published_at" in batch.column_names:
            batch = batch.drop_columns(["_published_at"])
        batch = batch.append_column(
            "_published_at", pa.array([now] * batch.num_rows, pa.timestamp("us", tz="UTC"))
        )
        _write(batch, path)
    storage.move_dir(
        lake,
        rejected,
        zones.partition(lake, zones.RAW, source, table, load_date),
        zones.load_name(source, table, load_date),
    )
    open_items.update(
        lake,
        lambda items: open_items.resolve(
            items,
            lambda i: (
                open_items.of_table(source, table, open_items.REJECTED_BATCH)(i)
                and i["load_date"] == load_date
            ),
            "replayed: put back into the raw zone and validated again",
        ),
    )
    audit = read_audit(lake, source, table, load_date)
    if audit:
        audit.loaded, audit.rejected, audit.status = audit.loaded + audit.rejected, 0, "loaded"
        audit.check()
        write_audit(audit, lake)
    return True
