"""A daily run builds what its changes feed: which tables changed, and when a selection is safe."""

import shutil
from datetime import date

import pytest

from sotelake.demo.changes import advance
from sotelake.demo.generate import DemoSpec, generate
from sotelake.lake.load import load_table
from sotelake.settings import get_settings
from sotelake.sources.registry import load_registry
from sotelake.transform import changes

KEY = b"c" * 32
DAY, NEXT = date(2026, 1, 1), date(2026, 1, 2)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo")
    generate(DemoSpec(residents=800, seed=11), path)
    return path


@pytest.fixture
def demo(generated, tmp_path, monkeypatch):
    for folder in ("sources", "landing"):
        shutil.copytree(generated / folder, tmp_path / folder)
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    return tmp_path, load_registry()


def summary(result) -> dict:  # what validation reports of a load (its rows and status)
    return {
        "source": result.source,
        "table": result.table,
        "load_date": result.load_date,
        "rows": result.loaded,
        "status": result.status,
    }


def load(registry, qualified: str, day: date):
    source, table = qualified.split(".")
    return summary(load_table(registry[source], registry[source].tables[table], day, KEY))


def test_a_full_table_changes_only_when_its_rows_differ_from_the_previous_load(demo):
    data, registry = demo
    settings = get_settings()
    first = load(registry, "finance.cost_centres", DAY)
    assert changes.changed_tables([first], settings) == ["finance.cost_centres"]
    again = load(registry, "finance.cost_centres", NEXT)  # the same file, delivered again
    assert again["rows"] == first["rows"] > 0
    assert changes.changed_tables([again], settings) == []
    mapping = data / "landing" / "finance" / "cost_centres.csv"
    lines = mapping.read_bytes().splitlines(keepends=True)
    mapping.write_bytes(b"".join(lines[:-1]))  # a steward removed one cost centre
    edited = load(registry, "finance.cost_centres", NEXT)
    assert changes.changed_tables([edited], settings) == ["finance.cost_centres"]


def test_an_incremental_table_changes_when_its_window_brought_rows(demo):
    data, registry = demo
    settings = get_settings()
    first = load(registry, "unified_record.visits", DAY)
    assert changes.changed_tables([first], settings) == ["unified_record.visits"]
    quiet = load(registry, "unified_record.visits", NEXT)  # nothing happened that day
    assert quiet["rows"] == 0
    assert changes.changed_tables([quiet], settings) == []
    advance(data, NEXT)
    busy = load(registry, "unified_record.visits", NEXT)
    rejected = {**busy, "status": "rejected"}  # held back: not in the warehouse
    assert changes.changed_tables([busy, rejected], settings) == ["unified_record.visits"]
    assert changes.selection(["unified_record.visits"]) == (
        "source:unified_record.visits+ source:lake_dq+"
    )
