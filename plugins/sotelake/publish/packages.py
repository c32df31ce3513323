"""Sote information packages (sote-tietopaketit): ``<reports>/packages/<county>-<year>/``.

What each package shows is configuration (``config/packages.yml``): sections of indicators of
the catalogue. For the county the warehouse reports on and a year, each package is written as
CSV (UTF-8, one row per indicator and area), Parquet (the same rows, typed) and an HTML page in
Finnish and Swedish with the county and its municipalities side by side; ``packages/index.html``
links them. Values come from ``marts.indicator_values``, the public table where small cells are
already withheld, so a package can never show what BI cannot; a year that is not yet final
(period_status preliminary) is marked.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sotelake import engine
from sotelake.publish import package_layout, rendering
from sotelake.publish.labels import names_by_code
from sotelake.settings import ConfigurationError, Settings, get_settings, read_yaml

log = logging.getLogger(__name__)

LANGUAGES = {"fi": "Suomeksi", "sv": "På svenska"}
TEXT = {
    "fi": {
        "title": "Sote-tietopaketit",
        "year": "Vuosi",
        "indicator": "Indikaattori",
        "unit": "Yksikkö",
        "county": "Hyvinvointialue",
        "suppressed": "× = pieni solu (n < {n}) salattu",
        "not_available": "· = ei kuntatasolla (kustannuspaikat ovat koko alueen)",
        "no_data": "– = ei tietoa",
        "preliminary": "* = ennakkotieto (vuosi ei ole vielä lopullinen)",
        "generated": "Päivitetty",
        "run": "Ajo",
        "downloads": "Lataa",
        "empty": "Tietovarastossa ei ole vielä indikaattoriarvoja tälle vuodelle.",
        "national": "Kansallinen vertailu (THL:n Sotkanet)",
        "own": "Oma laskenta",
        "sotkanet_county": "Hyvinvointialue, Sotkanet",
        "sotkanet_country": "Koko maa, Sotkanet",
    },
    "sv": {
        "title": "Social- och hälsovårdens informationspaket",
        "year": "År",
        "indicator": "Indikator",
        "unit": "Enhet",
        "county": "Välfärdsområdet",
        "suppressed": "× = liten cell (n < {n}) skyddad",
        "not_available": "· = inte på kommunnivå (kostnadsställena gäller hela området)",
        "no_data": "– = inga uppgifter",
        "preliminary": "* = preliminärt (året är ännu inte slutligt)",
        "generated": "Uppdaterad",
        "run": "Körning",
        "downloads": "Ladda ner",
        "empty": "Informationslagret har ännu inga indikatorvärden för året.",
        "national": "Nationell jämförelse (THL:s Sotkanet)",
        "own": "Egen beräkning",
        "sotkanet_county": "Välfärdsområdet, Sotkanet",
        "sotkanet_country": "Hela landet, Sotkanet",
    },
}
COLUMNS = [
    ("package_id", pa.string()),
    ("section_id", pa.string()),
    ("position", pa.int32()),
    ("indicator_id", pa.string()),
    ("breakdown_code", pa.string()),
    ("name_fi", pa.string()),
    ("name_sv", pa.string()),
    ("unit_fi", pa.string()),
    ("unit_sv", pa.string()),
    ("year", pa.int32()),
    ("area_level", pa.string()),
    ("area_code", pa.string()),
    ("area_name_fi", pa.string()),
    ("area_name_sv", pa.string()),
    ("value", pa.float64()),
    ("numerator", pa.float64()),
    ("denominator", pa.float64()),
    ("suppressed", pa.bool_()),
    ("period_status", pa.string()),
    ("run_id", pa.string()),
]
SCHEMA = pa.schema(COLUMNS)


@dataclass(frozen=True)
class Item:
    indicator_id: str
    breakdown_code: str | None  # None: 'total', or the indicator's only class


@dataclass(frozen=True)
class Package:
    package_id: str
    names: dict[str, str]
    sections: list[tuple[str, list[Item]]]


def load_packages(path: Path, indicator_ids: set[str]) -> tuple[dict, list[Package]]:
    """The section titles and the packages of ``path``; a mistake names where it is."""
    try:
        config = read_yaml(path) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(
            f"{path}: cannot read the package configuration: {error}"
        ) from None
    sections = config.get("sections") or {}
    packages = []
    for package_id, body in (config.get("packages") or {}).items():
        where = f"{path}: package {package_id}"
        if not isinstance(body, dict) or not all(body.get(lang) for lang in LANGUAGES):
            raise ConfigurationError(f"{where}: needs its names under fi: and sv:")
        package_sections = []
        for section_id, items in body.items():
            if section_id in LANGUAGES:
                continue
            if section_id not in sections:
                raise ConfigurationError(
                    f"{where}: section {section_id!r} is not one of `sections:` "
                    f"({', '.join(sections)})"
                )
            parsed = []
            for position, item in enumerate(items or [], start=1):
                if isinstance(item, str):
                    item = {"indicator": item}
                indicator_id = item.get("indicator") if isinstance(item, dict) else None
                if indicator_id not in indicator_ids:
                    raise ConfigurationError(
                        f"{where}, section {section_id}, item {position}: {item!r} is not an "
                        "indicator of the catalogue (dbt/seeds/indicator_definitions.csv)"
                    )
                breakdown = item.get("breakdown")
                parsed.append(Item(indicator_id, None if breakdown is None else str(breakdown)))
            package_sections.append((section_id, parsed))
        names = {lang: body[lang] for lang in LANGUAGES}
        packages.append(Package(package_id, names, package_sections))
    return sections, packages


def _package_rows(con, package: Package, county: str, year: int, catalog: dict) -> list[dict]:
    """One row per item and area (the county and its municipalities that year)."""
    out = []
    position = 0
    for section_id, items in package.sections:
        for item in items:
            position += 1
            rows = con.execute(
                """
                select values.breakdown_code, values.area_level, values.area_code,
                       values.value, values.numerator, values.denominator, values.suppressed,
                       values.period_status, values.run_id
                from marts.indicator_values as values
                left join marts.dim_municipality as municipalities
                    on values.area_level = 'municipality'
                    and municipalities.municipality_code = values.area_code
                    and make_date(?, 12, 31) between municipalities.valid_from
                        and municipalities.valid_to
                where values.indicator_id = ? and values.period_grain = 'year'
                    and values.period_start = make_date(?, 1, 1)
                    and ((values.area_level = 'county' and values.area_code = ?)
                         or municipalities.organiser_code = ?)
                """,
                [year, item.indicator_id, year, county, county],
            ).fetchall()
            codes = sorted({r[0] for r in rows})
            code = item.breakdown_code or ("total" if "total" in codes or not codes else codes[0])
            if item.breakdown_code is None and len(codes) > 1 and "total" not in codes:
                raise ConfigurationError(
                    f"package {package.package_id}: {item.indicator_id} has the classes "
                    f"{', '.join(codes)} and no total: name one with breakdown:"
                )
            definition = catalog[item.indicator_id]
            for (
                breakdown,
                level,
                area,
                value,
                numerator,
                denominator,
                suppressed,
                status,
                run,
            ) in rows:
                if breakdown != code:
                    continue
                out.append(
                    {
                        "package_id": package.package_id,
                        "section_id": section_id,
                        "position": position,
                        "indicator_id": item.indicator_id,
                        "breakdown_code": code,
                        "name_fi": definition["name_fi"],
                        "name_sv": definition["name_sv"],
                        "unit_fi": definition["unit_fi"],
                        "unit_sv": definition["unit_sv"],
                        "year": year,
                        "area_level": level,
                        "area_code": area,
                        "value": value,
                        "numerator": numerator,
                        "denominator": denominator,
                        "suppressed": suppressed,
                        "period_status": status,
                        "run_id": run,
                    }
                )
    return out


def _write_csv(rows: list[dict], path: Path) -> None:
    """UTF-8 with a byte-order mark (spreadsheets then read ä and å), comma separated, dot
    decimals; a suppressed value is empty with suppressed = true."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        out = csv.DictWriter(f, fieldnames=[name for name, _ in COLUMNS], lineterminator="\n")
        out.writeheader()
        for row in rows:
            out.writerow(
                {k: ("true" if v is True else "false" if v is False else v) for k, v in row.items()}
            )
    tmp.replace(path)


def _write_parquet(rows: list[dict], path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.Table.from_pylist(rows, SCHEMA), tmp)
    tmp.replace(path)


def _area_names(con, county: str, year: int) -> tuple[list[tuple[str, str, str]], dict]:
    municipalities = con.execute(
        "select municipality_code, name_fi, name_sv from marts.dim_municipality "
        "where organiser_code = ? and make_date(?, 12, 31) between valid_from and valid_to "
        "order by name_fi",
        [county, year],
    ).fetchall()
    county_names = con.execute(
        "select name_fi, name_sv from marts.dim_wellbeing_county where county_code = ?", [county]
    ).fetchone() or (county, county)
    names = {("county", county): {"fi": county_names[0], "sv": county_names[1]}}
    for code, fi, sv in municipalities:
        names["municipality", code] = {"fi": fi, "sv": sv}
    return municipalities, names


def _page(package: Package, rows, county, municipalities, names, labels, catalog, sections):
    """The package as the HTML page shows it: per section, per item, a cell per area."""
    areas = [("county", county)] + [("municipality", code) for code, _, _ in municipalities]
    cells: dict[int, dict] = {}
    for row in rows:
        cells.setdefault(row["position"], {})[row["area_level"], row["area_code"]] = row
    page_sections, position = [], 0
    for section_id, items in package.sections:
        lines = []
        for item in items:
            position += 1
            found = cells.get(position, {})
            any_row = next(iter(found.values()), None)
            definition = catalog[item.indicator_id]
            lines.append(
                {
                    "indicator_id": item.indicator_id,
                    "breakdown_code": any_row["breakdown_code"] if any_row else item.breakdown_code,
                    "breakdown": {
                        lang: labels[lang].get(any_row["breakdown_code"]) if any_row else None
                        for lang in LANGUAGES
                    },
                    "names": {lang: definition[f"name_{lang}"] for lang in LANGUAGES},
                    "units": {lang: definition[f"unit_{lang}"] for lang in LANGUAGES},
                    "decimals": definition["decimals"],
                    "cells": [found.get(area) for area in areas],
                    "municipal": any(level == "municipality" for level, _ in found),
                }
            )
        page_sections.append({"id": section_id, "titles": sections[section_id], "lines": lines})
    return {
        "areas": [
            {"level": level, "code": code, "names": names.get((level, code), {})}
            for level, code in areas
        ],
        "sections": page_sections,
    }


def _text() -> dict:
    """The pages' texts: TEXT and those of the layout (package_layout.TEXT)."""
    return {lang: {**TEXT[lang], **package_layout.TEXT[lang]} for lang in LANGUAGES}


def _national(con, package: Package, year: int, catalog: dict) -> list[dict]:
    """The package's indicators that Sotkanet has for the year: the county's own value beside
    Sotkanet's value of the county and of the whole country (marts.indicator_comparison)."""
    ids = list(dict.fromkeys(i.indicator_id for _, items in package.sections for i in items))
    if not ids:
        return []
    rows = con.execute(
        "select indicator_id, "
        "max(case when comparison = 'own' and area_level = 'county' then own_value end), "
        "bool_or(comparison = 'own' and area_level = 'county' and own_suppressed), "
        "max(case when comparison = 'own' and area_level = 'county' then sotkanet_value end), "
        "max(case when area_level = 'country' then sotkanet_value end) "
        f"from {COMPARISON} where year = ? and indicator_id in ({', '.join('?' * len(ids))}) "
        "group by indicator_id",
        [year, *ids],
    ).fetchall()
    found = {r[0]: r for r in rows}
    return [
        {
            "indicator_id": indicator,
            "names": {lang: catalog[indicator][f"name_{lang}"] for lang in LANGUAGES},
            "units": {lang: catalog[indicator][f"unit_{lang}"] for lang in LANGUAGES},
            "decimals": catalog[indicator]["decimals"],
            "own": found[indicator][1],
            "own_suppressed": bool(found[indicator][2]),
            "county": found[indicator][3],
            "country": found[indicator][4],
        }
        for indicator in ids
        if indicator in found
    ]


# Sotkanet's values beside the county's: shown when the sotkanet source has been loaded
COMPARISON = "marts.indicator_comparison"
# the marts the packages read (dbt/models/_exposures.yml: sote_information_packages)
READS = frozenset(
    {
        COMPARISON,
        "marts.indicator_values",
        "marts.indicator_catalog",
        "marts.fct_population",
        "marts.dim_municipality",
        "marts.dim_organisation",
        "marts.dim_wellbeing_county",
    }
)


def render_packages(
    settings: Settings | None = None, year: int | None = None, run_id: str | None = None
) -> list[Path]:
    """Write every package of config/packages.yml for ``year`` (default: the latest population
    year, the last complete one); returns the files written."""
    settings = settings or get_settings()
    con = engine.connect_warehouse(settings.warehouse)
    try:
        present = engine.tables(con)
        needed = READS - {COMPARISON}  # the packages show what they have without it
        if not needed <= present:
            log.warning("packages: the warehouse has no indicator tables yet; nothing written")
            return []
        catalog = {
            row["indicator_id"]: row
            for row in engine.rows(con, "select * from marts.indicator_catalog")
        }
        sections, packages = load_packages(settings.config_dir / "packages.yml", set(catalog))
        county = con.execute(
            "select organisation_code from marts.dim_organisation "
            "where organisation_type = 'wellbeing_county'"
        ).fetchone()[0]
        year = year or con.execute("select max(year) from marts.fct_population").fetchone()[0]
        municipalities, names = _area_names(con, county, year)
        labels = names_by_code(con)
        folder = settings.reports / "packages" / f"{county}-{year}"
        folder.mkdir(parents=True, exist_ok=True)
        written, listing = [], []
        generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        for package in packages:
            rows = _package_rows(con, package, county, year, catalog)
            for row in rows:
                area = names.get((row["area_level"], row["area_code"]), {})
                row["area_name_fi"], row["area_name_sv"] = area.get("fi"), area.get("sv")
            base = folder / package.package_id
            _write_csv(rows, base.with_suffix(".csv"))
            _write_parquet(rows, base.with_suffix(".parquet"))
            page = _page(package, rows, county, municipalities, names, labels, catalog, sections)
            page = package_layout.lay_out(page, year, catalog)
            rendering.render(
                "package.html",
                base.with_suffix(".html"),
                languages=LANGUAGES,
                text=_text(),
                package=package,
                page=page,
                national=_national(con, package, year, catalog) if COMPARISON in present else [],
                county=names["county", county],
                year=year,
                run_id=run_id or next((r["run_id"] for r in rows), None),
                min_cell=settings.min_cell_size,
                generated=generated,
            )
            written += [base.with_suffix(s) for s in (".csv", ".parquet", ".html")]
            listing.append(
                {
                    "id": package.package_id,
                    "names": package.names,
                    "rows": len(rows),
                    "suppressed": sum(1 for r in rows if r["suppressed"]),
                }
            )
            log.info(
                "package %s %s %s: %d values, %d suppressed",
                package.package_id,
                county,
                year,
                len(rows),
                listing[-1]["suppressed"],
            )
    finally:
        con.close()
    index = rendering.render(
        "packages_index.html",
        settings.reports / "packages" / "index.html",
        languages=LANGUAGES,
        text=_text(),
        packages=listing,
        folder=folder.name,
        county=names["county", county],
        year=year,
        min_cell=settings.min_cell_size,
        generated=generated,
    )
    return [*written, index]
