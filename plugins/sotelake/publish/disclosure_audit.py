"""The disclosure audit: an attack on published indicator values (docs/privacy.md).

It does what a reader of the published values could do. From the published cells alone it
learns which sums the values obey, per indicator: municipalities add up to their county (the
organiser of ``marts.dim_municipality`` on the period's first day), months to the year (or the
year is its November or December: a state on a day), breakdown classes to the total. A relation
is taken as known when every instance of it whose cells are all published holds. Then, for
every withheld cell, it solves two linear programs (``scipy.optimize.linprog``, HiGHS): the
smallest and the largest value its numerator (and, for a share, its complement: denominator
minus numerator) can take, given every published value, those sums and that counts are not
negative. A cell whose interval is narrower than the protection (``SOTELAKE_DISCLOSURE_PROTECTION``,
default the minimum cell size) is given away.

Each connected group of withheld cells (cells that share a relation) is solved on its own, so
the programs stay small. ``audit_history`` runs the same attack on every past publication of
``marts.indicator_value_history`` (the values as published at each build).

Not modelled: relations between different indicators (e.g. a count published as the numerator
of two indicators), and denominators that are public elsewhere (residents).
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

KEY_COLUMNS = (
    "indicator_id",
    "area_level",
    "area_code",
    "period_grain",
    "period_start",
    "breakdown",
    "breakdown_code",
)
TOLERANCE = 1e-6


def configured_protection() -> float:
    """How wide the interval of a withheld cell must be: SOTELAKE_DISCLOSURE_PROTECTION, by
    default the minimum cell size (SOTELAKE_MIN_CELL_SIZE, default 5), as the build uses."""
    minimum = os.environ.get("SOTELAKE_MIN_CELL_SIZE", "5")
    return float(os.environ.get("SOTELAKE_DISCLOSURE_PROTECTION", minimum))


@dataclass(frozen=True)
class Cell:
    """One published value: its keys, and its numbers as published (None: withheld)."""

    indicator_id: str
    area_level: str
    area_code: str
    period_grain: str
    period_start: date
    breakdown: str
    breakdown_code: str
    numerator: float | None
    denominator: float | None
    suppressed: bool

    @property
    def key(self) -> str:
        return "|".join(str(getattr(self, name)) for name in KEY_COLUMNS)


@dataclass(frozen=True)
class Interval:
    """What the attack learns of a withheld cell's numerator or complement."""

    value_key: str
    measure: str  # numerator | complement
    low: float
    high: float  # math.inf: no upper bound
    # True: the smallest and largest value the cell can take; False: values it can take, as
    # far apart as the protection at least (found without solving for the extremes)
    extreme: bool = True

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass
class AuditResult:
    cells: int
    withheld: int
    protection: float
    intervals: list[Interval] = field(default_factory=list)
    relations: dict[str, list[str]] = field(default_factory=dict)  # indicator -> kinds known
    seconds: float = 0.0

    @property
    def failures(self) -> list[Interval]:
        """The withheld cells given away: an interval narrower than the protection."""
        return [i for i in self.intervals if i.width < self.protection - TOLERANCE]

    @property
    def exact(self) -> list[Interval]:
        return [i for i in self.intervals if i.width < TOLERANCE]

    def summary(self) -> str:
        lines = [
            f"{self.withheld} of {self.cells} cells withheld; {len(self.intervals)} intervals "
            f"solved in {self.seconds:.1f} s; protection {self.protection:g}: "
            f"{len(self.failures)} given away ({len(self.exact)} exactly)"
        ]
        for interval in sorted(self.failures, key=lambda i: (i.width, i.value_key))[:20]:
            lines.append(
                f"  {interval.value_key} {interval.measure}: between {interval.low + 0.0:g} and "
                f"{interval.high + 0.0:g}"
            )
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class Organiser:
    municipality_code: str
    organiser_code: str
    valid_from: date
    valid_to: date


def audit(
    cells: Iterable[Cell],
    organisers: Iterable[Organiser] = (),
    shares: set[str] | None = None,
    protection: float | None = None,
    year_is: dict[str, str] | None = None,
) -> AuditResult:
    """Attack the published ``cells``. ``shares``: the indicators whose complement is to be
    protected too (the catalogue's units "% ..."); None: those whose every published value is
    a share of its denominator (numerator <= denominator). ``year_is``: indicator -> how its
    year relates to its months (sum, november, december: indicators.indicator_year_relations);
    None: learnt from the published values."""
    started = time.perf_counter()
    cells = list(cells)
    protection = configured_protection() if protection is None else protection
    result = AuditResult(
        cells=len(cells), withheld=sum(c.suppressed for c in cells), protection=protection
    )
    by_indicator: dict[str, list[Cell]] = defaultdict(list)
    for cell in cells:
        by_indicator[cell.indicator_id].append(cell)
    organisers = list(organisers)
    for indicator, its_cells in sorted(by_indicator.items()):
        if not any(c.suppressed for c in its_cells):
            continue
        is_share = indicator in shares if shares is not None else _looks_like_share(its_cells)
        candidates = _candidate_relations(its_cells, organisers)
        known = result.relations.setdefault(indicator, [])
        measures = [("numerator", _numerator)] + ([("complement", _complement)] if is_share else [])
        for measure, value_of in measures:
            values = {c.key: (None if c.suppressed else value_of(c)) for c in its_cells}
            withheld = [c.key for c in its_cells if c.suppressed]
            year = None if year_is is None else YEAR_KINDS.get(year_is.get(indicator), "")
            result.intervals.extend(
                _attack(withheld, candidates, values, measure, known, year, protection)
            )
    result.seconds = time.perf_counter() - started
    return result


def _numerator(cell: Cell) -> float | None:
    return cell.numerator


def _complement(cell: Cell) -> float | None:
    if cell.numerator is None or cell.denominator is None:
        return None
    return cell.denominator - cell.numerator


def _looks_like_share(cells: list[Cell]) -> bool:
    published = [c for c in cells if c.numerator is not None and c.denominator is not None]
    return bool(published) and all(c.numerator <= c.denominator for c in published)


Relation = tuple[str, tuple[str, ...]]  # (total's key, parts' keys)
YEAR_KINDS = {
    "sum": "year is the sum of its months",
    "november": "year is its November",
    "december": "year is its December",
}


def _candidate_relations(cells: list[Cell], organisers: list[Organiser]) -> dict:
    """Every sum the cells might obey, by kind: area, the year's three ways, breakdown."""
    kinds: dict[str, list[Relation]] = {}
    # area: a county and the municipalities it organised on the period's first day
    counties = {
        (c.area_code, c.period_grain, c.period_start, c.breakdown_code): c.key
        for c in cells
        if c.area_level == "county"
    }
    organisers_of = defaultdict(list)
    for organiser in organisers:
        organisers_of[organiser.municipality_code].append(organiser)
    parts = defaultdict(list)
    for c in cells:
        if c.area_level != "municipality":
            continue
        for organiser in organisers_of.get(c.area_code, ()):
            if organiser.valid_from <= c.period_start <= organiser.valid_to:
                group = (organiser.organiser_code, c.period_grain, c.period_start, c.breakdown_code)
                parts[group].append(c.key)
                break
    kinds["area"] = [(total, tuple(parts[g])) for g, total in counties.items() if parts.get(g)]
    # time: a year and its months
    years = {
        (c.area_level, c.area_code, c.breakdown_code, c.period_start.year): c.key
        for c in cells
        if c.period_grain == "year"
    }
    months = defaultdict(dict)
    for c in cells:
        if c.period_grain == "month":
            months[(c.area_level, c.area_code, c.breakdown_code, c.period_start.year)][
                c.period_start.month
            ] = c.key
    for kind, chosen in (
        ("year is the sum of its months", None),
        ("year is its November", 11),
        ("year is its December", 12),
    ):
        kinds[kind] = [
            (total, tuple(k for m, k in sorted(months[g].items()) if chosen in (None, m)))
            for g, total in years.items()
            if months.get(g) and (chosen is None or chosen in months[g])
        ]
    # breakdown: the classes and their total
    totals = {}
    classes = defaultdict(list)
    for c in cells:
        if c.breakdown == "none":
            continue
        group = (c.area_level, c.area_code, c.period_grain, c.period_start)
        if c.breakdown_code == "total":
            totals[group] = c.key
        else:
            classes[group].append(c.key)
    kinds["breakdown"] = [(t, tuple(classes[g])) for g, t in totals.items() if classes.get(g)]
    return kinds


def _attack(
    withheld: list[str],
    candidates: dict[str, list[Relation]],
    values: dict[str, float | None],
    measure: str,
    known: list[str],
    year: str | None,
    protection: float,
) -> list[Interval]:
    """The interval of each withheld cell under what the published values allow.

    The area and breakdown sums are taken unless a published instance contradicts them. The
    year's relation to its months is ``year`` (a kind; "": none) when known; else those of its
    three ways that published instances show (else those they do not contradict) are each
    tried: one that makes the published values impossible is refuted, and a cell's interval
    spans its intervals under the rest (the reader cannot tell which holds)."""
    base = []
    for kind in ("area", "breakdown"):
        holds, checked = _holds(candidates[kind], values)
        if holds and candidates[kind]:
            base.extend(candidates[kind])
            known.append(f"{kind} ({measure}{', shown' if checked else ''})")
    years = {k: v for k, v in candidates.items() if k.startswith("year is") and v}
    checks = {k: _holds(v, values) for k, v in years.items()}
    shown = [k for k, (holds, checked) in checks.items() if holds and checked]
    if year is not None:
        hypotheses = [year if year in years else None]
    else:
        hypotheses = shown or [k for k, (holds, _) in checks.items() if holds] or [None]
    best: dict[str, Interval] = {}
    refuted = []
    for hypothesis in hypotheses:
        relations = base + (years[hypothesis] if hypothesis else [])
        try:
            intervals = _solve(withheld, relations, values, measure, protection)
        except Contradiction:
            refuted.append(hypothesis)
            continue
        if hypothesis:
            known.append(f"{hypothesis} ({measure}{', shown' if hypothesis in shown else ''})")
        for interval in intervals:
            seen = best.get(interval.value_key)
            if seen is not None:
                interval = Interval(
                    interval.value_key,
                    measure,
                    min(seen.low, interval.low),
                    max(seen.high, interval.high),
                    seen.extreme and interval.extreme,
                )
            best[interval.value_key] = interval
    if len(refuted) == len(hypotheses):
        raise Contradiction(
            f"the published values of {withheld[0].split('|')[0]} ({measure}) contradict the "
            "sums they obey: are they the values of one publication?"
        )
    return list(best.values())


class Contradiction(ValueError):
    """The published values cannot all be true under the sums assumed."""


def _holds(instances: list[Relation], values: dict[str, float | None]) -> tuple[bool, int]:
    """Whether every instance whose cells are all published holds, and how many were."""
    checked = 0
    for total, parts in instances:
        numbers = [values.get(total), *(values.get(p) for p in parts)]
        if any(n is None for n in numbers):
            continue
        checked += 1
        total_value, *part_values = numbers
        if abs(total_value - sum(part_values)) > TOLERANCE * max(1.0, abs(total_value)):
            return False, checked
    return True, checked


def _solve(
    withheld: list[str],
    relations: list[Relation],
    values: dict[str, float | None],
    measure: str,
    protection: float,
) -> list[Interval]:
    """The smallest and largest value of each withheld cell, component by component; for a
    cell that is protected, an interval of values it can take at least as wide as the
    protection (not necessarily the widest)."""
    import numpy as np
    from scipy.optimize import linprog as solve
    from scipy.sparse import csr_array

    def linprog(objective, A_eq, b_eq, bounds, method):
        return solve(objective, A_eq=csr_array(A_eq), b_eq=b_eq, bounds=bounds, method=method)

    hidden = set(withheld)
    parent = {k: k for k in withheld}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    used = []
    for total, parts in relations:
        members = [total, *parts]
        unknown = [m for m in members if m in hidden]
        if not unknown:
            continue
        used.append((total, parts))
        for other in unknown[1:]:
            parent[find(other)] = find(unknown[0])
    components = defaultdict(list)
    for k in withheld:
        components[find(k)].append(k)
    relations_of = defaultdict(list)
    for total, parts in used:
        first = next(m for m in (total, *parts) if m in hidden)
        relations_of[find(first)].append((total, parts))

    out = []
    for root, keys in components.items():
        rels = relations_of.get(root, [])
        if not rels:
            out.extend(Interval(k, measure, 0.0, math.inf) for k in keys)
            continue
        if len(rels) == 1:
            out.extend(_one_sum(keys, rels[0], values, measure))
            continue
        index = {k: i for i, k in enumerate(keys)}
        a = np.zeros((len(rels), len(keys)))
        b = np.zeros(len(rels))
        for row, (total, parts) in enumerate(rels):
            # sum(parts) - total = 0, published numbers moved to the right-hand side
            for member, sign in [(total, -1.0), *((p, 1.0) for p in parts)]:
                if member in index:
                    a[row, index[member]] += sign
                else:
                    b[row] -= sign * values[member]
        # every solution found is a witness: each cell can take the value it has there, so a
        # cell whose witnesses already lie the protection apart needs no program of its own
        seen_low = np.full(len(keys), np.inf)
        seen_high = np.full(len(keys), -np.inf)
        # first witnesses: the least of the cells not yet shown to be protected, together,
        # and as many of them as can be at the protection or above (y <= x, y <= protection,
        # the most y), while that shows more of them protected
        n = len(keys)
        unresolved = n + 1
        weights = np.random.default_rng(0).uniform(0.5, 1.5, n)  # the vertices vary
        while True:
            open_cells = seen_high - seen_low < protection
            if not open_cells.any() or open_cells.sum() >= unresolved:
                break
            unresolved = open_cells.sum()
            weights = np.roll(weights, 1)
            least = solve(
                open_cells * weights, A_eq=csr_array(a), b_eq=b, bounds=(0, None), method="highs"
            )
            if least.status == 2:
                raise Contradiction(keys[0])
            most = solve(
                np.concatenate([np.zeros(n), -(open_cells * weights)]),
                A_ub=csr_array(np.hstack([-np.eye(n), np.eye(n)])),
                b_ub=np.zeros(n),
                A_eq=csr_array(np.hstack([a, np.zeros_like(a)])),
                b_eq=b,
                bounds=[(0, None)] * n + [(0, protection)] * n,
                method="highs",
            )
            for witness in (least.x, most.x[:n]):
                seen_low = np.minimum(seen_low, witness)
                seen_high = np.maximum(seen_high, witness)
        for k in keys:
            i = index[k]
            if seen_high[i] - seen_low[i] >= protection:
                out.append(Interval(k, measure, seen_low[i], seen_high[i], extreme=False))
                continue
            objective = np.zeros(len(keys))
            objective[i] = 1.0
            high = linprog(-objective, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
            if high.status == 2:
                raise Contradiction(k)
            if high.status == 3:
                out.append(Interval(k, measure, 0.0, math.inf))
                continue
            seen_low = np.minimum(seen_low, high.x)
            seen_high = np.maximum(seen_high, high.x)
            if seen_low[i] <= TOLERANCE and -high.fun >= protection:
                # a witness at 0 already: the smallest value is 0
                out.append(Interval(k, measure, 0.0, -high.fun))
                continue
            low = linprog(objective, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
            seen_low = np.minimum(seen_low, low.x)
            seen_high = np.maximum(seen_high, low.x)
            out.append(Interval(k, measure, max(0.0, low.fun), -high.fun))
    return out


def _one_sum(
    keys: list[str], relation: Relation, values: dict[str, float | None], measure: str
) -> list[Interval]:
    """The intervals of withheld cells that share one sum only, without a solver: parts of a
    published total lie between 0 and what the published parts leave; a withheld total and
    withheld parts are not bounded above."""
    total, parts = relation
    hidden = set(keys)
    published_parts = sum(values[p] for p in parts if p not in hidden)
    if total in hidden:
        if len(keys) == 1:  # the total alone: the sum of its parts
            return [Interval(total, measure, published_parts, published_parts)]
        return [
            Interval(k, measure, published_parts if k == total else 0.0, math.inf) for k in keys
        ]
    left = values[total] - published_parts
    if left < -TOLERANCE * max(1.0, abs(values[total])):
        raise Contradiction(total)
    if len(keys) == 1:
        return [Interval(keys[0], measure, left, left)]
    return [Interval(k, measure, 0.0, max(left, 0.0)) for k in keys]


# -- reading what was published ------------------------------------------------------------------


def audit_warehouse(path: str | Path, protection: float | None = None) -> AuditResult:
    """Attack ``marts.indicator_values`` of a DuckDB warehouse."""
    from sotelake.engine import connect_warehouse

    with connect_warehouse(path) as con:
        return audit(
            *_read(con, "marts.indicator_values", "marts"),
            protection=protection,
            year_is=_year_relations(con),
        )


def audit_history(path: str | Path, protection: float | None = None) -> dict[str, AuditResult]:
    """Attack every past publication of ``marts.indicator_value_history``: the versions valid
    at each build's time. Returns build time -> result."""
    from sotelake.engine import connect_warehouse

    results = {}
    with connect_warehouse(path) as con:
        times = [
            t
            for (t,) in con.execute(
                "select distinct valid_from from marts.indicator_value_history order by 1"
            ).fetchall()
        ]
        for moment in times:
            then = f"cast('{moment.isoformat()}' as timestamptz)"
            con.execute(
                "create or replace temp view published_then as "
                f"select * from marts.indicator_value_history where valid_from <= {then} "
                f"and (valid_to is null or valid_to > {then})"
            )
            results[moment.isoformat()] = audit(
                *_read(con, "published_then", "marts"),
                protection=protection,
                year_is=_year_relations(con),
            )
    return results


def audit_files(path: str | Path, protection: float | None = None) -> AuditResult:
    """Attack published files: a folder (the gold zone: its ``indicator_values.parquet``, with
    ``dim_municipality`` and ``indicator_catalog`` beside it when they are there), or one
    Parquet or CSV file of indicator values (a sote information package's)."""
    import duckdb

    from sotelake.engine import literal

    path = Path(path)
    if path.is_dir():
        found = sorted(path.rglob("indicator_values.parquet"))
        if not found:
            raise FileNotFoundError(f"{path}: no indicator_values.parquet in it or below it")
        values_file = found[0]
    else:
        values_file = path
    con = duckdb.connect()
    reader = "read_csv" if values_file.suffix.lower() == ".csv" else "read_parquet"
    con.execute(f"create view published as select * from {reader}({literal(values_file)})")
    folder = values_file.parent
    for table in ("dim_municipality", "indicator_catalog"):
        file = folder / f"{table}.parquet"
        if file.exists():
            con.execute(f"create view {table} as select * from read_parquet({literal(file)})")
    return audit(*_read(con, "published", None), protection=protection)


def audit_path(path: str | Path, protection: float | None = None) -> AuditResult:
    """A DuckDB warehouse file, or published files (``audit_files``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such warehouse, folder or file")
    if path.is_file() and path.suffix.lower() not in (".parquet", ".csv"):
        return audit_warehouse(path, protection)
    return audit_files(path, protection)


def _year_relations(con) -> dict[str, str] | None:
    """How each indicator's year relates to its months, as the build found it (None: a
    warehouse without it)."""
    from sotelake.engine import tables

    if "indicators.indicator_year_relations" not in tables(con):
        return None
    return dict(
        con.execute(
            "select indicator_id, year_is from indicators.indicator_year_relations"
        ).fetchall()
    )


def _read(con, values: str, schema: str | None) -> tuple[list[Cell], list[Organiser], set | None]:
    from sotelake.engine import tables

    present = {t.split(".")[-1] for t in tables(con)} | {
        name for (name,) in con.execute("select view_name from duckdb_views()").fetchall()
    }
    columns = {name for name, *_ in con.execute(f"describe {values}").fetchall()}
    period = (
        "period_grain, period_start"
        if "period_start" in columns
        else "'year' as period_grain, make_date(cast(year as integer), 1, 1) as period_start"
    )
    breakdown = (
        "breakdown"
        if "breakdown" in columns
        else "case when breakdown_code = 'total' then 'none' else 'class' end"
    )
    rows = con.execute(
        f"select indicator_id, area_level, cast(area_code as varchar), {period}, "
        f"{breakdown} as breakdown, breakdown_code, numerator, denominator, suppressed "
        f"from {values}"
    ).fetchall()
    cells = [Cell(*row[:9], bool(row[9])) for row in rows]
    prefix = f"{schema}." if schema else ""
    organisers = []
    if "dim_municipality" in present:
        organisers = [
            Organiser(*r)
            for r in con.execute(
                "select municipality_code, organiser_code, valid_from, valid_to "
                f"from {prefix}dim_municipality"
            ).fetchall()
        ]
    shares = None
    if "indicator_catalog" in present:
        shares = {
            i
            for (i,) in con.execute(
                f"select indicator_id from {prefix}indicator_catalog "
                "where substring(unit, 1, 1) = '%'"
            ).fetchall()
        }
    return cells, organisers, shares
