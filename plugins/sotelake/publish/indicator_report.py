"""The indicator report: ``<reports>/indicators/index.html``, in Finnish and Swedish.

For every indicator of the catalogue: its definition, a trend chart of the county value and a
comparison of municipalities (or units, or service classes where that is the indicator's grain),
with the periods that are not final yet (preliminary) named.
Built from the warehouse's public tables only (marts.indicator_catalog, marts.indicator_values),
so it shows exactly what BI tools see, suppressed cells included.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path

from sotelake import engine
from sotelake.publish import charts, rendering
from sotelake.publish.formatting import number
from sotelake.publish.labels import names_by_code
from sotelake.publish.packages import load_packages
from sotelake.settings import Settings, get_settings

log = logging.getLogger(__name__)

LANGUAGES = {"fi": "Suomeksi", "sv": "På svenska"}
MAX_SERIES = 6
DIRECTIONS = ("higher_is_better", "lower_is_better")
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
        "all_withheld": "Hyvinvointialueen jokainen arvo on salattu: pieniä lukuja tai lukuja, "
        "joista pieni luku voitaisiin laskea.",
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
        "contents": "Sisällys",
        "other": "Muut indikaattorit",
        "county": "Hyvinvointialue",
        "total": "Yhteensä",
        "latest": "Viimeisin",
        "from_previous": "edellisestä ({period})",
        "from_year_before": "vuotta aiemmasta ({period})",
        "range": "Kunnat: {low} ({low_name}) – {high} ({high_name}); hyvinvointialue {county}",
        "directions": {
            "higher_is_better": "↑ suurempi on parempi",
            "lower_is_better": "↓ pienempi on parempi",
        },
        "as_of": "Luvut ajosta",
        "no_values": "ei vielä arvoja",
        "held_back": (
            "Lähde {sources} jäi pois viimeisimmästä ajosta: sitä käyttävät indikaattorit "
            "näyttävät edellisen onnistuneen ajon luvut."
        ),
        "held_back_mark": "lähde {sources} jäi pois: edellisen onnistuneen ajon luvut",
        "compared": {"municipality": "kunnat", "unit": "yksiköt", "county": "luokat"},
        "national": "Kansallinen vertailu, Sotkanet {year}",
        "national_line": "Hyvinvointialue {own_sotkanet} Sotkanetissa ({own} oma laskenta); "
        "koko maa {country}",
        "country": "Koko maa",
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
        "all_withheld": "Varje värde för välfärdsområdet är skyddat: små tal eller tal som ett "
        "litet tal kunde räknas ut ur.",
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
        "contents": "Innehåll",
        "other": "Övriga indikatorer",
        "county": "Välfärdsområdet",
        "total": "Totalt",
        "latest": "Senaste",
        "from_previous": "från föregående ({period})",
        "from_year_before": "från ett år tidigare ({period})",
        "range": "Kommunerna: {low} ({low_name}) – {high} ({high_name}); välfärdsområdet {county}",
        "directions": {
            "higher_is_better": "↑ större är bättre",
            "lower_is_better": "↓ mindre är bättre",
        },
        "as_of": "Siffrorna från körningen",
        "no_values": "inga värden ännu",
        "held_back": (
            "Källan {sources} lämnades bort från den senaste körningen: indikatorerna som "
            "använder den visar siffrorna från den föregående lyckade körningen."
        ),
        "held_back_mark": "källan {sources} lämnades bort: siffror från föregående lyckade körning",
        "compared": {"municipality": "kommunerna", "unit": "enheterna", "county": "klasserna"},
        "national": "Nationell jämförelse, Sotkanet {year}",
        "national_line": "Välfärdsområdet {own_sotkanet} i Sotkanet ({own} egen beräkning); "
        "hela landet {country}",
        "country": "Hela landet",
    },
}


def _period(grain: str, start) -> str:
    return f"{start:%Y}" if grain == "year" else f"{start:%Y-%m}"


def _year_before(start: date) -> date:
    return start.replace(year=start.year - 1)


def _change(value, other, decimals: int, direction: str | None) -> dict | None:
    """The change from ``other`` to ``value``: its text and whether it is for the better."""
    if value is None or other is None:
        return None
    delta = value - other
    better = (
        None
        if direction not in DIRECTIONS or round(delta, decimals) == 0
        else (delta > 0) == (direction == "higher_is_better")
    )
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    return {"text": sign + number(abs(delta), decimals), "better": better}


def _headline(county: list[tuple], breakdown: str, grain: str, decimals: int, direction) -> dict:
    """The latest county value of one class, its change from the previous period and from
    the same period a year before, and whether that period is preliminary."""
    points = {
        start: (value, suppressed, status)
        for _, _, g, start, code, value, suppressed, status in county
        if g == grain and code == breakdown
    }
    known = sorted(start for start, (value, _, _) in points.items() if value is not None)
    if not known:
        return {"period": None}
    latest = known[-1]
    value, _, status = points[latest]
    previous = known[-2] if len(known) > 1 else None
    year_before = _year_before(latest)
    return {
        "period": _period(grain, latest),
        "value": value,
        "preliminary": status == "preliminary",
        "previous": _change(value, points[previous][0], decimals, direction) if previous else None,
        "previous_period": _period(grain, previous) if previous else None,
        "year_before": _change(value, points[year_before][0], decimals, direction)
        if grain == "month" and year_before in points
        else None,
        "year_before_period": _period(grain, year_before),
    }


def _indicator_views(con, indicator: dict, labels: dict, lang: str) -> dict:
    rows = con.execute(
        "select area_level, area_code, period_grain, period_start, breakdown_code, value, "
        "suppressed, period_status from marts.indicator_values where indicator_id = ? "
        "order by period_start",
        [indicator["indicator_id"]],
    ).fetchall()
    text = TEXT[lang]
    name = lambda code: labels[lang].get(code, code)  # noqa: E731
    decimals, direction = indicator["decimals"], indicator.get("direction")
    preliminary = {}
    for _, _, grain, start, _, _, _, status in rows:
        if status == "preliminary":
            preliminary[grain] = min(preliminary.get(grain, start), start)
    levels = {r[0] for r in rows}
    county = [r for r in rows if r[0] == "county"]
    trend_grain = "month" if any(r[2] == "month" for r in county) else "year"
    codes = sorted({r[4] for r in county})
    # the classes shown: the total, else each class (a few of them)
    classes = ["total"] if "total" in codes else codes[:MAX_SERIES]
    headlines = [
        {
            "label": name(code) if code != "total" else "",
            **_headline(county, code, trend_grain, decimals, direction),
        }
        for code in classes
    ]
    series: dict[str, list] = {}
    shown = {"total"} if "total" in codes and len(codes) > MAX_SERIES else set(codes)
    for _, _, grain, start, breakdown, value, _, _ in county:
        if grain == trend_grain and breakdown in shown:
            series.setdefault(name(breakdown), []).append((_period(grain, start), value))
    if series and all(value is None for points in series.values() for _, value in points):
        # every value withheld (disclosure control): say so rather than draw an empty chart
        trend = f'<p class="empty withheld">{escape(text["all_withheld"])}</p>'
    else:
        trend = charts.line_chart(series, title=indicator[f"name_{lang}"], decimals=decimals)
    # Comparison: municipalities (else units, else the county's classes) in the latest period,
    # sorted by value, with the county's value as the reference line; one chart per class.
    level = (
        "municipality" if "municipality" in levels else ("unit" if "unit" in levels else "county")
    )
    candidates = [r for r in rows if r[0] == level]
    grain = "year" if any(r[2] == "year" for r in candidates) else "month"
    candidates = [r for r in candidates if r[2] == grain]
    latest = max((r[3] for r in candidates), default=None)
    candidates = [r for r in candidates if r[3] == latest]
    county_now = {
        r[4]: (None if r[6] else r[5]) for r in county if r[2] == grain and r[3] == latest
    }
    period = _period(grain, latest) if latest else ""
    if latest is not None and grain in preliminary and latest >= preliminary[grain]:
        period += f" ({text['preliminary_mark']})"
    comparisons = []
    if level != "county":
        compared = sorted({r[4] for r in candidates})
        compared = ["total"] if "total" in compared else compared[:MAX_SERIES]
        for code in compared:
            bars = [(name(r[1]), None if r[6] else r[5]) for r in candidates if r[4] == code]
            comparisons.append(
                {
                    "class": code,
                    "heading": period if code == "total" else f"{period}, {name(code)}",
                    "chart": charts.bar_chart(
                        _by_value(bars),
                        title=f"{indicator[f'name_{lang}']} {name(code)}",
                        decimals=decimals,
                        suppressed_label="×",
                        reference=county_now.get(code),
                        reference_label=text["county"],
                    ),
                    "range": _range(bars, county_now.get(code), decimals),
                }
            )
    elif bars := [(name(r[4]), None if r[6] else r[5]) for r in candidates if r[4] != "total"]:
        # (a county-only indicator without classes has nothing to compare: its trend alone)
        comparisons.append(
            {
                "class": "classes",
                "heading": period,
                "chart": charts.bar_chart(
                    _by_value(bars),
                    title=indicator[f"name_{lang}"],
                    decimals=decimals,
                    suppressed_label="×",
                    reference=county_now.get("total"),
                    reference_label=text["total"],
                ),
                "range": None,
            }
        )
    return {
        "headlines": headlines,
        "direction_text": text["directions"].get(direction or "", ""),
        "trend": trend,
        "comparisons": comparisons,
        "compared_level": level,
        "suppressed_count": sum(1 for r in rows if r[6]),
        "rows": len(rows),
        # the first preliminary period of the trend's grain: what is not final yet
        "preliminary_from": _period(trend_grain, preliminary[trend_grain])
        if trend_grain in preliminary
        else None,
    }


def _national(con, indicator: dict, lang: str) -> dict | None:
    """Sotkanet's latest year of the indicator (marts.indicator_comparison): every wellbeing
    services county's value, the county's own beside its own computation, the country's as
    the reference line. None without a Sotkanet id or values."""
    rows = con.execute(
        "select year, area_level, area_code, area_name_fi, comparison, sotkanet_value, "
        "own_value from marts.indicator_comparison where indicator_id = ? "
        "and year = (select max(year) from marts.indicator_comparison "
        "where indicator_id = ? and sotkanet_value is not null)",
        [indicator["indicator_id"], indicator["indicator_id"]],
    ).fetchall()
    if not rows:
        return None
    text, decimals = TEXT[lang], indicator["decimals"]
    year = rows[0][0]
    country = next((r[5] for r in rows if r[1] == "country"), None)
    counties = [r for r in rows if r[1] == "county"]
    own = next((r for r in counties if r[4] == "own"), None)
    bars = [(r[3] or r[2] or "?", r[5]) for r in counties]
    return {
        "year": year,
        "heading": text["national"].format(year=year),
        "line": text["national_line"].format(
            own_sotkanet=number(own[5], decimals) if own and own[5] is not None else "–",
            own=number(own[6], decimals) if own and own[6] is not None else "–",
            country=number(country, decimals) if country is not None else "–",
        ),
        "own_sotkanet": own[5] if own else None,
        "own_value": own[6] if own else None,
        "country": country,
        "chart": charts.bar_chart(
            _by_value(bars),
            title=text["national"].format(year=year),
            decimals=decimals,
            reference=country,
            reference_label=text["country"],
        ),
    }


def _by_value(bars: list[tuple[str, float | None]]) -> list[tuple[str, float | None]]:
    """Highest first; withheld cells last, by name."""
    return sorted(bars, key=lambda b: (b[1] is None, -(b[1] or 0), b[0]))


def _range(bars, county_value, decimals: int) -> dict | None:
    """The lowest and highest municipality (or unit) and the county's value between them."""
    known = [(value, label) for label, value in bars if value is not None]
    if len(known) < 2:
        return None
    low, high = min(known), max(known)
    return {
        "low": number(low[0], decimals),
        "low_name": low[1],
        "high": number(high[0], decimals),
        "high_name": high[1],
        "county": number(county_value, decimals) if county_value is not None else None,
    }


# Sotkanet's values beside the county's: shown when the sotkanet source has been loaded
COMPARISON = "marts.indicator_comparison"
# the marts the report reads (dbt/models/_exposures.yml: indicator_report)
READS = frozenset(
    {
        COMPARISON,
        "marts.indicator_catalog",
        "marts.indicator_values",
        "marts.dim_municipality",
        "marts.dim_unit",
        "marts.dim_professional_group",
        "marts.dim_service_class",
        "marts.dim_social_service_type",
        "marts.dim_specialty",
    }
)


def _groups(catalog: list[dict], settings: Settings) -> list[dict]:
    """The indicators grouped by the packages' themes (config/packages.yml), in the packages'
    order; an indicator is shown under the first package that lists it, those no package lists
    under 'other'."""
    ids = {c["indicator_id"] for c in catalog}
    try:
        _, packages = load_packages(settings.config_dir / "packages.yml", ids)
    except Exception as error:  # the report still shows every indicator, ungrouped
        log.warning("indicator report: packages not read, indicators not grouped: %s", error)
        packages = []
    placed: set[str] = set()
    groups = []
    for package in packages:
        members = []
        for _, items in package.sections:
            for item in items:
                if item.indicator_id not in placed:
                    placed.add(item.indicator_id)
                    members.append(item.indicator_id)
        if members:
            groups.append({"id": package.package_id, "names": package.names, "members": members})
    rest = sorted(ids - placed)
    if rest:
        groups.append({"id": "other", "names": None, "members": rest})
    return groups


def render_indicator_report(settings: Settings | None = None, run_id: str | None = None) -> Path:
    """The report. The run it names is the run of the values themselves (``run_id``, the run
    that renders it, may have held a source back and so left some values as they were)."""
    settings = settings or get_settings()
    con = engine.connect_warehouse(settings.warehouse)
    try:
        present = engine.tables(con)
        needed = READS - {COMPARISON}  # the report shows what it has without it
        catalog, pages, groups = [], {lang: {} for lang in LANGUAGES}, []
        as_of, held_back = {}, []
        if needed <= present:  # a first run whose sources were all held back has none yet
            catalog = engine.rows(
                con, "select * from marts.indicator_catalog order by indicator_id"
            )
            labels = names_by_code(con)
            for indicator_id, run, behind in con.execute(
                "select indicator_id, max(run_id), string_agg(distinct sources_behind, ', ') "
                "from marts.indicator_values group by 1"
            ).fetchall():
                as_of[indicator_id] = {"run": run, "behind": behind}
            held_back = sorted(
                {s.strip() for v in as_of.values() if v["behind"] for s in v["behind"].split(",")}
            )
            pages = {
                lang: {
                    ind["indicator_id"]: {
                        **ind,
                        **_indicator_views(con, ind, labels, lang),
                        "as_of": as_of.get(ind["indicator_id"]),
                        # the national comparison, when the sotkanet source has been loaded
                        "national": _national(con, ind, lang)
                        if ind.get("sotkanet_id") and COMPARISON in present
                        else None,
                    }
                    for ind in catalog
                }
                for lang in LANGUAGES
            }
            groups = _groups(catalog, settings)
        min_cell = settings.min_cell_size
    finally:
        con.close()
    runs = [v["run"] for v in as_of.values() if v["run"]]
    path = rendering.render(
        "indicators.html",
        settings.reports / "indicators" / "index.html",
        languages=LANGUAGES,
        text=TEXT,
        pages=pages,
        groups=groups,
        run_id=max(runs) if runs else None,
        held_back=held_back,
        min_cell=min_cell,
        close_days=settings.period_close_days,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    log.info("indicator report: %s (%d indicators)", path, len(catalog))
    return path
