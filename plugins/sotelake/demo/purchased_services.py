"""A private provider of purchased services (palveluseteli, service voucher) reporting in FHIR.

The provider sends HL7 FHIR R4 bulk-export files (NDJSON) profiled on HL7 Finland's Finnish
Base Profiles: the patient's henkilötunnus as an identifier with system ``urn:oid:1.2.246.21``
and the home municipality in the MunicipalityCode extension; one Encounter per visit and a
Condition per diagnosis, one export part per month:

    landing/purchased_services/Patient.000.ndjson
    landing/purchased_services/Encounter.YYYY-MM.ndjson, Condition.YYYY-MM.ndjson
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sotelake.demo import codes
from sotelake.demo.world import World, at_time
from sotelake.sources.fhir import HETU_SYSTEM, MUNICIPALITY_EXTENSION_URL, MUNICIPALITY_SYSTEM

VISITS_PER_RESIDENT = 0.08  # physician visits bought with service vouchers, per year
PROVIDER = "Organization/demo-provider-1"


def generate(world: World, folder: Path) -> dict[str, int]:
    rng = world.rng
    n = len(world.residents)
    person = np.repeat(np.arange(n), rng.poisson(VISITS_PER_RESIDENT * world.years, size=n))
    day = world.random_days(len(person))
    keep = world.born_by(person, day)
    person, start = person[keep], at_time(day[keep], rng)
    order = np.argsort(start, kind="stable")
    person, start = person[order], start[order]
    folder.mkdir(parents=True, exist_ok=True)
    residents = world.residents
    patients = sorted(set(person.tolist()))
    with open(folder / "Patient.000.ndjson", "w", encoding="utf-8") as f:
        for p in patients:
            resource = {
                "resourceType": "Patient",
                "id": f"pat-{p}",
                "identifier": [
                    {
                        "use": "official",
                        "system": HETU_SYSTEM,
                        "type": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                    "code": "NNFIN",
                                }
                            ]
                        },
                        "value": residents.hetu[p],
                    }
                ],
                "name": [{"family": "Asiakas", "given": [f"Demo{p % 97}"]}],
                "gender": "male" if residents.sex[p] == 1 else "female",
                "birthDate": str(residents.birth_date[p]),
                "extension": [
                    {
                        "url": MUNICIPALITY_EXTENSION_URL,
                        "valueCoding": {
                            "system": MUNICIPALITY_SYSTEM,
                            "code": residents.municipality[p],
                        },
                    }
                ],
            }
            f.write(json.dumps(resource, ensure_ascii=False) + "\n")
    month = start.astype("datetime64[M]")
    counts = {"patients": len(patients), "encounters": 0, "conditions": 0}
    for m in sorted(set(month.tolist())):
        rows = np.flatnonzero(month == np.datetime64(m, "M"))
        with (
            open(folder / f"Encounter.{m:%Y-%m}.ndjson", "w", encoding="utf-8") as enc,
            open(folder / f"Condition.{m:%Y-%m}.ndjson", "w", encoding="utf-8") as cond,
        ):
            for i in rows.tolist():
                visit = f"enc-{i + 1}"
                begin = start[i].astype(object)
                enc.write(
                    json.dumps(
                        {
                            "resourceType": "Encounter",
                            "id": visit,
                            "status": "finished",
                            "class": {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                "code": "AMB",
                            },
                            "type": [
                                {
                                    "coding": [
                                        {
                                            "system": "urn:oid:1.2.246.537.6.125.2008",
                                            "code": codes.SERVICE_PRIMARY_CARE,
                                        }
                                    ]
                                }
                            ],
                            "subject": {"reference": f"Patient/pat-{person[i]}"},
                            "period": {
                                "start": f"{begin:%Y-%m-%dT%H:%M:%S}"
                                + ("+03:00" if 4 <= begin.month <= 10 else "+02:00")
                            },
                            "serviceProvider": {"reference": PROVIDER},
                        }
                    )
                    + "\n"
                )
                cond.write(
                    json.dumps(
                        {
                            "resourceType": "Condition",
                            "id": f"con-{i + 1}",
                            "subject": {"reference": f"Patient/pat-{person[i]}"},
                            "encounter": {"reference": f"Encounter/{visit}"},
                            "code": {
                                "coding": [
                                    {
                                        "system": "http://hl7.org/fhir/sid/icd-10",
                                        "code": str(rng.choice(codes.ICD10)),
                                    }
                                ]
                            },
                            "recordedDate": f"{begin:%Y-%m-%d}",
                        }
                    )
                    + "\n"
                )
        counts["encounters"] += len(rows)
        counts["conditions"] += len(rows)
    return counts
