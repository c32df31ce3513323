"""The demo region's real geography: a wellbeing county's municipalities, from reference data."""

from __future__ import annotations

import csv
from dataclasses import dataclass

from sotelake.settings import get_settings

# Approximate language shares of the residents (fi, sv, other) for the bilingual Pohjanmaa
# county, rounded from Statistics Finland's 2020 figures; demo data only. Other counties use
# DEFAULT_LANGUAGE_SHARES.
LANGUAGE_SHARES = {
    "231": (0.66, 0.29, 0.05),  # Kaskinen / Kaskö
    "280": (0.13, 0.81, 0.06),  # Korsnäs
    "287": (0.40, 0.54, 0.06),  # Kristiinankaupunki / Kristinestad
    "288": (0.27, 0.71, 0.02),  # Kruunupyy / Kronoby
    "399": (0.97, 0.01, 0.02),  # Laihia / Laihela
    "440": (0.11, 0.87, 0.02),  # Luoto / Larsmo
    "475": (0.10, 0.84, 0.06),  # Maalahti / Malax
    "499": (0.29, 0.67, 0.04),  # Mustasaari / Korsholm
    "545": (0.08, 0.79, 0.13),  # Närpiö / Närpes
    "598": (0.39, 0.53, 0.08),  # Pietarsaari / Jakobstad
    "599": (0.07, 0.88, 0.05),  # Pedersören kunta / Pedersöre
    "893": (0.09, 0.86, 0.05),  # Uusikaarlepyy / Nykarleby
    "905": (0.68, 0.22, 0.10),  # Vaasa / Vasa
    "946": (0.17, 0.80, 0.03),  # Vöyri / Vörå
}
DEFAULT_LANGUAGE_SHARES = (0.92, 0.02, 0.06)


@dataclass(frozen=True)
class Municipality:
    code: str
    name_fi: str
    name_sv: str
    population_2020: int
    language_shares: tuple[float, float, float]


def county_municipalities(county: str) -> list[Municipality]:
    """The municipalities of a wellbeing county (code such as ``PO``), in code order."""
    path = get_settings().dbt_project / "seeds" / "reference" / "municipalities.csv"
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["wellbeing_county"] == county]
    if not rows:
        raise ValueError(f"No municipalities for wellbeing county {county!r} in {path}")
    return [
        Municipality(
            code=r["municipality_code"],
            name_fi=r["name_fi"],
            name_sv=r["name_sv"],
            population_2020=int(r["population_2020_12_31"]),
            language_shares=LANGUAGE_SHARES.get(r["municipality_code"], DEFAULT_LANGUAGE_SHARES),
        )
        for r in sorted(rows, key=lambda r: r["municipality_code"])
    ]
