"""Whether a table's delivery is late: the pipeline's own check of ``delivery:`` (sources.yml).

A table may declare how often its source delivers it:

    delivery: daily                 every load date brings something new
    delivery: monthly               something in every calendar month
    delivery: yearly                something in every calendar year
    delivery: {monthly_by_day: 10}  the month's delivery by its 10th day

Each declaration has *due dates* (every day; the last day of each month or year; day N of each
month), and each due date a *window*: the days after the previous due date up to it. A load of
date D looks at the latest due date on or before D: if no load between the start of its window
and D delivered anything, the delivery is late (an open item, ``late_delivery``, until something
arrives). What counts as delivered: a new file taken (file and FHIR tables), rows in the window
(incremental database tables), a successful read (full database tables). Due dates before the
table's first load are not checked: the lake has no history of them.

Why the pipeline's own check rather than ``dbt source freshness``: the loads know what each load
date delivered (the watermark state records it), including files set aside and windows without
rows, which a timestamp column in the raw zone does not show; the rule is a due date ("by the
10th"), not an age in hours; and it runs inside each load, with no extra dbt invocation.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Late:
    due: date
    window_start: date
    last_delivery: date | None

    def detail(self, delivery) -> str:
        last = self.last_delivery.isoformat() if self.last_delivery else "never"
        return (
            f"no delivery between {self.window_start} and {self.due} "
            f"(expected {describe(delivery)}); the last delivery: {last}"
        )


def describe(delivery) -> str:
    if isinstance(delivery, dict):
        return f"monthly, by day {delivery['monthly_by_day']}"
    return str(delivery)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _months_before(day: date, months: int, on: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, on)


def due_dates(delivery, day: date) -> tuple[date, date]:
    """The latest due date on or before ``day``, and the due date before it."""
    if delivery == "daily":
        return day, day - timedelta(days=1)
    if delivery == "monthly":
        due = day if day == _month_end(day) else day.replace(day=1) - timedelta(days=1)
        return due, due.replace(day=1) - timedelta(days=1)
    if delivery == "yearly":
        due = day if (day.month, day.day) == (12, 31) else date(day.year - 1, 12, 31)
        return due, date(due.year - 1, 12, 31)
    if isinstance(delivery, dict) and "monthly_by_day" in delivery:
        n = int(delivery["monthly_by_day"])
        due = day.replace(day=n) if day.day >= n else _months_before(day, 1, n)
        return due, _months_before(due, 1, n)
    raise ValueError(f"unknown delivery {delivery!r}")


def check(delivery, day: date, deliveries: list[date], first_load: date) -> Late | None:
    """Late, or None: the latest due date on or before ``day`` had a delivery in its window (or
    after it, up to ``day``), or lies before the table's first load."""
    due, previous = due_dates(delivery, day)
    if due < first_load:
        return None
    if any(previous < d <= day for d in deliveries):
        return None
    earlier = [d for d in deliveries if d <= day]
    return Late(due, previous + timedelta(days=1), max(earlier, default=None))
