"""How a package's HTML page lays out its sections for a reader in a municipality.

A section's indicators that have municipal values form one table with the areas as rows (the
county first, then its municipalities) and the indicators as columns, when the section has
fewer indicators than there are areas (it then fits the screen; the other way round most
municipalities were off to the right). The indicators that exist only for the county (costs
booked on cost centres of the whole area) get a small table of their own instead of a row full
of "·". Each section has a chart: its first municipal indicator, the municipalities sorted by
value with the county's value as a reference line. The files (CSV, Parquet) are not affected.
"""

from __future__ import annotations

from sotelake.publish import charts

LANGUAGES = ("fi", "sv")
TEXT = {
    "fi": {
        "area": "Alue",
        "package": "Paketti",
        "files": "Tiedostot",
        "values": "Arvoja",
        "suppressed_cells": "Salattuja soluja",
        "county_only": "Vain koko hyvinvointialueelta",
        "value": "Arvo",
        "chart": "{name}, kunnat {year}",
    },
    "sv": {
        "area": "Område",
        "package": "Paket",
        "files": "Filer",
        "values": "Värden",
        "suppressed_cells": "Skyddade celler",
        "county_only": "Endast för hela välfärdsområdet",
        "value": "Värde",
        "chart": "{name}, kommunerna {year}",
    },
}


def lay_out(page: dict, year: int, catalog: dict) -> dict:
    """``page`` (packages._page) with, per section, its municipal and county-only lines, whether
    the areas are rows, and a chart per language (with its caption). A count (an indicator
    without a denominator: the county's value is the sum) has no county reference line."""
    areas = page["areas"]
    for section in page["sections"]:
        municipal = [line for line in section["lines"] if line["municipal"]]
        section["municipal_lines"] = municipal
        section["county_lines"] = [line for line in section["lines"] if not line["municipal"]]
        section["areas_as_rows"] = len(municipal) < len(areas)
        count = bool(municipal) and not catalog[municipal[0]["indicator_id"]].get("denominator")
        section["charts"] = {
            lang: _chart(municipal, areas, lang, year, count) for lang in LANGUAGES
        }
    return page


def _chart(lines: list[dict], areas: list[dict], lang: str, year: int, count: bool) -> dict:
    if not lines:
        return {}
    line = lines[0]
    value = lambda cell: None if cell is None or cell["suppressed"] else cell["value"]  # noqa: E731
    bars = [
        (area["names"].get(lang) or area["code"], value(cell))
        for area, cell in zip(areas, line["cells"], strict=True)
        if area["level"] == "municipality" and cell is not None
    ]
    bars.sort(key=lambda b: (b[1] is None, -(b[1] or 0), b[0]))
    county = (
        value(line["cells"][0]) if areas and areas[0]["level"] == "county" and not count else None
    )
    name = line["names"][lang]
    if line["breakdown_code"] and line["breakdown_code"] != "total":
        name += f" ({line['breakdown'][lang] or line['breakdown_code']})"
    title = TEXT[lang]["chart"].format(name=name, year=year)
    return {
        "title": title,
        "svg": charts.bar_chart(
            bars,
            title=title,
            decimals=line["decimals"],
            reference=county,
            reference_label=areas[0]["names"].get(lang, "") if areas else "",
        ),
    }
