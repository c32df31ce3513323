"""Finance (ERP general ledger): one export file of postings per month, in the Finnish dialect.

``landing/finance/gl_YYYY-MM.csv``: UTF-8, ``;`` separated, decimal comma, dates dd.mm.yyyy.
Columns: posting_id, period (YYYY-MM), posting_date, cost_centre (kustannuspaikka), account
(tili), amount (euros; costs positive, revenues negative), description.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np

from sotelake.demo import codes
from sotelake.demo.record_system import Unit

COLUMNS = [
    "posting_id",
    "period",
    "posting_date",
    "cost_centre",
    "account",
    "amount",
    "description",
]


def cost_centres(units: list[Unit]) -> dict[str, str]:
    """Every cost centre of the demo county and its service class (the steward's mapping)."""
    mapping = {u.cost_centre: "PTH_AVO" for u in units}
    for service_class, (_, count) in codes.SERVICE_CLASS_COSTS.items():
        for k in range(1, count + 1):
            mapping[codes.cost_centre(service_class, k)] = service_class
    return mapping


def write_cost_centre_mapping(units: list[Unit], path: Path) -> None:
    """The steward-maintained cost centre to service class mapping (committed as a dbt seed)."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["cost_centre", "service_class_code"])
        out.writerows(sorted(cost_centres(units).items()))


def _months(start: date, end: date) -> list[date]:
    months, d = [], start.replace(day=1)
    while d <= end:
        months.append(d)
        d = d.replace(year=d.year + (d.month == 12), month=d.month % 12 + 1)
    return months


def generate_ledger(
    rng: np.random.Generator,
    units: list[Unit],
    residents: int,
    period_start: date,
    period_end: date,
    folder: Path,
) -> dict[str, int]:
    """Write one ledger file per month; return rows written per file."""
    folder.mkdir(parents=True, exist_ok=True)
    mapping = cost_centres(units)
    by_class: dict[str, list[str]] = {}
    for centre, service_class in mapping.items():
        by_class.setdefault(service_class, []).append(centre)
    # Cost account shares add up to 1 (gross cost); revenues make the net a little smaller.
    net_share = sum(share for _, share in codes.ACCOUNTS.values())
    lines_per_account = max(1.0, residents / 4000)
    written = {}
    for month in _months(period_start, period_end):
        rows = []
        for service_class, (per_resident, _) in codes.SERVICE_CLASS_COSTS.items():
            centres = sorted(by_class[service_class])
            centre_share = rng.dirichlet(np.full(len(centres), 8.0))
            for centre, share in zip(centres, centre_share, strict=True):
                month_net = per_resident * residents / 12 * share * (1 + rng.normal(0, 0.06))
                for account, (_, account_share) in codes.ACCOUNTS.items():
                    total = month_net / net_share * account_share
                    n = 1 + rng.poisson(lines_per_account)
                    amounts = np.round(total * rng.dirichlet(np.full(n, 2.0)), 2)
                    days = rng.integers(1, 28, size=n)
                    for amount, day in zip(amounts.tolist(), days.tolist(), strict=True):
                        rows.append((centre, account, amount, day))
        rows.sort(key=lambda r: (r[3], r[0], r[1]))
        path = folder / f"gl_{month:%Y-%m}.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f, delimiter=";", lineterminator="\n")
            out.writerow(COLUMNS)
            for i, (centre, account, amount, day) in enumerate(rows, start=1):
                out.writerow(
                    [
                        f"{month:%Y%m}{i:07d}",
                        f"{month:%Y-%m}",
                        f"{day:02d}.{month:%m.%Y}",
                        centre,
                        account,
                        f"{amount:.2f}".replace(".", ","),
                        codes.ACCOUNTS[account][0],
                    ]
                )
        written[path.name] = len(rows)
    return written
