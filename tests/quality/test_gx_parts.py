"""A large batch is validated in parts (memory stays flat): the results must be those of one
validation of the whole batch, failing rows, counts and ``mostly`` included."""

import json

import pyarrow as pa
import pytest

from sotelake.quality import gx_runner

IDENTITY = {"run_id": "r", "load_id": "l", "source": "s", "table_name": "t", "load_date": None}
SUITE = {
    "name": "s.t",
    "expectations": [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        {
            "type": "expect_compound_columns_to_be_unique",
            "kwargs": {"column_list": ["person", "day"]},
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "status", "value_set": ["ok"]},
        },
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "code", "mostly": 0.9},
        },
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "note", "mostly": 0.7},
        },
    ],
}


@pytest.fixture(scope="module")
def gx():
    return gx_runner.GreatExpectations()


def batch() -> pa.Table:
    n = 25
    ids = list(range(n))
    ids[20] = 1  # a duplicate of row 1, in another part
    status = ["ok"] * n
    status[3] = status[17] = "bad"
    code = [None if i in (2, 12, 22) else "x" for i in range(n)]  # 12 % null: fails 0.9
    note = [None if i % 4 == 0 else "y" for i in range(n)]  # 28 % null: passes 0.7
    person = [i % 20 for i in range(n)]
    day = [0] * n  # (person, day) repeats for rows 0-4 and 20-24, in other parts
    return pa.table(
        {
            "id": ids,
            "status": status,
            "code": code,
            "note": note,
            "person": person,
            "day": day,
            "_internal": ["z"] * n,
        }
    )


def results(gx, monkeypatch, part_rows: int) -> dict:
    monkeypatch.setattr(gx_runner, "PART_ROWS", part_rows)
    outcome = gx.validate(batch(), SUITE, None, IDENTITY)
    failing = {row["kwargs_json"]: positions for row, positions in outcome.failing_positions}
    return {
        (row["expectation_type"], row["column_name"]): (
            row["success"],
            row["element_count"],
            row["unexpected_count"],
            round(row["unexpected_percent"] or 0, 6),
            sorted(failing.get(row["kwargs_json"], [])),
        )
        for row in outcome.rows
    }


def test_parts_give_the_results_of_the_whole_batch(gx, monkeypatch):
    whole = results(gx, monkeypatch, 1000)
    parted = results(gx, monkeypatch, 10)  # three parts: 10, 10, 5 rows
    assert parted == whole
    assert whole[("expect_column_values_to_be_unique", "id")][4] == [1, 20]
    assert whole[("expect_column_values_to_be_in_set", "status")][:3] == (False, 25, 2)
    assert whole[("expect_column_values_to_be_in_set", "status")][4] == [3, 17]
    assert whole[("expect_column_values_to_not_be_null", "code")][0] is False  # 3 of 25 > 10 %
    assert whole[("expect_column_values_to_not_be_null", "note")][0] is True  # 7 of 25 < 30 %
    assert whole[("expect_compound_columns_to_be_unique", "person, day")][4] == [
        *range(5),
        *range(20, 25),
    ]


def test_results_show_shapes_and_examples_are_failing_rows_that_stay(gx, monkeypatch):
    """A result row shows the failing values' shapes only; the stewards' examples are failing
    rows without internal columns, and none that the quarantine takes."""
    from sotelake.quality.validate import _add_examples

    monkeypatch.setattr(gx_runner, "PART_ROWS", 10)
    table = batch()
    outcome = gx.validate(table, SUITE, None, IDENTITY)
    row = next(r for r in outcome.rows if r["column_name"] == "status")
    assert row["unexpected_shapes_json"] == '{"aaa": 2}'
    assert "bad" not in json.dumps(row, default=str)
    compound = next(r for r in outcome.rows if r["column_name"] == "person, day")
    assert json.loads(compound["unexpected_shapes_json"]) == {"9 | 9": 10}
    _add_examples(outcome, table, quarantined={3})  # row 3 goes to the quarantine
    examples = json.loads(row["examples_json"])
    assert [e["id"] for e in examples] == [17] and examples[0]["status"] == "bad"
    assert "_internal" not in row["examples_json"]


def test_an_empty_load_is_not_validated_and_leaves_no_stale_results(tmp_path, monkeypatch):
    """A quiet day's empty loads cost no GX (not even its import); a re-run that found no rows
    removes the results an earlier run of that date wrote."""
    from datetime import date

    import pyarrow.parquet as pq

    from sotelake.lake import zones
    from sotelake.quality.validate import Validator, _results_file
    from sotelake.settings import get_settings

    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    settings = get_settings()
    day = date(2026, 1, 2)
    partition = zones.partition(settings.lake, zones.RAW, "unified_record", "visits", day)
    partition.mkdir(parents=True)
    pq.write_table(pa.table({"visit_id": pa.array([], pa.int64())}), partition / "load1.parquet")
    stale = _results_file(settings.lake, "unified_record", "visits", day)
    stale.parent.mkdir(parents=True)
    stale.write_text("an earlier run's results")
    validator = Validator("run", settings)
    summary = validator.validate_load("unified_record", "visits", day)
    assert (summary.status, summary.rows, summary.load_id) == ("no_data", 0, "load1")
    assert not stale.exists()
    assert "gx" not in validator.__dict__ and validator.finish() is None


def test_no_batch_is_fingerprinted(gx, monkeypatch):
    """GX would hash every pandas batch for a marker nothing reads (half of a check's time on
    millions of rows): the runner turns it off, and the results are the same."""
    from great_expectations.execution_engine import pandas_execution_engine

    def hashed(frame):
        raise AssertionError("a batch was fingerprinted")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", hashed)
    assert results(gx, monkeypatch, 1000) == results(gx, monkeypatch, 10)


def test_great_expectations_is_imported_without_scipy_stats_or_pyspark_and_both_still_work():
    """A fresh process (this one may have imported both): GX's import leaves out scipy.stats
    and pyspark (quality.gx_import), a KL-divergence expectation still gets scipy's entropy,
    and scipy.stats' submodules and pyspark import as before."""
    import subprocess
    import sys

    script = """
import sys
from sotelake.quality.gx_runner import GreatExpectations
GreatExpectations()
print(sorted(m for m in ('scipy.stats._stats_py', 'pyspark', 'scipy.sparse') if m in sys.modules))
from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
print(round(kl.stats.entropy([0.5, 0.5], [0.9, 0.1]), 4))
from scipy.stats import distributions
import pyspark
print(distributions.norm.cdf(0), pyspark.__name__)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split("\n")[:3] == ["[]", "0.5108", "0.5 pyspark"], done.stderr[-2000:]


def test_a_row_condition_checks_only_its_rows_in_parts_as_in_whole(gx, monkeypatch):
    """The visits' professional must be named when the professional group is LK: a condition in
    GX's serialised Condition form (as specs.yml writes it) limits the expectation to those
    rows, and its column is read with the expectation's own."""
    expectation = {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {
            "column": "code",
            "row_condition": {
                "type": "comparison",
                "column": {"name": "status"},
                "operator": "==",
                "parameter": "bad",
            },
        },
    }
    assert gx_runner.referenced_columns(expectation["kwargs"]) == ["code", "status"]
    table = batch().set_column(
        2, "code", pa.array([None if i in (3, 5) else "x" for i in range(25)])
    )
    suite = {"name": "s.t", "expectations": [expectation]}
    for part_rows in (1000, 10):
        monkeypatch.setattr(gx_runner, "PART_ROWS", part_rows)
        outcome = gx.validate(table, suite, None, IDENTITY)
        (row,) = outcome.rows
        # rows 3 and 17 are "bad"; of those, row 3 has no code (row 5's missing code is "ok")
        assert (row["success"], row["element_count"], row["unexpected_count"]) == (False, 2, 1)
        assert [positions for _, positions in outcome.failing_positions] == [[3]]
