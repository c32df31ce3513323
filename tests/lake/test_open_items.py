"""Open items at the loads: a late delivery, a table that keeps failing, and traces of problems
that have no item (the sweep); due dates of each kind of delivery. (Runs of the DAG with open
items, the alert and the steward report: tests/quality/test_data_quality.py.)"""

from __future__ import annotations

import shutil
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.daily import a_copy_of

from sotelake.demo.changes import advance
from sotelake.demo.generate import DemoSpec, generate
from sotelake.lake import freshness, open_items, zones
from sotelake.lake.load import load_table
from sotelake.settings import get_settings
from sotelake.sources.registry import SourceSchemaError

KEY = b"k" * 32
DAY = date(2026, 1, 1)


@pytest.mark.parametrize(
    "delivery, day, due, previous",
    [
        ("daily", date(2026, 3, 5), date(2026, 3, 5), date(2026, 3, 4)),
        ("monthly", date(2026, 3, 5), date(2026, 2, 28), date(2026, 1, 31)),
        ("monthly", date(2026, 3, 31), date(2026, 3, 31), date(2026, 2, 28)),
        ("yearly", date(2026, 3, 5), date(2025, 12, 31), date(2024, 12, 31)),
        ({"monthly_by_day": 10}, date(2026, 3, 9), date(2026, 2, 10), date(2026, 1, 10)),
        ({"monthly_by_day": 10}, date(2026, 3, 10), date(2026, 3, 10), date(2026, 2, 10)),
        ({"monthly_by_day": 10}, date(2026, 1, 2), date(2025, 12, 10), date(2025, 11, 10)),
    ],
)
def test_due_dates(delivery, day, due, previous):
    assert freshness.due_dates(delivery, day) == (due, previous)


def test_a_delivery_is_late_only_after_its_due_date_and_since_the_first_load():
    ledger = {"monthly_by_day": 10}
    first = date(2026, 1, 1)
    assert freshness.check(ledger, date(2026, 2, 9), [first], first) is None  # due Jan 10: ok
    late = freshness.check(ledger, date(2026, 2, 11), [first], first)
    assert late == freshness.Late(date(2026, 2, 10), date(2026, 1, 11), first)
    assert freshness.check(ledger, date(2026, 2, 12), [first, date(2026, 2, 12)], first) is None
    assert freshness.check("daily", date(2026, 3, 1), [], date(2026, 3, 2)) is None  # before


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("items")
    generate(DemoSpec(residents=1_500, seed=5), path)
    return path


@pytest.fixture
def demo(generated, tmp_path, monkeypatch):
    return a_copy_of(generated, tmp_path, monkeypatch)


def load(registry, qualified: str, day: date):
    source, table = qualified.split(".")
    return load_table(registry[source], registry[source].tables[table], day, KEY)


def items_of(table: str) -> dict[str, dict]:
    return {
        i["item_id"]: i
        for i in open_items.read_items(get_settings().lake)
        if f"{i['source']}.{i['table_name']}" == table
    }


def test_a_late_delivery_is_an_item_until_the_delivery_comes(demo):
    data, registry = demo
    load(registry, "finance.ledger_postings", DAY)  # the first load: everything so far
    load(registry, "finance.ledger_postings", date(2026, 2, 9))  # nothing new, not due yet
    assert items_of("finance.ledger_postings") == {}
    load(registry, "finance.ledger_postings", date(2026, 2, 11))
    late = items_of("finance.ledger_postings")["late_delivery:finance.ledger_postings:2026-02-10"]
    assert late["status"] == "open" and late["load_date"] == date(2026, 2, 10)
    assert late["detail"] == (
        "no delivery between 2026-01-11 and 2026-02-10 (expected monthly, by day 10); "
        "the last delivery: 2026-01-01"
    )
    folder = data / "landing" / "finance"
    shutil.copy(folder / "gl_2025-12.csv", folder / "gl_2026-01.csv")
    load(registry, "finance.ledger_postings", date(2026, 2, 12))
    late = items_of("finance.ledger_postings")["late_delivery:finance.ledger_postings:2026-02-10"]
    assert late["status"] == "resolved" and late["resolution"].startswith("delivered: the load")
    # a daily table: a day without rows is late; the next day's rows resolve it
    load(registry, "unified_record.visits", DAY)
    load(registry, "unified_record.visits", date(2026, 1, 2))
    assert items_of("unified_record.visits")["late_delivery:unified_record.visits:2026-01-02"][
        "status"
    ] == ("open")
    advance(data, date(2026, 1, 3))
    load(registry, "unified_record.visits", date(2026, 1, 3))
    assert {i["status"] for i in items_of("unified_record.visits").values()} == {"resolved"}


def test_a_table_that_keeps_failing_is_one_item_until_a_load_succeeds(demo):
    data, registry = demo
    path = sorted((data / "landing" / "hr").glob("hr_*.csv"))[-1]
    good = path.read_text(encoding="utf-8")
    path.write_text(
        "\n".join(";".join(line.split(";")[:3]) for line in good.splitlines()) + "\n",
        encoding="utf-8",
    )
    for day in (DAY, date(2026, 1, 2)):
        with pytest.raises(SourceSchemaError):
            load(registry, "hr.staff_months", day)
    (item,) = items_of("hr.staff_months").values()
    assert item["item_id"] == f"failed_load:hr.staff_months:{DAY}" and item["status"] == "open"
    assert item["last_seen_at"] > item["opened_at"] and "sick_leave_days" in item["detail"]
    path.write_text(good, encoding="utf-8")  # re-delivered with the column
    load(registry, "hr.staff_months", date(2026, 1, 3))
    (item,) = items_of("hr.staff_months").values()
    assert item["status"] == "resolved" and "2026-01-03" in item["resolution"]


def test_the_sweep_opens_an_item_for_every_trace_without_one_and_only_once(demo):
    data, registry = demo
    lake = get_settings().lake
    # a batch in the rejected zone and a file set aside, from before open items were kept
    rejected = zones.partition(lake, zones.REJECTED, "finance", "budget", DAY)
    rejected.mkdir(parents=True)
    pq.write_table(pa.table({"_load_id": ["old"]}), rejected / "old.parquet")
    aside = data / "landing" / "finance" / "_rejected"
    aside.mkdir()
    (aside / "20251231T235959Z_gl_2025-13.csv").write_text("broken\n")
    (aside / "20251231T235959Z_gl_2025-13.csv.reason.txt").write_text("empty file\n")
    opened = open_items.sweep(lake, registry, get_settings().landing)
    assert sorted(i["item_id"] for i in opened) == [
        "file_set_aside:finance.ledger_postings:20251231T235959Z_gl_2025-13.csv",
        f"rejected_batch:finance.budget:{DAY}",
    ]
    assert "empty file" in opened[0]["detail"] or "empty file" in opened[1]["detail"]
    assert open_items.sweep(lake, registry, get_settings().landing) == []
    # a file set aside by a load is found by the sweep under the same id: no second item
    (data / "landing" / "finance" / "gl_2026-01.csv").write_bytes(b"")
    result = load(registry, "finance.ledger_postings", DAY)
    assert list(result.rejected_files) == ["gl_2026-01.csv"]
    assert open_items.sweep(lake, registry, get_settings().landing) == []
    assert len(open_items.open_items(lake)) == 3
