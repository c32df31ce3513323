"""Finance: general-ledger exports, the budget, the cost-centre mapping, and HR figures.

All files are in the Finnish dialect: UTF-8, ``;`` separated, decimal comma, dd.mm.yyyy dates.

- ``landing/finance/gl_YYYY-MM.csv``: postings of a month: posting_id, period (YYYY-MM),
  posting_date, cost_centre (kustannuspaikka), account (tili), amount (euros; costs positive,
  revenues negative), production (oma = own, ostopalvelu = purchased service, palveluseteli =
  service voucher), description;
- ``landing/finance/budget_YYYY.csv``: the year's net budget by cost centre and month;
- ``landing/finance/cost_centres.csv``: the steward-maintained mapping of cost centres to the
  wellbeing county's service classes (palveluluokka);
- ``landing/hr/hr_YYYY-MM.csv``: person-years (htv) and sick-leave days by cost centre.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np

from sotelake.demo import codes
from sotelake.demo.world import World

LEDGER_COLUMNS = [
    "posting_id",
    "period",
    "posting_date",
    "cost_centre",
    "account",
    "amount",
    "production",
    "description",
]
PURCHASED_ACCOUNT = "4300"  # asiakaspalvelujen ostot: client services bought from others
VOUCHER_SHARE = 0.25  # of purchased client services, bought with service vouchers
COST_PER_PERSON_YEAR = 62_000.0  # euros of personnel cost per person-year (htv)


def _decimal(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def cost_centres(world: World) -> dict[str, str]:
    """Every cost centre of the demo county and its service class."""
    mapping = {u.cost_centre: "PTH_AVO" for u in world.units_of("health_station")}
    for service_class, (_, count) in codes.SERVICE_CLASS_COSTS.items():
        for k in range(1, count + 1):
            mapping[codes.cost_centre(service_class, k)] = service_class
    return dict(sorted(mapping.items()))


def account_shares(purchased: float) -> dict[str, float]:
    """Each account's share of a cost centre's gross cost when it buys ``purchased`` of it from
    others: the personnel accounts give way so that the shares still sum as in codes.ACCOUNTS."""
    shares = {account: share for account, (_, share) in codes.ACCOUNTS.items()}
    staff = ("4000", "4100", "4200")
    scale = (sum(shares[a] for a in staff) + shares[PURCHASED_ACCOUNT] - purchased) / sum(
        shares[a] for a in staff
    )
    return shares | {a: shares[a] * scale for a in staff} | {PURCHASED_ACCOUNT: purchased}


def _months(start: date, end: date) -> list[date]:
    months, d = [], start.replace(day=1)
    while d <= end:
        months.append(d)
        d = d.replace(year=d.year + (d.month == 12), month=d.month % 12 + 1)
    return months


def _net_by_centre_and_month(world: World, residents: int) -> dict[tuple[str, date], float]:
    """Net cost of each cost centre per month: the service class's cost split among its centres."""
    rng = world.rng
    by_class: dict[str, list[str]] = {}
    for centre, service_class in cost_centres(world).items():
        by_class.setdefault(service_class, []).append(centre)
    out = {}
    for month in _months(world.period_start, world.period_end):
        for service_class, (per_resident, _) in codes.SERVICE_CLASS_COSTS.items():
            centres = by_class[service_class]
            shares = rng.dirichlet(np.full(len(centres), 8.0))
            for centre, share in zip(centres, shares, strict=True):
                out[centre, month] = (
                    per_resident * residents / 12 * share * (1 + rng.normal(0, 0.06))
                )
    return out


def generate(world: World, landing: Path) -> dict[str, int]:
    """Write ledger, budget, mapping and HR files; return rows per kind."""
    rng = world.rng
    residents = len(world.residents)
    folder, hr_folder = landing / "finance", landing / "hr"
    folder.mkdir(parents=True, exist_ok=True)
    hr_folder.mkdir(parents=True, exist_ok=True)
    mapping = cost_centres(world)
    net = _net_by_centre_and_month(world, residents)
    net_share = sum(share for _, share in codes.ACCOUNTS.values())
    lines_per_account = max(1.0, residents / 4000)
    counts = {"ledger_postings": 0, "budget_lines": 0, "cost_centres": len(mapping), "hr_lines": 0}

    # each cost centre buys around its service class's share (some buy more, some less)
    shares = {
        centre: account_shares(
            min(0.7, codes.PURCHASED_SHARE[service_class] * rng.uniform(0.6, 1.4))
        )
        for centre, service_class in mapping.items()
    }
    for month in _months(world.period_start, world.period_end):
        rows = []
        for centre in mapping:
            gross = net[centre, month] / net_share
            for account, account_share in shares[centre].items():
                n = 1 + rng.poisson(lines_per_account)
                amounts = np.round(gross * account_share * rng.dirichlet(np.full(n, 2.0)), 2)
                if account == PURCHASED_ACCOUNT:
                    production = np.where(
                        rng.random(n) < VOUCHER_SHARE, "palveluseteli", "ostopalvelu"
                    )
                else:
                    production = np.full(n, "oma")
                for amount, day, how in zip(
                    amounts.tolist(),
                    rng.integers(1, 28, size=n).tolist(),
                    production.tolist(),
                    strict=True,
                ):
                    rows.append((day, centre, account, amount, how))
        rows.sort()
        with open(folder / f"gl_{month:%Y-%m}.csv", "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f, delimiter=";", lineterminator="\n")
            out.writerow(LEDGER_COLUMNS)
            for i, (day, centre, account, amount, how) in enumerate(rows, start=1):
                out.writerow(
                    [
                        f"{month:%Y%m}{i:07d}",
                        f"{month:%Y-%m}",
                        f"{day:02d}.{month:%m.%Y}",
                        centre,
                        account,
                        _decimal(amount),
                        how,
                        codes.ACCOUNTS[account][0],
                    ]
                )
        counts["ledger_postings"] += len(rows)
        # HR: person-years from personnel costs, sick leave about 5 % of working days
        with open(hr_folder / f"hr_{month:%Y-%m}.csv", "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f, delimiter=";", lineterminator="\n")
            out.writerow(["cost_centre", "period", "person_years", "sick_leave_days"])
            for centre in mapping:
                staff_cost = sum(shares[centre][a] for a in ("4000", "4100", "4200"))
                person_years = max(
                    0.1, net[centre, month] / net_share * staff_cost * 12 / COST_PER_PERSON_YEAR
                )
                sick = rng.poisson(person_years * 21.5 * rng.uniform(0.035, 0.07))  # workdays
                out.writerow([centre, f"{month:%Y-%m}", _decimal(person_years), sick])
                counts["hr_lines"] += 1

    for year in sorted({m.year for m in _months(world.period_start, world.period_end)}):
        with open(folder / f"budget_{year}.csv", "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f, delimiter=";", lineterminator="\n")
            out.writerow(["year", "month", "cost_centre", "net_budget"])
            for (centre, month), actual in sorted(net.items()):
                if month.year == year:
                    planned = actual * (1 + rng.normal(-0.01, 0.03))  # budgets miss by a few %
                    out.writerow([year, month.month, centre, _decimal(round(planned, -2))])
                    counts["budget_lines"] += 1
    with open(folder / "cost_centres.csv", "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, delimiter=";", lineterminator="\n")
        out.writerow(["cost_centre", "service_class_code", "valid_from"])
        for centre, service_class in mapping.items():
            out.writerow([centre, service_class, "01.01.2023"])
    return counts
