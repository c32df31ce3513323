"""The steward report in plain language: a phrase for everything a check can say, what is new,
persisting and resolved since the previous load, and axes that read well."""

from __future__ import annotations

import json
import re
from datetime import date, datetime

import duckdb
import pyarrow as pa
import pytest

from sotelake.privacy import hetu
from sotelake.publish import quality_phrases
from sotelake.publish.charts import line_chart, nice_ticks
from sotelake.publish.steward_report import collect
from sotelake.quality.gx_runner import RESULT_SCHEMA
from sotelake.quality.suite_spec import SHORT as CHECKS
from sotelake.quality.validate import reason_code
from sotelake.settings import REPO_ROOT

LANGUAGES = quality_phrases.LANGUAGES


def assert_complete(phrase: dict, what: str) -> None:
    assert phrase is not quality_phrases.UNKNOWN, f"{what}: no phrase"
    assert phrase["owner"] in quality_phrases.OWNERS, what
    for lang in LANGUAGES:
        assert phrase[lang]["meaning"].strip() and phrase[lang]["action"].strip(), (what, lang)
    meanings = {phrase[lang]["meaning"] for lang in LANGUAGES}
    assert len(meanings) == 3, f"{what}: a language is a copy of another"


def test_every_expectation_the_suites_can_use_has_a_phrase_in_three_languages():
    for expectation in CHECKS.values():
        assert_complete(quality_phrases.for_expectation(expectation), expectation)
    used = {
        e["type"]
        for suite in (REPO_ROOT / "expectations").rglob("*.json")
        for e in json.loads(suite.read_text())["expectations"]
    }
    assert used <= set(quality_phrases.EXPECTATIONS), used - set(quality_phrases.EXPECTATIONS)


def test_every_reason_a_row_is_quarantined_for_has_a_phrase():
    reasons = {hetu.MISSING, hetu.BAD_FORMAT, hetu.BAD_DATE, hetu.BAD_CHECKSUM}
    readers = (REPO_ROOT / "plugins/sotelake/sources/readers.py").read_text()
    reasons |= set(re.findall(r"'([a-z_]+):", readers))  # missing, bad_type, parse_error
    assert {"missing", "bad_type", "parse_error"} <= reasons
    for expectation in CHECKS.values():  # an error expectation's rows: dq_<check>:<column>
        reasons.add(reason_code({"expectation_type": expectation, "column_name": "a_column"}))
    for reason in reasons:
        assert_complete(quality_phrases.for_reason(reason.split(":")[0]), reason)
        assert_complete(quality_phrases.for_reason(reason), reason)
    assert quality_phrases.for_reason("dq_no_such_check") is quality_phrases.UNKNOWN


def test_every_dbt_test_of_the_project_has_a_phrase():
    project = REPO_ROOT / "dbt"
    generic = {p.stem for p in (project / "tests" / "generic").glob("*.sql")}
    used = set()
    for yml in (project / "models").rglob("*.yml"):
        used |= set(re.findall(r"^\s*- (?:dbt_utils\.)?([a-z_]+):?\s*$", yml.read_text(), re.M))
    builtin = {"not_null", "unique", "accepted_values", "relationships"}
    for test in generic | (used & (builtin | generic)):
        assert_complete(quality_phrases.for_dbt_test(test), test)


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0, 2.9, [0, 1, 2, 3]),
        (0, 23_455, [0, 10_000, 20_000, 30_000]),
        (0, 0.76, [0, 0.2, 0.4, 0.6, 0.8]),
        (0, 1, [0, 0.25, 0.5, 0.75, 1]),
        (-3, 7, [-5, -2.5, 0, 2.5, 5, 7.5]),
    ],
)
def test_axes_tick_on_round_numbers(low, high, ticks):
    found, decimals = nice_ticks(low, high)
    assert found == pytest.approx(ticks)
    assert all(round(t, decimals) == pytest.approx(t) for t in found)


def test_one_period_is_a_number_not_a_chart():
    shown = line_chart({"Yhteensä": [("2025", 12.34)]}, title="T", decimals=1)
    assert "<svg" not in shown and "12,3" in shown and "2025" in shown
    chart = line_chart({"x": [("2025-01", 0.5), ("2025-12", 2.9)]}, title="T")
    labels = re.findall(r'class="axis" text-anchor="end">([^<]+)<', chart)
    assert labels == ["0", "1", "2", "3"]


def _warehouse(results: list[dict]) -> duckdb.DuckDBPyConnection:
    """A warehouse with only the quality tables the report reads."""
    con = duckdb.connect()
    con.execute("create schema dq")
    con.execute(
        "create table dq.load_audit (source varchar, table_name varchar, load_date date, "
        "load_id varchar, extracted bigint, loaded bigint, quarantined bigint, rejected bigint, "
        "status varchar, error varchar, rejected_files_json varchar, new_columns varchar, "
        "withheld_columns varchar, missing_columns varchar, codes_withheld bigint, "
        "recorded_at timestamp)"
    )
    con.execute(
        "create table dq.quarantine (source varchar, table_name varchar, load_id varchar, "
        "reason varchar, reasons varchar, row_json varchar)"
    )
    for day in sorted({r["load_date"] for r in results}):
        con.execute(
            "insert into dq.load_audit values ('s', 't', ?, ?, 10, 10, 0, 0, 'loaded', null, "
            "null, null, null, null, 0, ?)",
            [day, f"load-{day}", datetime(day.year, day.month, day.day)],
        )
    rows = [
        {
            **{f.name: None for f in RESULT_SCHEMA},
            "run_id": "r",
            "source": "s",
            "table_name": "t",
            "suite_name": "raw.s.t",
            "kahn_category": "conformance",
            "severity": "warning",
            "element_count": 10,
            **r,
            "load_id": f"load-{r['load_date']}",
            "kwargs_json": json.dumps({"column": r["column_name"]}),
        }
        for r in results
    ]
    validation_results = pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)  # noqa: F841
    con.execute("create table dq.validation_results as select * from validation_results")
    return con


def test_failures_are_new_persisting_or_resolved_against_the_previous_load():
    before, now = date(2026, 1, 1), date(2026, 1, 2)
    in_set, between = "expect_column_values_to_be_in_set", "expect_column_values_to_be_between"
    result = lambda day, kind, column, ok: {  # noqa: E731
        "load_date": day,
        "expectation_type": kind,
        "column_name": column,
        "success": ok,
        "unexpected_count": 0 if ok else 3,
    }
    con = _warehouse(
        [
            result(before, in_set, "code", False),  # persists
            result(now, in_set, "code", False),
            result(before, between, "age", True),  # is new
            result(now, between, "age", False),
            result(before, in_set, "unit", False),  # is resolved
            result(now, in_set, "unit", True),
        ]
    )
    data = collect(con)
    changes = {r["column_name"]: r["change"] for r in data["failing"]}
    assert changes == {"code": "persisting", "age": "new"}
    assert [r["column_name"] for r in data["resolved_checks"]] == ["unit"]
    assert data["failing"][0]["phrase"] is quality_phrases.EXPECTATIONS[between] or (
        data["failing"][0]["phrase"] is quality_phrases.EXPECTATIONS[in_set]
    )
