"""Validate a load's raw batch with its Great Expectations suite; record every result.

The batch (the load's raw partition) is read into pandas and validated in an ephemeral GX
context. One row per expectation goes to ``<lake>/dq/validation_results/`` (dbt publishes them
as ``dq.validation_results``); a re-validation of the same load replaces its rows. A failed
critical expectation raises ``CriticalExpectationFailed`` after the results are written.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq

from sotelake.lake import zones
from sotelake.quality.suites import SuiteError, read_suite, suite_path
from sotelake.settings import Settings, get_settings

log = logging.getLogger(__name__)

RESULT_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("load_id", pa.string()),
        ("source", pa.string()),
        ("table_name", pa.string()),
        ("load_date", pa.date32()),
        ("suite_name", pa.string()),
        ("expectation_type", pa.string()),
        ("column_name", pa.string()),
        ("kwargs_json", pa.string()),
        ("kahn_category", pa.string()),
        ("severity", pa.string()),
        ("success", pa.bool_()),
        ("element_count", pa.int64()),
        ("unexpected_count", pa.int64()),
        ("unexpected_percent", pa.float64()),
        ("observed_value", pa.string()),
        ("partial_unexpected_json", pa.string()),
        ("validated_at", pa.timestamp("us", tz="UTC")),
    ]
)
PARTIAL_EXAMPLES = 10


class CriticalExpectationFailed(RuntimeError):
    """A critical expectation failed: the batch is rejected (kept in the lake for replay)."""


@dataclass
class ValidationSummary:
    source: str
    table: str
    load_date: str
    rows: int = 0
    evaluated: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # severity -> failed expectations
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.source}.{self.table} ({self.load_date}): {self.evaluated} expectations on "
            f"{self.rows} rows, failed {self.failed or 'none'} in {self.seconds:.1f} s"
        )


def _gx_context():
    """An ephemeral GX context (suites come from expectations/, results go to the lake)."""
    import great_expectations as gx  # heavy import (2-3 s): only inside the validating task
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return gx, context


def _expectations(document: dict, path) -> list:
    """GX expectation objects; an unknown type or argument is an error naming the file."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    built = []
    for i, item in enumerate(document["expectations"]):
        try:
            built.append(ExpectationConfiguration(**item).to_domain_obj())
        except Exception as error:
            raise SuiteError(f"{path}: expectation {i} ({item.get('type')}): {error}") from error
    return built


def validate_load(
    source: str, table: str, load_date: date, run_id: str, settings: Settings | None = None
) -> ValidationSummary:
    settings = settings or get_settings()
    started = time.perf_counter()
    summary = ValidationSummary(source, table, load_date.isoformat())
    partition = zones.partition(settings.lake, zones.RAW, source, table, load_date)
    document = read_suite(suite_path(settings.expectations, source, table))
    files = sorted(partition.glob("*.parquet"))
    if not files:
        log.warning("%s.%s: no raw partition for %s; nothing to validate", source, table, load_date)
        return summary
    frame = pq.read_table(files).to_pandas()
    load_id = str(frame["_load_id"].iloc[0]) if len(frame) else files[0].stem
    summary.rows = len(frame)

    gx, context = _gx_context()
    batch_definition = (
        context.data_sources.add_pandas(name="raw")
        .add_dataframe_asset(name=f"{source}.{table}")
        .add_batch_definition_whole_dataframe("load")
    )
    suite = context.suites.add(
        gx.ExpectationSuite(
            name=document["name"],
            meta=document.get("meta"),
            expectations=_expectations(document, suite_path(settings.expectations, source, table)),
        )
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=document["name"], data=batch_definition, suite=suite)
    )
    outcome = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": PARTIAL_EXAMPLES},
    )
    validated_at = datetime.now(UTC)
    rows = []
    for result in outcome.results:
        config, detail = result.expectation_config, result.result or {}
        meta = config.meta or {}
        kwargs = {k: v for k, v in config.kwargs.items() if k not in ("batch_id",)}
        severity = meta.get("severity", "warning")
        if not result.success:
            summary.failed[severity] = summary.failed.get(severity, 0) + 1
        observed = detail.get("observed_value")
        rows.append(
            {
                "run_id": run_id,
                "load_id": load_id,
                "source": source,
                "table_name": table,
                "load_date": load_date,
                "suite_name": document["name"],
                "expectation_type": config.type,
                "column_name": kwargs.get("column"),
                "kwargs_json": json.dumps(kwargs, default=str, sort_keys=True),
                "kahn_category": meta.get("kahn_category"),
                "severity": severity,
                "success": bool(result.success),
                "element_count": detail.get("element_count", summary.rows),
                "unexpected_count": detail.get("unexpected_count"),
                "unexpected_percent": detail.get("unexpected_percent"),
                "observed_value": None if observed is None else json.dumps(observed, default=str),
                "partial_unexpected_json": json.dumps(
                    detail.get("partial_unexpected_list") or [], default=str
                ),
                "validated_at": validated_at,
            }
        )
    summary.evaluated = len(rows)
    path = zones.dq_file(settings.lake, "validation_results", source, table, load_date)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.Table.from_pylist(rows, RESULT_SCHEMA), tmp)
    tmp.replace(path)
    summary.seconds = round(time.perf_counter() - started, 2)
    log.info(summary.summary())
    if summary.failed.get("critical"):
        failing = [
            f"{r['expectation_type']}({r['column_name']}): {r['unexpected_count']} rows"
            for r in rows
            if r["severity"] == "critical" and not r["success"]
        ]
        raise CriticalExpectationFailed(
            f"{source}.{table} load {load_id} rejected by critical expectations: "
            + "; ".join(failing)
        )
    return summary
