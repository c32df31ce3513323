"""Disclosure control: no withheld cell can be worked out from what is published.

The attack is the linear-programming audit (sotelake.publish.disclosure_audit): first on cells
made by hand (it finds what differencing gives away), then on a county built to be hard (few
residents in 14 municipalities: most monthly cells are small), where it finds nothing; with
secondary suppression switched off it finds what the differencing attacks find, in the latest
publication and in the history.
"""

import math
from datetime import date

import duckdb
import pytest
from support.daily import daily_run

from sotelake.demo.generate import DemoSpec, generate
from sotelake.publish.disclosure_audit import Cell, Organiser, audit, audit_history, audit_path
from sotelake.settings import get_settings
from sotelake.transform.dbt_build import WHOLE_BUILD, run_dbt

HARD = DemoSpec(residents=1500, seed=21)
DAY = date(2026, 1, 20)
KEY = (
    "concat_ws('|', indicator_id, area_level, area_code, period_grain, "
    "cast(period_start as varchar), breakdown, breakdown_code)"
)


def cell(area_level, area_code, n, d=None, grain="month", start=date(2025, 3, 1), code=None):
    return Cell(
        "x",
        area_level,
        area_code,
        grain,
        start,
        "none" if code is None else "class",
        code or "total",
        None if n is None else float(n),
        None if n is None else float(d if d is not None else 100),
        n is None,
    )


COUNTY = [Organiser(code, "PO", date(2023, 1, 1), date(9999, 12, 31)) for code in "ABC"]


def interval(result, area_code, measure="numerator"):
    (found,) = [
        i
        for i in result.intervals
        if i.value_key.split("|")[2] == area_code and i.measure == measure
    ]
    return found


def test_the_audit_works_out_what_differencing_gives_away():
    # area: the county's 20 minus the other municipalities' 7 and 9 is Kaskinen's 4
    area = audit(
        [cell("county", "PO", 20), cell("municipality", "A", None), cell("municipality", "B", 7)]
        + [cell("municipality", "C", 9)],
        COUNTY,
        shares=set(),
        protection=5,
    )
    assert (interval(area, "A").low, interval(area, "A").high) == (4, 4)
    assert len(area.failures) == len(area.exact) == 1
    # a second withheld cell that leaves only 4 between them: each is 0 to 4, still given away
    pair = audit(
        [cell("county", "PO", 20), cell("municipality", "A", None), cell("municipality", "B", None)]
        + [cell("municipality", "C", 16)],
        COUNTY,
        shares=set(),
        protection=5,
    )
    assert [(i.low, i.high) for i in pair.intervals] == [(0, 4), (0, 4)]
    assert len(pair.failures) == 2 and not pair.exact
    # ... and 12 between them protects both
    protected = audit(
        [cell("county", "PO", 20), cell("municipality", "A", None), cell("municipality", "B", None)]
        + [cell("municipality", "C", 8)],
        COUNTY,
        shares=set(),
        protection=5,
    )
    assert not protected.failures
    # time: the year minus the other months; the relation is learnt from a published year
    months = [date(2025, m, 1) for m in range(1, 13)]
    year_cells = [
        cell("municipality", "A", None if m.month == 3 else 10, start=m) for m in months
    ] + [cell("municipality", "A", 113, grain="year", start=date(2025, 1, 1))]
    year_cells += [cell("municipality", "B", 10, start=m) for m in months]
    year_cells += [cell("municipality", "B", 120, grain="year", start=date(2025, 1, 1))]
    time = audit(year_cells, shares=set(), protection=5)
    assert [(i.low, i.high) for i in time.intervals] == [(3, 3)]
    # breakdown and complement: a withheld class of a share, the total minus the other class
    shares = audit(
        [
            cell("county", "PO", 30, d=40, code="total"),
            cell("county", "PO", None, code="a"),
            cell("county", "PO", 28, d=36, code="b"),
        ],
        shares={"x"},
        protection=5,
    )
    assert {(i.measure, i.low, i.high) for i in shares.intervals} == {
        ("numerator", 2, 2),
        ("complement", 2, 2),
    }


@pytest.fixture(scope="module")
def hard_county(tmp_path_factory):
    data = tmp_path_factory.mktemp("hard_county")
    generate(HARD, data)
    mp = pytest.MonkeyPatch()
    mp.setenv("SOTELAKE_DATA_DIR", str(data))
    try:
        settings = get_settings()
        daily_run(settings, DAY, changed_only=False)
        yield settings
    finally:
        mp.undo()


def withheld(settings) -> dict[str, str]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return dict(
            con.execute(
                f"select {KEY}, suppression_reason from marts.indicator_values where suppressed"
            ).fetchall()
        )


def truth(settings) -> dict[tuple[str, str], float]:
    """The values before suppression: what the audit's intervals must hold."""
    out = {}
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        for key, n, d in con.execute(
            f"select {KEY}, numerator, denominator from indicators.indicator_values_computed"
        ).fetchall():
            out[key, "numerator"] = n
            out[key, "complement"] = (d or 0) - (n or 0)
    return out


def assert_sound(result, settings):
    """Every interval solved to its extremes holds the cell's true value (so the relations
    the audit assumed are the ones the values obey)."""
    true = truth(settings)
    outside = [
        (i, true[i.value_key, i.measure])
        for i in result.intervals
        if i.extreme and not i.low - 1e-6 <= true[i.value_key, i.measure] <= i.high + 1e-6
    ]
    assert not outside, outside[:5]


def rebuild_suppression(settings, **env):
    run_dbt(
        [*WHOLE_BUILD, "--select", "indicator_values_suppressed+"],
        settings=settings,
        extra_env={"SOTELAKE_RUN_ID": "disclosure-test", **env},
    )


def test_no_withheld_cell_of_a_hard_county_can_be_worked_out(hard_county):
    result = audit_path(hard_county.warehouse)
    reasons = withheld(hard_county)
    assert result.withheld == len(reasons) > 0
    assert {"primary", "secondary"} <= set(reasons.values())
    assert not result.failures, result.summary()
    assert_sound(result, hard_county)
    assert any(i.extreme and i.high < math.inf for i in result.intervals)
    with duckdb.connect(str(hard_county.warehouse), read_only=True) as con:
        # nothing of a withheld cell is published, a denominator of 1 to 4 included
        assert not con.execute(
            "select count(*) from marts.indicator_values where suppressed and "
            "(numerator is not null or denominator is not null or value is not null)"
        ).fetchone()[0]
        assert not con.execute(
            "select count(*) from marts.indicator_values as v join marts.indicator_catalog "
            "using (indicator_id) where suppress_small_cells and not suppressed "
            "and (v.numerator between 0.5 and 4.5 or v.denominator between 0.5 and 4.5)"
        ).fetchone()[0]


def test_without_secondary_suppression_the_audit_fails(hard_county):
    """Secondary suppression off: the totals give withheld cells back, in the latest
    publication and in that version of the history; on again, the same cells are withheld."""
    before = withheld(hard_county)
    rebuild_suppression(hard_county, SOTELAKE_SECONDARY_SUPPRESSION="off")
    weakened = audit_path(hard_county.warehouse)
    assert weakened.exact and weakened.failures
    assert set(withheld(hard_county).values()) == {"primary"}
    assert_sound(weakened, hard_county)
    history = audit_history(hard_county.warehouse)
    assert len(history) == 2
    first, latest = history.values()
    assert not first.failures and latest.failures
    rebuild_suppression(hard_county)
    assert withheld(hard_county) == before  # deterministic: the same data, the same cells
    assert not audit_path(hard_county.warehouse).failures


def test_audit_disclosure_command(hard_county, capsys):
    from sotelake.cli import main

    assert main(["audit-disclosure", str(hard_county.warehouse)]) == 0
    assert "0 given away" in capsys.readouterr().out
    assert main(["audit-disclosure", str(hard_county.warehouse), "--protection", "1000"]) == 1
    assert main(["audit-disclosure", str(hard_county.warehouse.parent / "missing")]) == 2
    assert "missing: no such warehouse" in capsys.readouterr().err
