"""Extraction into the raw lake: typing, pseudonymisation, quarantine, idempotent partitions."""

import json
import shutil
from datetime import date

import pyarrow.parquet as pq
import pytest
from sotelake.demo.generate import DemoSpec, generate
from sotelake.lake import zones
from sotelake.lake.load import load_table
from sotelake.settings import get_settings
from sotelake.sources.readers import SourceSchemaError
from sotelake.sources.registry import ConfigurationError, load_registry
from stdnum.fi import hetu as stdnum_hetu

KEY = b"x" * 32
DAY = date(2026, 2, 1)


@pytest.fixture
def demo(tmp_path, monkeypatch):
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    manifest = generate(DemoSpec(residents=1_500, seed=5), tmp_path)
    registry = load_registry()
    return tmp_path, manifest, registry


def raw_rows(lake, source, table, day=DAY):
    return pq.read_table(zones.partition(lake, zones.RAW, source, table, day)).to_pylist()


def quarantined(lake, source, table, day=DAY):
    return pq.read_table(zones.partition(lake, zones.QUARANTINE, source, table, day)).to_pylist()


def test_patients_are_pseudonymised_and_invalid_codes_quarantined(demo):
    data_dir, manifest, registry = demo
    source = registry["unified_record"]
    result = load_table(source, source.tables["patients"], DAY, KEY)
    lake = get_settings().lake
    rows = raw_rows(lake, "unified_record", "patients")
    assert result.extracted == 1_500
    assert result.quarantined == manifest["invalid_hetu"] > 0
    assert result.loaded == len(rows) == 1_500 - manifest["invalid_hetu"]
    assert {"hetu", "first_name", "last_name", "street_address", "phone"}.isdisjoint(rows[0])
    assert {
        "person_pseudonym",
        "person_birth_year",
        "person_sex",
        "_load_id",
        "_source_system",
        "_extracted_at",
        "_source_file",
    } <= set(rows[0])
    assert all(len(r["person_pseudonym"]) == 32 for r in rows)
    bad = quarantined(lake, "unified_record", "patients")
    assert len(bad) == manifest["invalid_hetu"]
    assert {r["reason"] for r in bad} <= {
        "hetu_bad_checksum",
        "hetu_bad_format",
        "hetu_bad_date_or_number",
    }
    for row in bad:
        record = json.loads(row["row_json"])
        assert record["hetu"].startswith("<withheld")
        assert "patient_id" in record and not stdnum_hetu.is_valid(record["hetu"])
    audit = pq.read_table(zones.dq_file(lake, "load_audit", "unified_record", "patients", DAY))
    assert audit.to_pylist()[0]["extracted"] == 1_500


def test_rerunning_a_load_replaces_its_partition(demo):
    _, _, registry = demo
    source = registry["unified_record"]
    lake = get_settings().lake
    first = load_table(source, source.tables["visits"], DAY, KEY)
    second = load_table(source, source.tables["visits"], DAY, KEY)
    partition = zones.partition(lake, zones.RAW, "unified_record", "visits", DAY)
    files = list(partition.glob("*.parquet"))
    assert len(files) == 1 and files[0].stem == second.load_id != first.load_id
    assert len(raw_rows(lake, "unified_record", "visits")) == first.loaded == second.loaded
    assert not any((lake / "_tmp").iterdir()), "scratch folders are cleaned up"


def test_bad_values_in_a_ledger_file_are_quarantined_with_the_row(demo):
    data_dir, _, registry = demo
    path = data_dir / "landing" / "finance" / "gl_2025-03.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(";")
    broken = lines[1].split(";")
    broken[header.index("amount")] = "12,34,5"  # not a number
    lines[1] = ";".join(broken)
    missing = lines[2].split(";")
    missing[header.index("cost_centre")] = ""
    lines[2] = ";".join(missing)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = registry["finance"]
    result = load_table(source, source.tables["ledger_postings"], DAY, KEY)
    assert result.quarantined == 2 and result.extracted == result.loaded + 2
    bad = {r["reason"]: r for r in quarantined(get_settings().lake, "finance", "ledger_postings")}
    assert set(bad) == {"bad_type", "missing"}
    assert bad["bad_type"]["reasons"] == "bad_type:amount"
    assert json.loads(bad["bad_type"]["row_json"])["amount"] == "12,34,5"
    assert bad["missing"]["_source_file"] == "gl_2025-03.csv"
    good = raw_rows(get_settings().lake, "finance", "ledger_postings")
    assert {r["_source_file"] for r in good} == {f"gl_2025-{m:02d}.csv" for m in range(1, 13)}
    assert all(isinstance(r["posting_date"], date) for r in good)


def test_a_file_without_a_declared_column_fails_naming_file_and_column(demo):
    data_dir, _, registry = demo
    folder = data_dir / "landing" / "population"
    path = next(folder.glob("residents_*.csv"))
    text = path.read_text(encoding="utf-8").replace("residents\n", "inhabitants\n", 1)
    path.write_text(text, encoding="utf-8")
    source = registry["population"]
    with pytest.raises(
        SourceSchemaError, match=r"residents_\*\.csv lacks column\(s\) \['residents'\]"
    ):
        load_table(source, source.tables["residents"], DAY, KEY)
    assert not zones.partition(
        get_settings().lake, zones.RAW, "population", "residents", DAY
    ).exists()


def test_no_files_is_no_data_not_an_error(demo):
    data_dir, _, registry = demo
    shutil.rmtree(data_dir / "landing" / "finance")
    source = registry["finance"]
    result = load_table(source, source.tables["ledger_postings"], DAY, KEY)
    assert result.status == "no_data" and result.extracted == 0


def test_registry_errors_name_the_place(tmp_path):
    bad = tmp_path / "sources.yml"
    bad.write_text(
        "sources:\n  s:\n    kind: database\n    tables:\n      t:\n"
        "        primary_key: [id]\n        columns: {id: bigint, x: money}\n"
    )
    with pytest.raises(ConfigurationError, match=r"column s\.t\.x: unknown type 'money'"):
        load_registry(bad)
