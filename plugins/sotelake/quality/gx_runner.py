"""Great Expectations, used the one way this project uses it.

One ephemeral context per validating step (GX is imported once, suites come from
``expectations/``); each batch is a pandas DataFrame validated with its suite; each result
becomes one row of ``dq.validation_results``, with the positions of the failing rows kept for
the caller. A result row says how many values failed and their shapes (``'12,5 h'`` ->
``'99,9 a'``), never the values: the caller adds example rows for stewards only
(``examples_json``, dq.validation_examples). Data Docs are built from the same context into the
steward report's folder, withheld (sotelake.withholding) before they are written.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from sotelake.quality.data_docs import make_offline, write_index
from sotelake.quality.suites import SuiteError
from sotelake.withholding import shape, withhold

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
        ("unexpected_shapes_json", pa.string()),  # shape -> failing values of that shape
        ("examples_json", pa.string()),  # failing rows, for stewards only (validate.py)
        ("validated_at", pa.timestamp("us", tz="UTC")),
    ]
)
PARTIAL = 10
SHAPES = 10  # the most frequent shapes of an expectation's failing values
PART_ROWS = 1_000_000  # rows per pandas frame given to GX (about 0.5 GB for a wide table)
#: Expectations decided row by row, so a batch can be validated in parts and the counts added.
ROW_BY_ROW = {
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_value_lengths_to_be_between",
    "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_column_pair_values_to_be_equal",
}


def _condition_columns(condition) -> list[str]:
    """The columns a row_condition compares: GX's Condition in its serialised form, such as
    {type: comparison, column: {name: professional_group}, operator: "==", parameter: LK}, or
    an and/or of them."""
    if not isinstance(condition, dict):
        return []
    found = [condition["column"]["name"]] if isinstance(condition.get("column"), dict) else []
    for part in condition.get("conditions") or []:
        found += _condition_columns(part)
    return found


def referenced_columns(kwargs: dict) -> list[str]:
    """The columns an expectation reads (those of its row_condition too)."""
    named = [kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B")]
    named += _condition_columns(kwargs.get("row_condition"))
    found = [c for c in named if c] + list(kwargs.get("column_list") or [])
    return list(dict.fromkeys(found))


@dataclass
class Outcome:
    """The results of one batch: result rows and, per failing expectation, its row positions."""

    rows: list[dict] = field(default_factory=list)
    failing_positions: list[tuple[dict, list[int]]] = field(default_factory=list)

    def failed(self, severity: str) -> list[dict]:
        return [r for r in self.rows if r["severity"] == severity and not r["success"]]


@dataclass
class _Combined:
    """One expectation's result over the parts of a batch."""

    config: object
    kwargs: dict
    success: bool = True
    element_count: int = 0
    unexpected_count: int | None = None
    missing_count: int = 0
    unexpected_percent: float | None = None
    observed: object = None
    partial: list = field(default_factory=list)
    positions: list[int] = field(default_factory=list)

    def add(self, item, offset: int, in_parts: bool) -> None:
        detail = item.result or {}
        self.success = self.success and bool(item.success)
        self.element_count += detail.get("element_count") or 0
        self.missing_count += detail.get("missing_count") or 0
        if detail.get("unexpected_count") is not None:
            self.unexpected_count = (self.unexpected_count or 0) + detail["unexpected_count"]
        if self.observed is None:
            self.observed = detail.get("observed_value")
        self.partial += detail.get("partial_unexpected_list") or []
        self.positions += [
            int(i) + offset
            for i in (detail.get("unexpected_index_list") or [])
            if isinstance(i, int | float)
        ]
        if not in_parts:
            self.unexpected_percent = detail.get("unexpected_percent")
            return
        nonmissing = self.element_count - self.missing_count
        if self.unexpected_count is not None and nonmissing:
            self.unexpected_percent = 100 * self.unexpected_count / nonmissing
            if self.kwargs.get("mostly") is not None:  # decided on all parts together
                self.success = 1 - self.unexpected_count / nonmissing >= self.kwargs["mostly"]


class GreatExpectations:
    """An ephemeral GX context; ``docs_dir`` (optional) receives the Data Docs site."""

    def __init__(self, docs_dir: Path | None = None) -> None:
        from sotelake.quality.gx_import import import_great_expectations

        gx = import_great_expectations()  # heavy: only in validating tasks
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every pandas batch below 1 GB (an md5 of pandas' hash of every row),
        # only to show it as a batch marker: half the time of a check on 3 million visits.
        # Nothing here reads it, so no batch is hashed.
        pandas_execution_engine.HASH_THRESHOLD = 0

        for name in ("great_expectations", "great_expectations.data_context.types.base"):
            logging.getLogger(name).setLevel(logging.WARNING)
        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.source = self.context.data_sources.add_pandas(name="batches")
        self.docs_dir = docs_dir
        if docs_dir is not None:
            for site in list(self.context.get_site_names()):
                self.context.delete_data_docs_site(site)
            self.context.add_data_docs_site(
                site_name="sotelake",
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(docs_dir.resolve()),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )

    def _suite(self, document: dict, path: Path):
        from great_expectations.expectations.expectation_configuration import (
            ExpectationConfiguration,
        )

        expectations = []
        for i, item in enumerate(document["expectations"]):
            try:
                expectations.append(ExpectationConfiguration(**item).to_domain_obj())
            except Exception as error:
                raise SuiteError(
                    f"{path}: expectation {i} ({item.get('type')}): {error}"
                ) from error
        name = document["name"]
        if name in [s.name for s in self.context.suites.all()]:
            self.context.suites.delete(name)
        return self.context.suites.add(
            self.gx.ExpectationSuite(
                name=name, meta=document.get("meta"), expectations=expectations
            )
        )

    def validate(
        self, table: pa.Table, document: dict, suite_file: Path, identity: dict
    ) -> Outcome:
        """Validate an Arrow ``table`` with the suite; ``identity`` (run_id, load_id, source,
        table_name, load_date) is written into every result row.

        Only the columns the suite reads become pandas, and a batch of more than ``PART_ROWS``
        rows is validated in parts of that size, so memory stays flat however large the batch
        (an initial load of two years of visits is millions of rows). Expectations that compare
        rows with each other (uniqueness) see all rows of their own columns at once; the parts'
        counts, failing rows and ``mostly`` are combined into one result per expectation.
        """
        n = table.num_rows
        expectations = document["expectations"]
        if n <= PART_ROWS:
            plan = [(expectations, [(0, n)])]
        else:
            parts = [(offset, min(PART_ROWS, n - offset)) for offset in range(0, n, PART_ROWS)]
            plan = [
                ([e for e in expectations if e["type"] not in ROW_BY_ROW], [(0, n)]),
                ([e for e in expectations if e["type"] in ROW_BY_ROW], parts),
            ]
        combined: dict[str, _Combined] = {}
        for group, parts in plan:
            if not group:
                continue
            read = {c for e in group for c in referenced_columns(e["kwargs"])}
            columns = [c for c in table.column_names if c in read]
            for offset, length in parts:
                frame = table.slice(offset, length).select(columns).to_pandas()
                for item in self._run(
                    frame, {**document, "expectations": group}, suite_file, identity["load_date"]
                ):
                    kwargs = dict(item.expectation_config.kwargs)
                    kwargs.pop("batch_id", None)
                    key = item.expectation_config.type + json.dumps(kwargs, default=str)
                    combined.setdefault(key, _Combined(item.expectation_config, kwargs)).add(
                        item, offset, len(parts) > 1
                    )
                del frame
        validated_at = datetime.now(UTC)
        outcome = Outcome()
        for result in combined.values():
            config, meta = result.config, result.config.meta or {}
            row = {
                **identity,
                "suite_name": document["name"],
                "expectation_type": config.type,
                "column_name": ", ".join(referenced_columns(result.kwargs)) or None,
                "kwargs_json": json.dumps(result.kwargs, default=str, sort_keys=True),
                "kahn_category": meta.get("kahn_category"),
                "severity": meta.get("severity"),
                "success": result.success,
                "element_count": result.element_count,
                "unexpected_count": result.unexpected_count,
                "unexpected_percent": result.unexpected_percent,
                "observed_value": None
                if result.observed is None
                else withhold(json.dumps(result.observed, default=str)),
                "unexpected_shapes_json": json.dumps(
                    _shapes(table, referenced_columns(result.kwargs), result), ensure_ascii=False
                ),
                "examples_json": None,
                "validated_at": validated_at,
            }
            outcome.rows.append(row)
            if not result.success:
                outcome.failing_positions.append((row, result.positions))
        return outcome

    def _run(self, frame, document: dict, suite_file: Path, load_date) -> list:
        """One GX validation of a pandas frame; its expectation results. The run is named by
        the load date, the name the Data Docs show (GX's own would be ``__none__``)."""
        from great_expectations.core.run_identifier import RunIdentifier

        suite = self._suite(document, suite_file)
        asset_name = document["name"]
        assets = {a.name: a for a in self.source.assets}
        asset = assets.get(asset_name) or self.source.add_dataframe_asset(name=asset_name)
        batch = next(
            iter(asset.batch_definitions), None
        ) or asset.add_batch_definition_whole_dataframe("batch")
        definitions = {d.name: d for d in self.context.validation_definitions.all()}
        if asset_name in definitions:
            self.context.validation_definitions.delete(asset_name)
        definition = self.context.validation_definitions.add(
            self.gx.ValidationDefinition(name=asset_name, data=batch, suite=suite)
        )
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE", "partial_unexpected_count": PARTIAL},
            run_id=RunIdentifier(run_name=str(load_date), run_time=datetime.now(UTC)),
        )
        return list(result.results)

    def build_docs(self) -> Path | None:
        """Render Data Docs for every batch validated in this context; returns the index.

        Their pages show failing values (raw rows are pseudonymised and their free text
        screened already); every page passes through sotelake.withholding all the same. GX's pages
        load their styles and scripts from the internet: each is made to work offline
        (data_docs.make_offline), and the index, which GX fills with a script, is written again
        as a static page."""
        if self.docs_dir is None:
            return None
        started = time.time()
        self.context.build_data_docs()
        for page in self.docs_dir.rglob("*.html"):
            if page.stat().st_mtime < started - 1:  # an earlier build's page, withheld then
                continue
            text = page.read_text(encoding="utf-8")
            if (safe := make_offline(withhold(text))) != text:
                page.write_text(safe, encoding="utf-8")
        return write_index(self.docs_dir)


def _shapes(table: pa.Table, columns: list[str], result: _Combined) -> dict[str, int]:
    """The shapes of an expectation's failing values (of all its failing rows, when GX gave
    their positions, else of the values it listed), the most frequent first. A shape tells a
    date from a number or a code from a name without showing any of them."""
    columns = [c for c in columns if c in table.column_names]
    if result.positions and columns:
        # (a take joins the table's chunks: only the failing rows' columns are taken)
        taken = table.select(columns).take(pa.array(result.positions, pa.int64()))
        parts = [pc.fill_null(taken.column(c).cast(pa.string()), "null") for c in columns]
        values = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, " | ")
        shaped = pc.replace_substring_regex(values, r"[0-9]", "9")
        shaped = pc.replace_substring_regex(shaped, r"\p{Lu}", "A")
        shaped = pc.replace_substring_regex(shaped, r"\p{Ll}", "a")
        counted = pc.value_counts(pc.utf8_slice_codeunits(shaped, 0, 40)).to_pylist()
        found = {c["values"]: c["counts"] for c in counted}
    else:
        found = {}
        for value in result.partial:
            found[shape(value)] = found.get(shape(value), 0) + 1
    return dict(sorted(found.items(), key=lambda item: (-item[1], item[0]))[:SHAPES])
