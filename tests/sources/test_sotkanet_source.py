"""The sotkanet source: files in the exact format of THL's Sotkanet REST API (tests/fixtures/
sotkanet) land in the raw zone; a malformed record is quarantined with its reason, a file that
is not a whole JSON array is set aside with its reason."""

import shutil
from datetime import date

import pyarrow.parquet as pq
import pytest
from support import FIXTURES

from sotelake.lake import zones
from sotelake.lake.load import load_table
from sotelake.settings import get_settings
from sotelake.sources.registry import load_registry
from sotelake.sources.sotkanet import IncompleteFile, check_file, read_records

DAY = date(2026, 1, 1)


@pytest.fixture
def sotkanet_landing(tmp_path, monkeypatch):
    """The fixture delivered where the registry's sotkanet source looks for it."""
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    folder = tmp_path / "landing" / "sotkanet"
    shutil.copytree(FIXTURES / "sotkanet", folder)
    return folder, load_registry()["sotkanet"]


def lake_rows(zone: str, table: str) -> list[dict]:
    path = zones.partition(get_settings().lake, zone, "sotkanet", table, DAY)
    return pq.read_table(path).to_pylist()


def test_regions_and_values_land_in_raw_and_malformed_records_are_quarantined(sotkanet_landing):
    _, source = sotkanet_landing
    regions = load_table(source, source.tables["regions"], DAY, b"k" * 32)
    assert (regions.extracted, regions.loaded, regions.quarantined) == (4, 4, 0)
    assert {r["title_fi"] for r in lake_rows(zones.RAW, "regions")} >= {"Koko maa", "Vaasa"}

    values = load_table(source, source.tables["indicator_data"], DAY, b"k" * 32)
    # indicator_5081.json: 8 records, of which 3 malformed; indicator_4123.json is cut short
    assert (values.extracted, values.loaded, values.quarantined) == (8, 5, 3)
    assert values.reasons == {"bad_type": 1, "missing": 1, "parse_error": 1}
    assert list(values.rejected_files) == ["indicator_4123.json"]
    assert "not JSON" in values.rejected_files["indicator_4123.json"]
    loaded = {(r["region"], r["gender"]): r for r in lake_rows(zones.RAW, "indicator_data")}
    assert loaded[658, "total"]["value"] == 305.2
    assert loaded[658, "total"]["abs_value"] == 1700245
    assert loaded[658, "male"]["abs_value"] is None  # Sotkanet gives no absValue there
    assert loaded[915, "total"]["value"] == 341.7
    reasons = sorted(r["reasons"] for r in lake_rows(zones.QUARANTINE, "indicator_data"))
    assert reasons[0] == "bad_type:value" and reasons[1] == "missing:year"
    assert reasons[2].startswith(
        "parse_error:indicator_5081.json:8: a record is a JSON object, not"
    )


def test_a_file_that_is_not_a_json_array_is_refused(tmp_path):
    (tmp_path / "object.json").write_text('{"indicator": 5081}')
    (tmp_path / "empty.json").write_text("")
    for name, why in [("object.json", "a JSON dict"), ("empty.json", "empty file")]:
        with pytest.raises(IncompleteFile, match=why):
            check_file(tmp_path / name)
    check_file(FIXTURES / "sotkanet" / "regions.json")  # a whole one passes


def test_the_reader_follows_paths_into_records():
    batches = list(
        read_records([FIXTURES / "sotkanet" / "regions.json"], {"id": "id", "name": "title.fi"})
    )
    rows = [row for batch in batches for row in batch.to_pylist()]
    assert rows[0] == {
        "id": "658",
        "name": "Koko maa",
        "_source_file": "regions.json",
        "_parse_error": None,
    }
    assert len(rows) == 4
