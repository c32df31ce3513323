"""Working days of the demo period (weekends and fixed-date Finnish public holidays off)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

FIXED_HOLIDAYS = {(1, 1), (1, 6), (5, 1), (12, 6), (12, 24), (12, 25), (12, 26)}


def days(start: date, end: date) -> np.ndarray:
    """Every day from start to end inclusive, as datetime64[D]."""
    return np.arange(
        np.datetime64(start), np.datetime64(end + timedelta(days=1)), dtype="datetime64[D]"
    )


def working_days(start: date, end: date) -> np.ndarray:
    all_days = days(start, end)
    weekday = (all_days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday: Monday = 0
    month_day = [(d.month, d.day) for d in all_days.astype(object)]
    holiday = np.array([md in FIXED_HOLIDAYS for md in month_day])
    return all_days[(weekday < 5) & ~holiday]
