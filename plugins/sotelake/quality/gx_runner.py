"""Great Expectations, used the one way this project uses it.

One ephemeral context per validating step (GX is imported once, suites come from
``expectations/``); each batch is a pandas DataFrame validated with its suite; each result
becomes one row of ``dq.validation_results``, with the positions of the failing rows kept for
the caller. Data Docs are built from the same context into the steward report's folder.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from sotelake.quality.suites import SuiteError

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
        ("examples_json", pa.string()),
        ("validated_at", pa.timestamp("us", tz="UTC")),
    ]
)
EXAMPLES = 3  # failing rows kept per expectation, for stewards
PARTIAL = 10


@dataclass
class Outcome:
    """The results of one batch: result rows and, per failing expectation, its row positions."""

    rows: list[dict] = field(default_factory=list)
    failing_positions: list[tuple[dict, list[int]]] = field(default_factory=list)

    def failed(self, severity: str) -> list[dict]:
        return [r for r in self.rows if r["severity"] == severity and not r["success"]]


def _columns(kwargs: dict) -> str | None:
    """The column(s) an expectation is about: one, a pair, or a list."""
    if kwargs.get("column"):
        return kwargs["column"]
    if kwargs.get("column_A"):
        return f"{kwargs['column_A']}, {kwargs['column_B']}"
    return ", ".join(kwargs["column_list"]) if kwargs.get("column_list") else None


class GreatExpectations:
    """An ephemeral GX context; ``docs_dir`` (optional) receives the Data Docs site."""

    def __init__(self, docs_dir: Path | None = None) -> None:
        import great_expectations as gx  # heavy import (2-6 s): only in validating tasks
        from great_expectations.data_context.types.base import ProgressBarsConfig

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

    def validate(self, frame, document: dict, suite_file: Path, identity: dict) -> Outcome:
        """Validate ``frame``; ``identity`` (run_id, load_id, source, table_name, load_date)
        is written into every result row."""
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
        )
        validated_at = datetime.now(UTC)
        outcome = Outcome()
        visible = [c for c in frame.columns if not str(c).startswith("_")]
        for item in result.results:
            config, detail = item.expectation_config, item.result or {}
            meta = config.meta or {}
            kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
            positions = [
                int(i)
                for i in (detail.get("unexpected_index_list") or [])
                if isinstance(i, int | float)
            ]
            examples = frame.iloc[positions[:EXAMPLES]][visible].to_dict(orient="records")
            observed = detail.get("observed_value")
            row = {
                **identity,
                "suite_name": document["name"],
                "expectation_type": config.type,
                "column_name": _columns(kwargs),
                "kwargs_json": json.dumps(kwargs, default=str, sort_keys=True),
                "kahn_category": meta.get("kahn_category"),
                "severity": meta.get("severity"),
                "success": bool(item.success),
                "element_count": detail.get("element_count", len(frame)),
                "unexpected_count": detail.get("unexpected_count"),
                "unexpected_percent": detail.get("unexpected_percent"),
                "observed_value": None if observed is None else json.dumps(observed, default=str),
                "partial_unexpected_json": json.dumps(
                    (detail.get("partial_unexpected_list") or [])[:PARTIAL], default=str
                ),
                "examples_json": json.dumps(examples, default=str, ensure_ascii=False),
                "validated_at": validated_at,
            }
            outcome.rows.append(row)
            if not item.success:
                outcome.failing_positions.append((row, positions))
        return outcome

    def build_docs(self) -> Path | None:
        """Render Data Docs for every batch validated in this context; returns the index."""
        if self.docs_dir is None:
            return None
        self.context.build_data_docs()
        index = self.docs_dir / "index.html"
        return index if index.exists() else None
