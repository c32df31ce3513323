"""The FHIR bulk-export source on real third-party data (Synthea's sample, tests/fixtures)."""

import json
import shutil
from datetime import date

import pyarrow.parquet as pq
import pytest
from support import FIXTURES

from sotelake.lake import zones
from sotelake.lake.load import load_table
from sotelake.settings import get_settings
from sotelake.sources.fhir import HETU_SYSTEM, MUNICIPALITY_EXTENSION_URL, MUNICIPALITY_SYSTEM
from sotelake.sources.registry import load_registry

SAMPLE = FIXTURES / "fhir-bulk-sample"
DAY = date(2026, 1, 1)


@pytest.fixture
def fhir_landing(tmp_path, monkeypatch):
    """The sample delivered where the registry's purchased_services source looks for it."""
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    folder = tmp_path / "landing" / "purchased_services"
    folder.mkdir(parents=True)
    for name in ("Patient.000.ndjson", "Encounter.000.ndjson", "Condition.000.ndjson"):
        shutil.copy(SAMPLE / name, folder / name)
    return folder, load_registry()["purchased_services"]


def raw(table: str) -> list[dict]:
    path = zones.partition(get_settings().lake, zones.RAW, "purchased_services", table, DAY)
    return pq.read_table(path).to_pylist()


def test_every_resource_of_the_sample_lands_in_raw(fhir_landing):
    _, source = fhir_landing
    counts = {
        name: load_table(source, table, DAY, b"k" * 32) for name, table in source.tables.items()
    }
    assert {n: (r.extracted, r.loaded, r.quarantined) for n, r in counts.items()} == {
        "patients": (13, 13, 0),
        "encounters": (1215, 1215, 0),
        "conditions": (555, 555, 0),
    }
    patients = raw("patients")
    assert all(p["person_pseudonym"] is None for p in patients), "US data: no henkilötunnus"
    assert {"name", "address", "telecom"}.isdisjoint(patients[0])
    encounters = raw("encounters")
    assert all(e["patient_ref"].startswith(("Patient/", "urn:uuid:")) for e in encounters)
    assert {e["class_code"] for e in encounters} >= {"AMB"}


def test_finnish_identifiers_are_pseudonymised_and_the_municipality_read(fhir_landing):
    folder, source = fhir_landing
    lines = (folder / "Patient.000.ndjson").read_text(encoding="utf-8").splitlines()
    finnish = json.loads(lines[0])
    finnish["identifier"] = [{"system": HETU_SYSTEM, "value": "131052-308T"}]
    finnish["extension"] = [
        {
            "url": MUNICIPALITY_EXTENSION_URL,
            "valueCoding": {"system": MUNICIPALITY_SYSTEM, "code": "905"},
        }
    ]
    invalid = json.loads(lines[1])
    invalid["identifier"] = [{"system": HETU_SYSTEM, "value": "131052-308U"}]  # bad checksum
    (folder / "Patient.000.ndjson").write_text(
        "\n".join([json.dumps(finnish), json.dumps(invalid), *lines[2:], "{broken"]) + "\n",
        encoding="utf-8",
    )
    result = load_table(source, source.tables["patients"], DAY, b"k" * 32)
    assert (result.extracted, result.loaded, result.quarantined) == (14, 12, 2)
    assert result.reasons == {"hetu_bad_checksum": 1, "parse_error": 1}
    rows = {r["id"]: r for r in raw("patients")}
    assert rows[finnish["id"]]["municipality_code"] == "905"
    assert len(rows[finnish["id"]]["person_pseudonym"]) == 32
    assert rows[finnish["id"]]["person_birth_year"] == 1952
    text = " ".join(json.dumps(r, default=str) for r in rows.values())
    assert "131052-308T" not in text


def test_a_truncated_or_empty_export_file_is_set_aside_whole(fhir_landing):
    folder, source = fhir_landing
    text = (folder / "Encounter.000.ndjson").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    cut = "".join(lines[:19]) + lines[19][: len(lines[19]) // 2]  # ends inside a resource
    (folder / "Encounter.001.ndjson").write_text(cut, encoding="utf-8")
    (folder / "Condition.001.ndjson").write_bytes(b"")
    encounters = load_table(source, source.tables["encounters"], DAY, b"k" * 32)
    conditions = load_table(source, source.tables["conditions"], DAY, b"k" * 32)
    assert (encounters.extracted, encounters.loaded, encounters.quarantined) == (1215, 1215, 0)
    assert list(encounters.rejected_files) == ["Encounter.001.ndjson"]
    assert encounters.rejected_files["Encounter.001.ndjson"].startswith(
        "truncated: the last line ends inside a resource"
    )
    assert encounters.source_files == ["Encounter.000.ndjson"]
    assert conditions.loaded == 555 and list(conditions.rejected_files) == ["Condition.001.ndjson"]
    # the files set aside are named <time of setting aside>_<file>: compare without the time,
    # which may cross a second between the two loads
    aside = sorted(p.name.split("_", 1)[1] for p in (folder / "_rejected").iterdir())
    assert aside == [
        "Condition.001.ndjson",
        "Condition.001.ndjson.reason.txt",
        "Encounter.001.ndjson",
        "Encounter.001.ndjson.reason.txt",
    ]
    assert not (folder / "Encounter.001.ndjson").exists()
