"""The demo's Sotkanet downloads (landing/sotkanet/): what a county's analyst downloads from THL's
Sotkanet REST API for the catalogue's indicators that have a Sotkanet id, in the API's own
format (sources/sotkanet.py reads it):

- ``regions.json`` (``/rest/1.1/regions``): the whole country (MAA, id 658, code 358, as
  Sotkanet has it), every wellbeing services county (HYVINVOINTIALUE) and the county's
  municipalities (KUNTA, by their municipality codes);
- ``indicator_<id>.json`` (``/rest/1.1/json?indicator=<id>&years=...&genders=total``): a
  value per region and year.

The values are synthetic, as the rest of the demo county is: the residents (Sotkanet 127)
of the county and its municipalities are the demo's own population files, so that the
comparison agrees where it must; the other indicators are a national level varied by county.
The ids of the counties and municipalities are the demo's; a real download has Sotkanet's.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from sotelake.settings import get_settings

COUNTRY = {
    "id": 658,
    "code": "358",
    "category": "MAA",
    "title": {"fi": "Koko maa", "sv": "Hela landet", "en": "Whole country"},
}
POPULATION_INDICATOR = 127
# A national level per indicator (per 1 000 residents), for the synthetic values
NATIONAL_LEVEL = {4123: 820.0, 5081: 310.0, 5077: 175.0}


def _reference(name: str) -> list[dict]:
    path = get_settings().dbt_project / "seeds" / "reference" / name
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _catalogue_ids() -> list[int]:
    path = get_settings().dbt_project / "seeds" / "indicator_definitions.csv"
    with open(path, encoding="utf-8", newline="") as f:
        return sorted({int(r["sotkanet_id"]) for r in csv.DictReader(f) if r["sotkanet_id"]})


def _residents_by_year(population: Path) -> dict[int, dict[str, int]]:
    """year -> municipality code -> residents, from the demo's population files."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path in sorted(population.glob("residents_*.csv")):
        with open(path, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter=";"):
                counts[int(row["year"])][row["municipality_code"]] += int(row["residents"])
    return counts


def write_downloads(county: str, population: Path, folder: Path, seed: int) -> dict[str, int]:
    """Write the downloads of the county (``population``: the folder of the demo's population
    files). Returns the records written per file."""
    rng = np.random.default_rng([seed, 2])  # its own: the other generated rows stay as they were
    residents_by_year = _residents_by_year(population)
    folder.mkdir(parents=True, exist_ok=True)
    counties = _reference("wellbeing_counties.csv")
    regions = [COUNTRY]
    county_ids = {}
    for number, row in enumerate(counties, start=1):
        county_ids[row["wellbeing_county"]] = 900 + number
        regions.append(
            {
                "id": 900 + number,
                "code": f"{number:02d}",
                "category": "HYVINVOINTIALUE",
                "title": {"fi": row["name_fi"], "sv": row["name_sv"]},
                "memberOf": [COUNTRY["id"]],
            }
        )
    members = [r for r in _reference("municipalities.csv") if r["wellbeing_county"] == county]
    for row in members:
        regions.append(
            {
                "id": 10_000 + int(row["municipality_code"]),
                "code": row["municipality_code"],
                "category": "KUNTA",
                "title": {"fi": row["name_fi"], "sv": row["name_sv"]},
                "memberOf": [county_ids[county]],
            }
        )
    written = {"regions.json": len(regions)}
    (folder / "regions.json").write_text(json.dumps(regions, ensure_ascii=False) + "\n", "utf-8")

    populations = defaultdict(int)
    for row in counties:
        populations[row["wellbeing_county"]] = int(row["population_2020_12_31"])
    years = sorted(residents_by_year)
    for indicator in _catalogue_ids():
        records = []
        for year in years:
            own = residents_by_year[year]
            if indicator == POPULATION_INDICATOR:
                values = {county_ids[c]: float(p) for c, p in populations.items()}
                values[county_ids[county]] = float(sum(own.values()))
                values[COUNTRY["id"]] = float(sum(values.values()))
                for code, count in own.items():
                    values[10_000 + int(code)] = float(count)
                records += [
                    {
                        "indicator": indicator,
                        "region": region,
                        "year": year,
                        "gender": "total",
                        "value": value,
                        "absValue": value,
                    }
                    for region, value in values.items()
                ]
                continue
            level = NATIONAL_LEVEL.get(indicator)
            if level is None:
                continue
            records.append(
                {
                    "indicator": indicator,
                    "region": COUNTRY["id"],
                    "year": year,
                    "gender": "total",
                    "value": level,
                }
            )
            for region in county_ids.values():
                value = round(level * rng.uniform(0.8, 1.2), 1)
                records.append(
                    {
                        "indicator": indicator,
                        "region": region,
                        "year": year,
                        "gender": "total",
                        "value": value,
                    }
                )
        name = f"indicator_{indicator}.json"
        (folder / name).write_text(json.dumps(records) + "\n", "utf-8")
        written[name] = len(records)
    return written
