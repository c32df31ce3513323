"""A legacy municipal record system, used by some municipalities until a cut-over date.

Its primary care visits arrive as monthly export files per municipality, in the dialect such
systems write: ``;`` separated, decimal comma, dd.mm.yyyy dates, and Windows-1252 or UTF-8 with a
byte-order mark depending on the municipality. Its schema and codes differ from the unified
system: one flat row per visit with the henkilötunnus and the name on it, professions and
contact types as words.

    landing/legacy_record/kaynnit_<municipality code>_<YYYY-MM>.csv
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import numpy as np

from sotelake.demo import codes
from sotelake.demo.world import Columns, World

# Suupohja (southern Pohjanmaa) used its own system until the cut-over in this demo.
LEGACY_MUNICIPALITIES = {"PO": {"231", "280", "287", "545"}}
# Windows-1252 for the Swedish-speaking ones' old server, UTF-8 with BOM for the others.
ENCODING = {"280": "cp1252", "545": "cp1252"}
COLUMNS = [
    "HETU",
    "NIMI",
    "KUNTA",
    "KAYNTIPVM",
    "KLO",
    "AMMATTI",
    "YHTEYSTAPA",
    "KIIREELLISYYS",
    "TOIMIPISTE",
    "KESTO_H",
    "DIAGNOOSI",
]
PROFESSION = {codes.PHYSICIAN: "LÄÄKÄRI", codes.NURSE: "SAIRAANHOITAJA"}
CONTACT = {
    codes.CONTACT_AT_RECEPTION: "VASTAANOTTO",
    codes.CONTACT_PHONE: "PUHELIN",
    codes.CONTACT_VIDEO: "ETÄVASTAANOTTO",
    codes.CONTACT_DIGITAL: "SÄHKÖINEN ASIOINTI",
}
URGENCY = {codes.URGENT: "K", codes.NON_URGENT: "E"}


def legacy_municipalities(world: World) -> set[str]:
    """The county's municipalities on the legacy system (default: its three smallest)."""
    if world.county in LEGACY_MUNICIPALITIES:
        return LEGACY_MUNICIPALITIES[world.county]
    return {m.code for m in sorted(world.municipalities, key=lambda m: m.population_2020)[:3]}


def write_legacy_files(world: World, visits: Columns, folder: Path) -> dict[str, int]:
    """One file per municipality and month; returns rows per file."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = world.rng
    names = {m.code: m.name_fi for m in world.municipalities}
    unit_municipality = {u.unit_id: u.municipality for u in world.units}
    municipality = np.array([unit_municipality[u] for u in visits["unit_id"]])
    month = visits["start"].astype("datetime64[M]")
    duration = np.where(visits["professional_group"] == codes.PHYSICIAN, 0.33, 0.5)
    duration = duration * rng.choice([0.5, 1.0, 1.5, 2.0], size=len(duration))
    physician = visits["professional_group"] == codes.PHYSICIAN
    diagnosis = np.where(
        physician,
        rng.choice(codes.ICD10, size=len(physician)),
        rng.choice(codes.ICPC2, size=len(physician)),
    )
    written: dict[str, int] = {}
    # The legacy system keys a visit by person, time, unit, profession and contact type: it
    # holds one of two generated visits that collide on all of them (rare: large demos only).
    seen: set[tuple] = set()
    for code in sorted(set(municipality.tolist())):
        for m in sorted(set(month[municipality == code].tolist())):
            rows = np.flatnonzero((municipality == code) & (month == np.datetime64(m, "M")))
            path = folder / f"kaynnit_{code}_{m:%Y-%m}.csv"
            encoding = ENCODING.get(code, "utf-8-sig")
            with open(path, "w", encoding=encoding, newline="") as f:
                out = csv.writer(f, delimiter=";", lineterminator="\r\n")
                out.writerow(COLUMNS)
                kept = 0
                for i in rows.tolist():
                    start = visits["start"][i].astype(object)
                    person = visits["person"][i]
                    # the patient's municipality of residence on the day of the visit
                    home = world.residents.municipality_on([person], [start.date()])[0]
                    key = (
                        person,
                        f"{start:%Y-%m-%d %H:%M}",
                        visits["professional_group"][i],
                        visits["contact_type"][i],
                    )
                    if key in seen:
                        continue
                    seen.add(key)
                    kept += 1
                    out.writerow(
                        [
                            world.residents.hetu[person],
                            f"Potilas {person % 997}",
                            home,
                            f"{start:%d.%m.%Y}",
                            f"{start:%H:%M}",
                            PROFESSION[visits["professional_group"][i]],
                            CONTACT[visits["contact_type"][i]],
                            URGENCY[visits["urgency"][i]],
                            f"{names[code].upper()} TK",
                            f"{duration[i]:.2f}".replace(".", ","),
                            diagnosis[i],
                        ]
                    )
            written[path.name] = kept
    return written


def cutover_date(world: World) -> date:
    """The legacy municipalities moved to the unified system on the first of April."""
    return date(world.period_start.year, 4, 1)
