"""Generate the raw tables' Great Expectations suites from a small declarative spec.

``expectations/specs.yml`` holds what is particular to each table, in a short form a steward can
read; what every table needs follows from the source registry (config/sources.yml): a primary
key that is unique and present, required columns present, pseudonyms that look like pseudonyms.
``sotelake suites`` writes one GX 1.x suite per raw table to
``expectations/raw/<source>/<table>.json``; a test keeps the files and the spec in step.
"""

from __future__ import annotations

import json
from pathlib import Path

from sotelake.quality.suites import KAHN_CATEGORIES, SEVERITIES, SuiteError
from sotelake.settings import read_yaml
from sotelake.sources.registry import Table, all_tables, load_registry

# Short names of the spec -> (GX expectation type, how the spec's keys become kwargs)
SHORT = {
    "unique": "expect_column_values_to_be_unique",
    "not_null": "expect_column_values_to_not_be_null",
    "in_set": "expect_column_values_to_be_in_set",
    "between": "expect_column_values_to_be_between",
    "regex": "expect_column_values_to_match_regex",
    "a_at_least_b": "expect_column_pair_values_a_to_be_greater_than_b",
    "unique_together": "expect_compound_columns_to_be_unique",
    "rows_between": "expect_table_row_count_to_be_between",
}
PSEUDONYM_REGEX = "^[0-9a-f]{32}$"


def _expectation(short: str, kahn: str, severity: str, where: str, **kwargs) -> dict:
    if short not in SHORT:
        raise SuiteError(f"{where}: unknown expectation {short!r}; use one of {sorted(SHORT)}")
    if kahn not in KAHN_CATEGORIES or severity not in SEVERITIES:
        raise SuiteError(
            f"{where}: kahn must be one of {sorted(KAHN_CATEGORIES)} and severity "
            f"one of {sorted(SEVERITIES)}"
        )
    if isinstance(kwargs.get("row_condition"), str):
        raise SuiteError(
            f"{where}: row_condition {kwargs['row_condition']!r} is a string; write it in GX's "
            "Condition form, such as {type: comparison, column: {name: professional_group}, "
            'operator: "==", parameter: LK}'
        )
    return {
        "type": SHORT[short],
        "kwargs": kwargs,
        "meta": {"kahn_category": kahn, "severity": severity},
    }


def _from_registry(table: Table) -> list[dict]:
    where = f"config/sources.yml {table.qualified_name}"
    found = []
    output = {c.name: c.output_name or c.name for c in table.columns}
    key = [output[c] for c in table.primary_key]
    if len(key) == 1:
        found.append(_expectation("unique", "conformance", "critical", where, column=key[0]))
    elif key:
        found.append(
            _expectation("unique_together", "conformance", "critical", where, column_list=key)
        )
    for col in table.kept_columns:
        if col.privacy == "person_identifier":
            found.append(
                _expectation("not_null", "completeness", "critical", where, column=col.output_name)
            )
            found.append(
                _expectation(
                    "regex",
                    "conformance",
                    "critical",
                    where,
                    column=col.output_name,
                    regex=PSEUDONYM_REGEX,
                )
            )
        elif col.required:
            found.append(
                _expectation("not_null", "completeness", "critical", where, column=col.name)
            )
    return found


def build_suites(spec_path: Path, registry_path: Path | None = None) -> dict[str, dict]:
    """Suite documents by qualified table name (source.table)."""
    spec = read_yaml(spec_path) or {}
    registry = load_registry(registry_path)
    tables = {t.qualified_name: t for t in all_tables(registry)}
    unknown = sorted(set(spec.get("tables", {})) - set(tables))
    if unknown:
        raise SuiteError(f"{spec_path}: tables not in the source registry: {unknown}")
    suites = {}
    for name, table in tables.items():
        expectations = _from_registry(table)
        for i, item in enumerate(spec.get("tables", {}).get(name, [])):
            item = dict(item)
            where = f"{spec_path}: {name} item {i}"
            expectations.append(
                _expectation(
                    item.pop("expect"), item.pop("kahn"), item.pop("severity"), where, **item
                )
            )
        suites[name] = {
            "name": f"raw.{name}",
            "expectations": expectations,
            "meta": {
                "source": table.source,
                "table": table.name,
                "zone": "raw",
                "generated_from": "expectations/specs.yml and config/sources.yml",
            },
        }
    return suites


def build_mart_suites(spec_path: Path) -> dict[str, dict]:
    """Suite documents of the published marts by ``schema.model``, from the spec's ``marts:``."""
    spec = read_yaml(spec_path) or {}
    suites = {}
    for name, items in (spec.get("marts") or {}).items():
        expectations = []
        for i, item in enumerate(items):
            item = dict(item)
            where = f"{spec_path}: {name} item {i}"
            expectations.append(
                _expectation(
                    item.pop("expect"), item.pop("kahn"), item.pop("severity"), where, **item
                )
            )
        suites[name] = {
            "name": f"warehouse.{name}",
            "expectations": expectations,
            "meta": {
                "relation": name,
                "zone": "warehouse",
                "generated_from": "expectations/specs.yml",
            },
        }
    return suites


def mart_suite_path(expectations_dir: Path, relation: str) -> Path:
    return expectations_dir / "marts" / f"{relation}.json"


def write_suites(expectations_dir: Path, registry_path: Path | None = None) -> list[Path]:
    written = []
    spec = expectations_dir / "specs.yml"
    for name, document in build_mart_suites(spec).items():
        path = mart_suite_path(expectations_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    for name, document in build_suites(spec, registry_path).items():
        source, table = name.split(".", 1)
        path = expectations_dir / "raw" / source / f"{table}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written
