"""FHIR R4 bulk-export reader (sotelake.sources.fhir) on a real third-party Synthea export.

The sample (tests/fixtures/fhir-bulk-sample, Apache-2.0, see its README.md) is US-shaped; the
Finnish identifiers are tested on a copy of one of its patients with them added.
"""

import copy
import gzip
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from support import FIXTURES

from sotelake.sources.fhir import (
    HETU_SYSTEM,
    MUNICIPALITY_EXTENSION_URL,
    MUNICIPALITY_SYSTEM,
    FhirPath,
    compile_path,
    read_resources,
    schema,
)
from sotelake.sources.registry import load_registry

SAMPLE = FIXTURES / "fhir-bulk-sample"
SNOMED = "http://snomed.info/sct"

PATIENT = {
    "id": "id",
    "gender": "gender",
    "birth_date": "birthDate",
    "deceased_at": "deceasedDateTime",
    "hetu": f"identifier[system={HETU_SYSTEM}].value",
    "municipality_code": f"extension[url={MUNICIPALITY_EXTENSION_URL}].valueCoding.code",
}
ENCOUNTER = {
    "id": "id",
    "status": "status",
    "patient": "subject.reference",
    "class_code": "class.code",
    "type": "type[0].coding[0].display",
    "start": "period.start",
    "end": "period.end",
    "reason": f"reasonCode.coding[system={SNOMED}].code",
}
CONDITION = {
    "id": "id",
    "patient": "subject.reference",
    "encounter": "encounter.reference",
    "code": f"code.coding[system={SNOMED}].code",
    "code_text": "code.text",
    "clinical_status": "clinicalStatus.coding[0].code",
    "onset": "onsetDateTime",
    "abatement": "abatementDateTime",
}


def read(folder: Path, resource_type: str, columns: dict[str, str], **kw) -> list[dict]:
    return pa.Table.from_batches(
        list(read_resources(folder, resource_type, columns, **kw)), schema=schema(columns)
    ).to_pylist()


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {row["id"]: row for row in rows}


def lines(resource_type: str) -> list[str]:
    return (SAMPLE / f"{resource_type}.000.ndjson").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(
    ("resource_type", "columns", "count"),
    [("Patient", PATIENT, 13), ("Encounter", ENCOUNTER, 1215), ("Condition", CONDITION, 555)],
)
def test_every_line_becomes_one_row(resource_type, columns, count):
    batches = list(read_resources(SAMPLE, resource_type, columns))
    assert all(b.schema.names == [*columns, "_source_file", "_parse_error"] for b in batches)
    assert all(t == pa.string() for b in batches for t in b.schema.types)
    rows = [row for b in batches for row in b.to_pylist()]
    assert len(rows) == count == len(lines(resource_type))
    assert len({row["id"] for row in rows}) == count
    assert {row["_source_file"] for row in rows} == {f"{resource_type}.000.ndjson"}
    assert all(row["_parse_error"] is None for row in rows)


def test_known_patients():
    rows = by_id(read(SAMPLE, "Patient", PATIENT))
    assert rows["129c6ac7-8d06-89de-ad63-0204a93e76c3"] == {
        "id": "129c6ac7-8d06-89de-ad63-0204a93e76c3",
        "gender": "female",
        "birth_date": "1927-05-21",
        "deceased_at": "1989-05-09T20:35:22-04:00",
        "hetu": None,  # US data: no henkilötunnus, no municipality
        "municipality_code": None,
        "_source_file": "Patient.000.ndjson",
        "_parse_error": None,
    }
    living = rows["63ee2253-bdd5-da55-2ad2-b4984d0ad700"]
    assert (living["gender"], living["birth_date"], living["deceased_at"]) == (
        "male",
        "2011-03-23",
        None,
    )


def test_known_encounters():
    rows = by_id(read(SAMPLE, "Encounter", ENCOUNTER))
    first = rows["00c7f717-4030-5582-2ed8-888ad2bc878e"]
    assert first["status"] == "finished"
    assert first["patient"] == "Patient/79a66c97-6131-3213-f3c9-4606946ab056"
    assert first["class_code"] == "AMB"
    assert first["type"] == "Encounter for problem (procedure)"
    assert (first["start"], first["end"]) == (
        "1989-10-04T02:25:16-04:00",
        "1989-10-04T06:20:16-04:00",
    )
    assert first["reason"] == "46177005"  # End-stage renal disease
    inpatient = rows["02431a0e-d934-755d-345d-f4d6324cfb98"]
    assert inpatient["class_code"] == "IMP"
    assert inpatient["patient"] == "Patient/129c6ac7-8d06-89de-ad63-0204a93e76c3"
    assert inpatient["end"] == "1988-03-21T07:48:16-05:00"
    classes = {row["class_code"] for row in rows.values()}
    assert classes == {"AMB", "IMP", "EMER", "HH", "VR"}
    assert sum(row["reason"] is not None for row in rows.values()) == 696


def test_known_conditions():
    rows = by_id(read(SAMPLE, "Condition", CONDITION))
    sepsis = rows["0023b3a7-2ded-840c-ee5b-6b123fdcfb0b"]
    assert sepsis == {
        "id": "0023b3a7-2ded-840c-ee5b-6b123fdcfb0b",
        "patient": "Patient/129c6ac7-8d06-89de-ad63-0204a93e76c3",
        "encounter": "Encounter/f6003197-6507-1168-87be-ceccd5517094",
        "code": "91302008",
        "code_text": "Sepsis (disorder)",
        "clinical_status": "active",
        "onset": "1976-01-19T22:58:16-05:00",
        "abatement": None,
        "_source_file": "Condition.000.ndjson",
        "_parse_error": None,
    }
    resolved = rows["ff9c594d-f429-0fcc-8c07-6ae73273cffe"]
    assert (resolved["code"], resolved["clinical_status"], resolved["abatement"]) == (
        "706893006",
        "resolved",
        "1983-12-17T23:37:08-05:00",
    )


def test_path_language():
    patient = json.loads(lines("Patient")[0])
    assert compile_path("identifier[system=http://hl7.org/fhir/sid/us-ssn].value")(patient) == (
        "999-94-5397"
    )
    assert compile_path("identifier[1].type.coding[0].code")(patient) == "MR"
    assert compile_path("name.family")(patient) == "Medhurst46"  # first match wins
    assert compile_path("name[1].family")(patient) == "Cummerata161"
    assert compile_path("name.given[0]")(patient) == "Sumiko254"
    assert compile_path("name.given")(patient) == '["Sumiko254","Larue605"]'  # list as JSON
    assert compile_path("meta")(patient) == (
        '{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]}'
    )
    assert compile_path("extension.valueDecimal")(patient) == "3.8227768159088433"
    assert compile_path("multipleBirthBoolean")(patient) == "false"
    assert compile_path("identifier[system=nope].value")(patient) is None
    assert compile_path("contact.name.family")(patient) is None
    assert compile_path("name[5].family")(patient) is None
    assert compile_path("gender.code")(patient) is None  # a name on a string reaches nothing
    assert compile_path("id") is compile_path("id")  # parsed once


def test_paths_of_names_read_the_same_without_the_steps():
    """A path of names only is read by walking the objects (faster); it gives what the steps
    give, on every resource of the sample and every path the registry and these tests use."""
    paths = {"name.family", "name.given", "meta", "extension.valueDecimal", "gender.code"}
    paths |= {"contact.name.family", "multipleBirthBoolean", "address.city", "code.text"}
    for table in load_registry()["purchased_services"].tables.values():
        paths |= {c.path for c in table.kept_columns}
    for resource_type in ("Patient", "Encounter", "Condition"):
        for line in lines(resource_type):
            resource = json.loads(line)
            for path in paths:
                fast, stepped = FhirPath(path), FhirPath(path)
                stepped.names = None  # the steps only
                assert fast(resource) == stepped(resource), (resource_type, path)
    for bad in ["", ".id", "id.", "[0]", "a..b", "a[x]", "a[0", "a b", "a[0]b"]:
        with pytest.raises(ValueError, match="FHIR path"):
            FhirPath(bad)


def test_finnish_identifiers(tmp_path):
    patient = json.loads(lines("Patient")[0])
    finnish = copy.deepcopy(patient)
    finnish["id"] = "finnish-1"
    finnish["identifier"].append(
        {
            "use": "official",
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NNFIN"}
                ]
            },
            "system": HETU_SYSTEM,
            "value": "131052-308T",
        }
    )
    finnish["extension"].append(
        {
            "url": MUNICIPALITY_EXTENSION_URL,
            "valueCoding": {
                "system": MUNICIPALITY_SYSTEM,
                "version": "2003",
                "code": "091",
                "display": "Helsinki",
            },
        }
    )
    (tmp_path / "Patient.000.ndjson").write_text(
        json.dumps(patient) + "\n" + json.dumps(finnish, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    columns = {
        **PATIENT,
        "municipality_system": f"extension[url={MUNICIPALITY_EXTENSION_URL}].valueCoding.system",
    }
    rows = by_id(read(tmp_path, "Patient", columns))
    assert rows["finnish-1"]["hetu"] == "131052-308T"
    assert rows["finnish-1"]["municipality_code"] == "091"
    assert rows["finnish-1"]["municipality_system"] == "urn:oid:1.2.246.537.6.21"
    assert rows["finnish-1"]["birth_date"] == "1927-05-21"
    us = rows[patient["id"]]
    assert (us["hetu"], us["municipality_code"], us["municipality_system"]) == (None, None, None)


def test_broken_lines_are_rows_with_parse_error(tmp_path):
    text = lines("Patient")
    good_ids = [json.loads(line)["id"] for line in text]
    truncated = text[3][: len(text[3]) // 2]  # line 4 cut in the middle
    wrong_type = lines("Condition")[0]
    body = [*text[:3], truncated, *text[4:], wrong_type, "", "[1, 2]"]
    (tmp_path / "Patient.000.ndjson").write_text("\n".join(body) + "\n", encoding="utf-8")

    rows = read(tmp_path, "Patient", PATIENT)
    assert len(rows) == 15  # 12 good, truncated, Condition, array; the blank line is no row
    errors = [row for row in rows if row["_parse_error"]]
    assert [e["_parse_error"].split(": ")[0] for e in errors] == [
        "Patient.000.ndjson:4",
        "Patient.000.ndjson:14",
        "Patient.000.ndjson:16",
    ]
    assert "invalid JSON" in errors[0]["_parse_error"]
    assert "resourceType 'Condition'" in errors[1]["_parse_error"]
    assert "not a JSON object" in errors[2]["_parse_error"]
    assert all(e[c] is None for e in errors for c in PATIENT)
    assert all(e["_source_file"] == "Patient.000.ndjson" for e in errors)
    loaded = [row["id"] for row in rows if not row["_parse_error"]]
    assert loaded == good_ids[:3] + good_ids[4:]


def test_batches_stream_with_the_same_total():
    batches = list(read_resources(SAMPLE, "Encounter", ENCOUNTER, batch_rows=100))
    assert [b.num_rows for b in batches] == [100] * 12 + [15]
    one = pa.Table.from_batches(list(read_resources(SAMPLE, "Encounter", ENCOUNTER)))
    assert pa.Table.from_batches(batches).equals(one)
    with pytest.raises(ValueError):
        next(read_resources(SAMPLE, "Encounter", ENCOUNTER, batch_rows=0))


def test_files_in_name_order_gzip_and_other_types_ignored(tmp_path):
    shutil.copy(SAMPLE / "Condition.000.ndjson", tmp_path / "Condition.001.ndjson")
    with gzip.open(tmp_path / "Condition.000.ndjson.gz", "wb") as out:
        out.write((SAMPLE / "Condition.000.ndjson").read_bytes())
    shutil.copy(SAMPLE / "Patient.000.ndjson", tmp_path / "Patient.000.ndjson")
    (tmp_path / "ConditionExtra.000.ndjson").write_text("not read\n")
    rows = read(tmp_path, "Condition", {"id": "id"}, batch_rows=200)
    assert len(rows) == 2 * 555
    assert [r["_source_file"] for r in rows] == ["Condition.000.ndjson.gz"] * 555 + [
        "Condition.001.ndjson"
    ] * 555
    assert all(r["_parse_error"] is None for r in rows)
    assert list(read_resources(tmp_path, "Encounter", {"id": "id"})) == []


def test_reserved_column_names_are_refused():
    with pytest.raises(ValueError, match="reserved"):
        next(read_resources(SAMPLE, "Patient", {"_source_file": "id"}))
