"""Generate the demo region: a real county's source systems, deterministic from a seed.

Output (under the data directory):

- ``sources/unified_record.sqlite``: the unified client/patient record system;
- ``landing/legacy_record/``: visit exports of the legacy municipal system (until cut-over);
- ``landing/finance/``: monthly general-ledger exports, the budget, the cost-centre mapping;
- ``landing/hr/``: person-years and sick-leave days by cost centre and month;
- ``landing/purchased_services/``: a service-voucher provider's FHIR bulk export (NDJSON);
- ``landing/population/residents_YYYY.csv``: residents on 31 December by municipality, age, sex;
- ``landing/sotkanet/``: Sotkanet downloads for the national comparison (synthetic values);
- ``sources/demo_manifest.json``: what was generated (seed, scale, period, rows per table).

Everything is a function of (county, residents, start year, years, seed): the same arguments
give the same rows.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from sotelake.demo import faults, finance, legacy_system, purchased_services, sotkanet_downloads
from sotelake.demo.geography import county_municipalities
from sotelake.demo.population import add_moves, generate_residents
from sotelake.demo.record_system import generate_record_system
from sotelake.demo.world import World

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSpec:
    county: str = "PO"  # Pohjanmaa / Österbotten: bilingual, 14 municipalities
    residents: int = 20_000
    start_year: int = 2025
    years: int = 1
    seed: int = 42
    invalid_hetu_rate: float = 0.002  # share of patients whose henkilötunnus was mistyped
    moving_rate: float = 0.02  # share of residents a year who moved within the county
    faults: dict = field(default_factory=dict)  # fault -> rate (demo/faults.py); none by default

    @property
    def period_start(self) -> date:
        return date(self.start_year, 1, 1)

    @property
    def period_end(self) -> date:
        return date(self.start_year + self.years - 1, 12, 31)


def write_population(residents, spec: DemoSpec, folder: Path) -> dict[str, int]:
    """Residents on 31 December of each year (Statistics Finland's population table shape)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for year in range(spec.start_year, spec.start_year + spec.years):
        year_end = date(year, 12, 31)
        born = residents.birth_date <= np.datetime64(year_end)
        age = np.minimum(residents.age_at(year_end)[born], 100)
        people = np.flatnonzero(born)
        home = residents.municipality_on(people, np.full(len(people), np.datetime64(year_end)))
        keys = np.rec.fromarrays([home, age, residents.sex[born]])
        counts: dict[tuple, int] = {}
        for key in keys.tolist():
            counts[key] = counts.get(key, 0) + 1
        path = folder / f"residents_{year}.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f, delimiter=";", lineterminator="\n")
            out.writerow(["year", "municipality_code", "age", "sex", "residents"])
            for (municipality, a, sex), n in sorted(counts.items()):
                out.writerow([year, municipality, a, sex, n])
        written[path.name] = len(counts)
    return written


# The parts of generate() that report their end to its ``progress`` (sotelake demo's bar)
GENERATION_STEPS = 8


def generate(spec: DemoSpec, data_dir: Path, progress: Callable[[str], None] | None = None) -> dict:
    """Generate every demo source under ``data_dir``; replaces an earlier demo there.
    ``progress``, when given, is called with the name of each part as it is done."""
    done = progress or (lambda part: None)
    started = time.perf_counter()
    rng = np.random.default_rng(spec.seed)
    sources, landing = data_dir / "sources", data_dir / "landing"
    for folder in (sources, landing):
        shutil.rmtree(folder, ignore_errors=True)
    municipalities = county_municipalities(spec.county)
    residents = generate_residents(
        rng, municipalities, spec.residents, spec.period_end, spec.invalid_hetu_rate
    )
    # moves have a generator of their own, so that adding them left the other rows as they were
    moved = add_moves(
        np.random.default_rng([spec.seed, 1]),
        residents,
        municipalities,
        spec.period_start,
        spec.period_end,
        spec.moving_rate,
    )
    log.info(
        "generated %d residents of %d municipalities (%d moved within the county)",
        len(residents),
        len(municipalities),
        moved,
    )
    done("residents")
    world = World(rng, spec.county, municipalities, residents, spec.period_start, spec.period_end)
    legacy = legacy_system.legacy_municipalities(world)
    cutover = legacy_system.cutover_date(world)
    # disability services and adult social work have a generator of their own too, and so do
    # oral health and mental health and substance abuse services and the visits' professionals
    record_rows, legacy_visits = generate_record_system(
        world,
        sources / "unified_record.sqlite",
        legacy,
        cutover,
        np.random.default_rng([spec.seed, 2]),
        np.random.default_rng([spec.seed, 3]),
        np.random.default_rng([spec.seed, 22]),  # professionals and emergency returns
    )
    log.info("record system: %s", record_rows)
    done("record system")
    legacy_rows = legacy_system.write_legacy_files(world, legacy_visits, landing / "legacy_record")
    done("legacy exports")
    finance_rows = finance.generate(world, landing)
    done("ledger, budget and HR")
    purchased_rows = purchased_services.generate(world, landing / "purchased_services")
    done("purchased services (FHIR)")
    population_rows = write_population(residents, spec, landing / "population")
    done("population")
    sotkanet_rows = sotkanet_downloads.write_downloads(
        spec.county, landing / "population", landing / "sotkanet", spec.seed
    )
    done("Sotkanet downloads")
    manifest = {
        "spec": asdict(spec),
        "period": [spec.period_start.isoformat(), spec.period_end.isoformat()],
        "extraction_day": (spec.period_end + timedelta(days=1)).isoformat(),
        "legacy": {
            "municipalities": sorted(legacy),
            "cutover": cutover.isoformat(),
            "visits": sum(legacy_rows.values()),
            "files": len(legacy_rows),
        },
        "rows": {
            "unified_record": record_rows,
            "legacy_record": {"visits": sum(legacy_rows.values())},
            "purchased_services": purchased_rows,
            "finance": finance_rows,
            "population": {
                "residents": sum(population_rows.values()),
                "files": len(population_rows),
            },
            "sotkanet": sotkanet_rows,
        },
        "invalid_hetu": int((~residents.hetu_valid).sum()),
        "moved": moved,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if spec.faults:
        manifest["faults"] = faults.inject(data_dir, spec.faults, spec.seed)
        log.info("injected faults: %s", manifest["faults"])
    done("faults" if spec.faults else "no faults to inject")
    (sources / "demo_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
