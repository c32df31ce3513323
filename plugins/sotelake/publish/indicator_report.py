"""The indicator report: ``<reports>/indicators/index.html``, in Finnish and Swedish.

For every indicator of the catalogue: its definition, a trend chart of the county value and a
comparison of municipalities (or units, or service classes where that is the indicator's grain),
with the periods that are not final yet (preliminary) named.
Built from the warehouse's public tables only (marts.indicator_catalog, marts.indicator_values),
so it shows exactly what BI tools see, suppressed cells included.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from sotelake import engine
from sotelake.publish import charts, rendering
from sotelake.publish.labels import names_by_code
from sotelake.settings import Settings, get_settings

log = logging.getLogger(__name__)

LANGUAGES = {"fi": "Suomeksi", "sv": "På svenska"}
MAX_SERIES = 6
TEXT = {
    "fi": {
        "title": "Indikaattorit",
        "trend": "Kehitys, hyvinvointialue",
        "comparison": "Vertailu",
        "definition": "Määritelmä",
        "unit": "Yksikkö",
        "numerator": "Osoittaja",
        "denominator": "Nimittäjä",
        "sotkanet": "Sotkanet-tunnus",
        "suppressed": "× = pieni solu (n < {n}) salattu",
        "period": "Ajanjakso",
        "area": "Alue",
        "value": "Arvo",
        "generated": "Päivitetty",
        "run": "Ajo",
        "empty": "Tietovarastossa ei ole vielä indikaattoriarvoja: katso tietojen laadun raportti.",
        "preliminary": (
            "Ennakkotietoja: {periods} alkaen (lopulliset {days} vrk kauden päättymisen jälkeen)"
        ),
        "preliminary_mark": "ennakkotieto",
    },
    "sv": {
        "title": "Indikatorer",
        "trend": "Utveckling, välfärdsområdet",
        "comparison": "Jämförelse",
        "definition": "Definition",
        "unit": "Enhet",
        "numerator": "Täljare",
        "denominator": "Nämnare",
        "sotkanet": "Sotkanet-id",
        "suppressed": "× = liten cell (n < {n}) skyddad",
        "period": "Period",
        "area": "Område",
        "value": "Värde",
        "generated": "Uppdaterad",
        "run": "Körning",
        "empty": "Informationslagret har ännu inga indikatorvärden: se rapporten om datakvalitet.",
        "preliminary": (
            "Preliminära uppgifter: från {periods} (slutliga {days} dygn efter periodens slut)"
        ),
        "preliminary_mark": "preliminärt",
    },
}


def _period(grain: str, start) -> str:
    return f"{start:%Y}" if grain == "year" else f"{start:%Y-%m}"


def _indicator_views(con, indicator: dict, labels: dict, lang: str) -> dict:
    rows = con.execute(
        "select area_level, area_code, period_grain, period_start, breakdown_code, value, "
        "suppressed from marts.indicator_values where indicator_id = ? "
        "order by period_start",
        [indicator["indicator_id"]],
    ).fetchall()
    preliminary = dict(
        con.execute(
            "select period_grain, min(period_start) from marts.indicator_values "
            "where indicator_id = ? and period_status = 'preliminary' group by 1",
            [indicator["indicator_id"]],
        ).fetchall()
    )
    name = lambda code: labels[lang].get(code, code)  # noqa: E731
    levels = {r[0] for r in rows}
    county = [r for r in rows if r[0] == "county"]
    trend_grain = "month" if any(r[2] == "month" for r in county) else "year"
    series: dict[str, list] = {}
    codes = {r[4] for r in county}
    # A chart reads well with a few lines: the total when the breakdown has many classes.
    shown = {"total"} if "total" in codes and len(codes) > MAX_SERIES else codes
    for _, _, grain, start, breakdown, value, _ in county:
        if grain == trend_grain and breakdown in shown:
            series.setdefault(name(breakdown), []).append((_period(grain, start), value))
    trend = charts.line_chart(
        series, title=indicator[f"name_{lang}"], decimals=indicator["decimals"]
    )
    # Comparison: municipalities (else units, else the county's breakdown) in the latest period.
    level = (
        "municipality" if "municipality" in levels else ("unit" if "unit" in levels else "county")
    )
    candidates = [r for r in rows if r[0] == level]
    grain = "year" if any(r[2] == "year" for r in candidates) else "month"
    candidates = [r for r in candidates if r[2] == grain]
    latest = max((r[3] for r in candidates), default=None)
    candidates = [r for r in candidates if r[3] == latest]
    codes = sorted({r[4] for r in candidates})
    first_breakdown = ["total"] if "total" in codes else codes[:1]
    if level != "county":
        candidates = [r for r in candidates if r[4] in first_breakdown]
        bars = [
            (name(r[1]), None if r[6] else r[5]) for r in sorted(candidates, key=lambda r: r[1])
        ]
    else:
        bars = [
            (name(r[4]), None if r[6] else r[5]) for r in sorted(candidates, key=lambda r: r[4])
        ]
    heading = f"{_period(grain, latest) if latest else ''}"
    if latest is not None and grain in preliminary and latest >= preliminary[grain]:
        heading += f" ({TEXT[lang]['preliminary_mark']})"
    if level != "county" and first_breakdown:
        heading += f", {name(first_breakdown[0])}"
    comparison = charts.bar_chart(
        bars, title=indicator[f"name_{lang}"], decimals=indicator["decimals"], suppressed_label="×"
    )
    return {
        "trend": trend,
        "comparison": comparison,
        "comparison_heading": heading,
        "suppressed_count": sum(1 for r in rows if r[6]),
        "rows": len(rows),
        # the first preliminary period of the trend's grain: what is not final yet
        "preliminary_from": _period(trend_grain, preliminary[trend_grain])
        if trend_grain in preliminary
        else None,
    }


# the marts the report reads (dbt/models/_exposures.yml: indicator_report)
READS = frozenset(
    {
        "marts.indicator_catalog",
        "marts.indicator_values",
        "marts.dim_municipality",
        "marts.dim_unit",
        "marts.dim_professional_group",
        "marts.dim_service_class",
        "marts.dim_specialty",
    }
)


def render_indicator_report(settings: Settings | None = None, run_id: str | None = None) -> Path:
    settings = settings or get_settings()
    con = engine.connect_warehouse(settings.warehouse)
    try:
        present = engine.tables(con)
        needed = READS
        catalog, pages, run = [], {lang: [] for lang in LANGUAGES}, None
        if needed <= present:  # a first run whose sources were all held back has none yet
            catalog = engine.rows(
                con, "select * from marts.indicator_catalog order by indicator_id"
            )
            labels = names_by_code(con)
            run = (
                run_id
                or con.execute("select max(run_id) from marts.indicator_values").fetchone()[0]
            )
            pages = {
                lang: [{**ind, **_indicator_views(con, ind, labels, lang)} for ind in catalog]
                for lang in LANGUAGES
            }
        min_cell = settings.min_cell_size
    finally:
        con.close()
    path = rendering.render(
        "indicators.html",
        settings.reports / "indicators" / "index.html",
        languages=LANGUAGES,
        text=TEXT,
        pages=pages,
        run_id=run,
        min_cell=min_cell,
        close_days=settings.period_close_days,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    log.info("indicator report: %s (%d indicators)", path, len(catalog))
    return path
