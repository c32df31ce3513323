"""The raw tables' suites: one per registered table, generated from the spec, well-formed."""

import json

import pytest

from sotelake.quality.suite_spec import build_mart_suites, build_suites, mart_suite_path
from sotelake.quality.suites import read_suite, suite_path
from sotelake.settings import get_settings
from sotelake.sources.registry import all_tables, load_registry


def test_every_raw_table_has_a_suite_in_step_with_the_spec():
    expectations = get_settings().expectations
    built = build_suites(expectations / "specs.yml")
    for table in all_tables(load_registry()):
        path = suite_path(expectations, table.source, table.name)
        on_disk = read_suite(path)  # checks Kahn category and severity of every expectation
        assert on_disk == json.loads(json.dumps(built[table.qualified_name])), (
            f"{path} differs from expectations/specs.yml: run `sotelake suites`"
        )


def test_keys_and_pseudonyms_are_guarded_critically():
    suites = build_suites(get_settings().expectations / "specs.yml")
    patients = suites["unified_record.patients"]["expectations"]
    critical = {
        (e["type"], e["kwargs"].get("column"))
        for e in patients
        if e["meta"]["severity"] == "critical"
    }
    assert ("expect_column_values_to_be_unique", "patient_id") in critical
    assert ("expect_column_values_to_match_regex", "person_pseudonym") in critical


def test_every_published_mart_suite_is_in_step_with_the_spec():
    expectations = get_settings().expectations
    built = build_mart_suites(expectations / "specs.yml")
    assert {"marts.indicator_values", "marts.indicator_catalog", "marts.fct_visits"} <= set(built)
    for relation, document in built.items():
        on_disk = read_suite(mart_suite_path(expectations, relation))
        assert on_disk == json.loads(json.dumps(document)), f"{relation}: run `sotelake suites`"


def test_a_row_condition_written_as_a_string_is_refused_with_where_it_is(tmp_path):
    """The runner reads a condition's columns from GX's Condition form only, so the spec
    refuses the pandas string form (which GX 2.0 drops) and says which item to rewrite."""
    from sotelake.quality.suites import SuiteError

    spec = tmp_path / "specs.yml"
    spec.write_text(
        "marts:\n"
        "  marts.indicator_values:\n"
        "    - {expect: between, column: value, min_value: 0, kahn: plausibility,"
        " severity: error}\n"
        "    - {expect: between, column: value, min_value: 0, row_condition: 'indicator_id!=\"x\"',"
        " kahn: plausibility, severity: error}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        SuiteError, match=r"specs\.yml: marts\.indicator_values item 1: row_condition"
    ):
        build_mart_suites(spec)
