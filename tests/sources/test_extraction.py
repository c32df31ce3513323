"""Extraction into the raw lake: typing, pseudonymisation, quarantine, incremental windows, bad
files, schema drift and idempotent partitions."""

import json
import os
import shutil
import sqlite3
from datetime import date, datetime, timedelta

import duckdb
import pyarrow.parquet as pq
import pytest
from stdnum.fi import hetu as stdnum_hetu

from sotelake.demo.changes import advance
from sotelake.demo.generate import DemoSpec, generate
from sotelake.lake import state, zones
from sotelake.lake.load import load_table
from sotelake.settings import get_settings
from sotelake.sources.registry import ConfigurationError, SourceSchemaError, load_registry

KEY = b"x" * 32
DAY = date(2026, 1, 1)
BASE = DemoSpec(residents=1_500, seed=5)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo")
    return path, generate(BASE, path)


@pytest.fixture
def demo(generated, tmp_path, monkeypatch):
    """A fresh copy of the generated sources for each test (tests change them)."""
    source, manifest = generated
    for folder in ("sources", "landing"):
        shutil.copytree(source / folder, tmp_path / folder)
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(tmp_path))
    return tmp_path, manifest, load_registry()


def load(registry, qualified: str, day: date = DAY):
    source, table = qualified.split(".")
    return load_table(registry[source], registry[source].tables[table], day, KEY)


def raw_rows(source, table, day=DAY):
    path = zones.partition(get_settings().lake, zones.RAW, source, table, day)
    return pq.read_table(path).to_pylist() if path.exists() else []


def quarantined(source, table, day=DAY):
    path = zones.partition(get_settings().lake, zones.QUARANTINE, source, table, day)
    return pq.read_table(path).to_pylist()


def test_patients_are_pseudonymised_and_invalid_codes_quarantined(demo):
    _, manifest, registry = demo
    result = load(registry, "unified_record.patients")
    rows = raw_rows("unified_record", "patients")
    assert result.extracted == 1_500
    assert result.quarantined == manifest["invalid_hetu"] > 0
    assert result.loaded == len(rows) == 1_500 - manifest["invalid_hetu"]
    assert {"hetu", "first_name", "last_name", "street_address", "phone"}.isdisjoint(rows[0])
    assert {
        "person_pseudonym",
        "person_birth_year",
        "person_sex",
        "_load_id",
        "_load_date",
        "_source_system",
        "_extracted_at",
        "_source_file",
    } <= set(rows[0])
    assert all(len(r["person_pseudonym"]) == 32 for r in rows)
    bad = quarantined("unified_record", "patients")
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
    audit = pq.read_table(
        zones.dq_file(get_settings().lake, "load_audit", "unified_record", "patients", DAY)
    )
    assert audit.to_pylist()[0]["extracted"] == 1_500


def test_the_same_person_has_the_same_pseudonym_in_both_record_systems(demo):
    _, _, registry = demo
    load(registry, "unified_record.patients")
    load(registry, "legacy_record.visits")
    unified = {r["person_pseudonym"] for r in raw_rows("unified_record", "patients")}
    legacy = raw_rows("legacy_record", "visits")
    assert legacy and all(r["person_pseudonym"] in unified for r in legacy)
    assert "NIMI" not in legacy[0] and "HETU" not in legacy[0]
    professions = {r["AMMATTI"] for r in legacy}  # Windows-1252 and UTF-8 files both decoded
    assert professions == {"LÄÄKÄRI", "SAIRAANHOITAJA"}
    assert {r["_source_file"].split("_")[1] for r in legacy} == {"231", "280", "287", "545"}


def test_rerunning_a_load_replaces_its_partition(demo):
    _, _, registry = demo
    first = load(registry, "unified_record.visits")
    second = load(registry, "unified_record.visits")
    partition = zones.partition(get_settings().lake, zones.RAW, "unified_record", "visits", DAY)
    files = list(partition.glob("*.parquet"))
    assert len(files) == 1 and files[0].stem == second.load_id != first.load_id
    assert len(raw_rows("unified_record", "visits")) == first.loaded == second.loaded
    assert not any((get_settings().lake / "_tmp").iterdir()), "scratch folders are cleaned up"


def test_incremental_loads_take_only_the_rows_changed_in_their_window(demo):
    data_dir, _, registry = demo
    first = load(registry, "unified_record.visits")
    assert first.window == {"lower": None, "upper": "2026-01-02T00:00:00"}
    changes = advance(data_dir, date(2026, 1, 2))
    second = load(registry, "unified_record.visits", date(2026, 1, 2))
    expected = (
        changes["new_visits"]
        + changes["corrected_visits"]
        + changes["deleted_visits"]
        + changes["new_oral_health_visits"]
        + changes["new_mental_health_visits"]
    )
    assert second.extracted == expected
    assert second.window == {"lower": "2026-01-02T00:00:00", "upper": "2026-01-03T00:00:00"}
    deleted = [r for r in raw_rows("unified_record", "visits", date(2026, 1, 2)) if r["is_deleted"]]
    assert len(deleted) == changes["deleted_visits"]
    # a re-run of a date takes its rows again; the next day has nothing new
    assert load(registry, "unified_record.visits", date(2026, 1, 2)).extracted == expected
    # ...except that rows changed since have left the earlier window for the later one
    moved = changes["corrected_visits"] + changes["deleted_visits"]
    assert load(registry, "unified_record.visits", DAY).extracted == first.extracted - moved
    assert load(registry, "unified_record.visits", date(2026, 1, 3)).extracted == 0
    empty = zones.partition(
        get_settings().lake, zones.RAW, "unified_record", "visits", date(2026, 1, 3)
    )
    assert pq.read_table(empty).num_rows == 0  # an empty load: an empty partition


def test_a_row_committed_late_is_taken_with_a_lookback_and_merged_once(demo, tmp_path, monkeypatch):
    """A visit stamped 23:30 but committed after the day's load falls in a window already
    loaded: without a look-back it is never loaded; with ``lookback: 1h`` the next day's load
    takes it, and the rows it reads twice are one row each in staging (real dbt)."""
    from sotelake.transform.dbt_build import run_dbt

    data_dir, _, registry = demo
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")

    def visit_stamped(updated_at: str) -> int:
        visit_id = con.execute("select max(visit_id) + 1 from visits").fetchone()[0]
        con.execute(
            "insert into visits select ? as visit_id, patient_id, unit_id, appointment_id, "
            "'2026-01-01 23:10:00', professional_group, service_code, specialty, urgency, "
            "contact_type, 0, ?, professional_id from visits limit 1",
            [visit_id, updated_at],
        )
        con.commit()
        return visit_id

    on_time = visit_stamped("2026-01-01 23:20:00")  # committed before the day's load
    first = load(registry, "unified_record.visits")
    late = visit_stamped("2026-01-01 23:30:00")  # committed after it
    con.close()
    day2 = date(2026, 1, 2)
    without = load(registry, "unified_record.visits", day2)
    assert late not in {r["visit_id"] for r in raw_rows("unified_record", "visits", day2)}
    assert without.window["lower"] == "2026-01-02T00:00:00"
    config = tmp_path / "config"
    config.mkdir()
    text = (get_settings().config_dir / "sources.yml").read_text(encoding="utf-8")
    marker = "        primary_key: [visit_id]\n        columns:\n          visit_id:"
    assert text.index(marker) < text.index("home_care_visits:")  # the first is of visits
    (config / "sources.yml").write_text(
        text.replace(marker, "        lookback: 1h\n" + marker, 1), encoding="utf-8"
    )
    monkeypatch.setenv("SOTELAKE_CONFIG", str(config))
    registry = load_registry()
    assert registry["unified_record"].tables["visits"].lookback == timedelta(hours=1)
    with_lookback = load(registry, "unified_record.visits", day2)
    assert with_lookback.window["lower"] == "2026-01-01T23:00:00"
    taken = {r["visit_id"] for r in raw_rows("unified_record", "visits", day2)}
    assert taken == {on_time, late} and with_lookback.extracted == 2, "the last hour again"
    assert run_dbt(["run", "--select", "stg_unified_record__visits"]).failures == []
    staged = duckdb.connect(str(get_settings().warehouse), read_only=True)
    rows, keys = staged.execute(
        "select count(*), count(distinct visit_id) from staging.stg_unified_record__visits"
    ).fetchone()
    staged.close()
    assert rows == keys == first.loaded + 1


def test_incremental_file_tables_take_each_delivery_once(demo):
    data_dir, _, registry = demo
    assert len(load(registry, "finance.ledger_postings").source_files) == 12
    assert load(registry, "finance.ledger_postings", date(2026, 1, 2)).status == "no_data"
    folder = data_dir / "landing" / "finance"
    shutil.copy(folder / "gl_2025-12.csv", folder / "gl_2026-01.csv")
    # a corrected re-delivery: the same name, size and modification time, another content
    corrected = folder / "gl_2025-03.csv"
    before = corrected.stat()
    corrected.write_text(
        corrected.read_text(encoding="utf-8").replace(";4000;", ";4001;", 1), encoding="utf-8"
    )
    os.utime(corrected, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (corrected.stat().st_size, corrected.stat().st_mtime_ns) == (
        before.st_size,
        before.st_mtime_ns,
    )
    third = load(registry, "finance.ledger_postings", date(2026, 1, 3))
    assert third.source_files == ["gl_2025-03.csv", "gl_2026-01.csv"]
    taken = state.read_state(get_settings().lake, "finance", "ledger_postings")
    assert sorted(taken["2026-01-03"]["files"]) == ["gl_2025-03.csv", "gl_2026-01.csv"]


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
    result = load(registry, "finance.ledger_postings")
    assert result.quarantined == 2 and result.extracted == result.loaded + 2
    bad = {r["reason"]: r for r in quarantined("finance", "ledger_postings")}
    assert set(bad) == {"bad_type", "missing"}
    assert bad["bad_type"]["reasons"] == "bad_type:amount"
    assert json.loads(bad["bad_type"]["row_json"])["amount"] == "12,34,5"
    assert bad["missing"]["_source_file"] == "gl_2025-03.csv"
    good = raw_rows("finance", "ledger_postings")
    assert {r["_source_file"] for r in good} == {f"gl_2025-{m:02d}.csv" for m in range(1, 13)}
    assert all(isinstance(r["posting_date"], date) for r in good)


def test_bad_files_are_moved_aside_with_the_reason_and_never_half_loaded(demo):
    data_dir, _, registry = demo
    folder = data_dir / "landing" / "finance"
    good_rows = sum(
        len((folder / f"gl_2025-{m:02d}.csv").read_text().splitlines()) - 1 for m in range(1, 13)
    )
    text = (folder / "gl_2025-01.csv").read_text(encoding="utf-8")
    (folder / "gl_2026-01.csv").write_bytes(b"")  # empty
    (folder / "gl_2026-02.csv").write_text(text[: len(text) // 2 + 7], encoding="utf-8")  # cut
    (folder / "gl_2026-03.csv").write_bytes(
        text.replace("Eläkekulut", "Eläkekulut").encode("cp1252")
    )
    (folder / "gl_2026-04.csv").write_text(text.replace(";", ","), encoding="utf-8")  # dialect
    (folder / "gl_2026-05.csv").write_text(text, encoding="utf-16")  # from a spreadsheet
    result = load(registry, "finance.ledger_postings")
    reasons = result.rejected_files
    assert set(reasons) == {f"gl_2026-0{m}.csv" for m in range(1, 6)}
    assert reasons["gl_2026-05.csv"].startswith("the file is utf-16 (little-endian), not utf-8")
    assert reasons["gl_2026-01.csv"] == "empty file"
    assert "malformed" in reasons["gl_2026-02.csv"] and "line" in reasons["gl_2026-02.csv"].lower()
    assert reasons["gl_2026-03.csv"].startswith("not utf-8: undecodable byte at offset")
    assert (
        "not the expected dialect" in reasons["gl_2026-04.csv"]
        and "','" in reasons["gl_2026-04.csv"]
    )
    assert result.extracted == good_rows, "nothing of the bad files was loaded"
    rejected = folder / "_rejected"
    moved = sorted(p.name for p in rejected.iterdir())
    assert len(moved) == 10 and all(not (folder / name).exists() for name in reasons)
    note = next(rejected.glob("*gl_2026-01.csv.reason.txt")).read_text()
    assert note.strip() == "empty file"
    audit = pq.read_table(
        zones.dq_file(get_settings().lake, "load_audit", "finance", "ledger_postings", DAY)
    ).to_pylist()[0]
    assert json.loads(audit["rejected_files_json"]) == reasons


def test_an_encoding_is_detected_for_what_it_is(demo):
    """The legacy system's files may be UTF-8 or Windows-1252; one saved as UTF-16 decodes in
    neither, though Windows-1252 reads its bytes: it is set aside as UTF-16."""
    data_dir, _, registry = demo
    folder = data_dir / "landing" / "legacy_record"
    original = sorted(folder.glob("kaynnit_*.csv"))[0]
    text = original.read_bytes().decode(
        "utf-8-sig" if original.read_bytes()[:3] == b"\xef\xbb\xbf" else "cp1252"
    )
    (folder / "kaynnit_utf16.csv").write_text(text, encoding="utf-16")
    (folder / "kaynnit_utf16be.csv").write_bytes(text.encode("utf-16-be"))
    result = load(registry, "legacy_record.visits")
    assert result.rejected_files == {
        "kaynnit_utf16.csv": "the file is utf-16 (little-endian), not utf-8 or windows-1252 as "
        "declared: save it as utf-8, or declare its encoding in config/sources.yml",
        "kaynnit_utf16be.csv": "the file is utf-16 (big-endian, no byte-order mark), not utf-8 "
        "or windows-1252 as declared: save it as utf-8, or declare its encoding in "
        "config/sources.yml",
    }
    assert result.loaded > 0, "the other files loaded"


def test_new_columns_are_carried_and_reported_and_identifiers_withheld(demo):
    data_dir, _, registry = demo
    path = data_dir / "landing" / "finance" / "gl_2025-05.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ";approver"] + [line + ";Anna" for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load(registry, "finance.ledger_postings")
    assert result.new_columns == ["approver"] and result.withheld_columns == []
    rows = raw_rows("finance", "ledger_postings")
    assert {r["approver"] for r in rows} == {"Anna", None}

    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    con.execute("alter table patients add column guardian_hetu text")
    con.execute("alter table patients add column guardian_relation text")
    con.execute("update patients set guardian_hetu = '131052-308T', guardian_relation = 'mother'")
    con.commit()
    result = load(registry, "unified_record.patients")
    assert result.withheld_columns == ["guardian_hetu"]
    assert result.new_columns == ["guardian_relation"]
    rows = raw_rows("unified_record", "patients")
    assert "guardian_hetu" not in rows[0] and rows[0]["guardian_relation"] == "mother"


def test_missing_columns_optional_reported_required_fail_naming_file_and_column(demo):
    data_dir, _, registry = demo
    folder = data_dir / "landing" / "finance"
    path = folder / "gl_2025-02.csv"
    lines = [
        ";".join(line.split(";")[:-1]) for line in path.read_text(encoding="utf-8").splitlines()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")  # no `description` column
    result = load(registry, "finance.ledger_postings")
    assert result.missing_columns == ["description"] and result.quarantined == 0

    population = next((data_dir / "landing" / "population").glob("residents_*.csv"))
    text = population.read_text(encoding="utf-8").replace("residents\n", "inhabitants\n", 1)
    population.write_text(text, encoding="utf-8")
    with pytest.raises(
        SourceSchemaError, match=r"residents_2025\.csv: lacks required column\(s\) \['residents'\]"
    ):
        load(registry, "population.residents")
    assert not zones.partition(
        get_settings().lake, zones.RAW, "population", "residents", DAY
    ).exists()
    assert load(registry, "unified_record.units").loaded > 0, "other tables still load"


def test_no_files_is_no_data_not_an_error(demo):
    data_dir, _, registry = demo
    shutil.rmtree(data_dir / "landing" / "finance")
    result = load(registry, "finance.ledger_postings")
    assert result.status == "no_data" and result.extracted == 0


def test_an_empty_load_writes_an_empty_partition_that_staging_reads(demo):
    """A table whose first load has no rows (an emptied database table, a file table with no
    files yet, a header-only file) gets a partition with no rows and the declared schema, and
    its staging model builds on it (real dbt)."""
    from sotelake.transform.dbt_build import run_dbt

    data_dir, _, registry = demo
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    con.execute("delete from child_welfare_placements")
    con.commit()
    con.close()
    finance = data_dir / "landing" / "finance"
    for budget in finance.glob("budget_*.csv"):
        budget.unlink()
    header = (finance / "cost_centres.csv").read_text(encoding="utf-8").splitlines()[0]
    (finance / "cost_centres.csv").write_text(header + "\n", encoding="utf-8")
    loads = {
        name: load(registry, name)
        for name in (
            "unified_record.child_welfare_placements",
            "finance.budget",
            "finance.cost_centres",
        )
    }
    assert all(r.extracted == r.loaded == 0 for r in loads.values())
    assert loads["finance.budget"].status == "no_data"
    assert loads["finance.cost_centres"].source_files == ["cost_centres.csv"], "named though empty"
    for name in loads:
        source, table = name.split(".")
        partition = zones.partition(get_settings().lake, zones.RAW, source, table, DAY)
        written = pq.read_table(partition)
        assert written.num_rows == 0
        declared = [c.name for c in registry[source].tables[table].kept_columns]
        assert {*declared, "_load_id", "_source_file"} <= set(written.column_names), name
    placements = pq.read_schema(
        next(
            zones.partition(
                get_settings().lake, zones.RAW, "unified_record", "child_welfare_placements", DAY
            ).glob("*.parquet")
        )
    )
    assert str(placements.field("start_date").type) == "date32[day]"  # the declared type
    result = run_dbt(
        [
            "build",
            "--indirect-selection",
            "cautious",  # the tests of these models alone
            "--select",
            "stg_unified_record__child_welfare_placements",
            "stg_finance__budget_lines",
            "stg_finance__cost_centres",
        ]
    )
    assert not result.failures and result.statuses.get("success", 0) >= 3
    # a full table that has loads keeps its latest one when a day brings nothing
    (finance / "cost_centres.csv").unlink()
    later = load(registry, "finance.cost_centres", date(2026, 1, 2))
    assert later.status == "no_data"
    assert not zones.partition(
        get_settings().lake, zones.RAW, "finance", "cost_centres", date(2026, 1, 2)
    ).exists()


def test_registry_errors_name_the_place(tmp_path):
    bad = tmp_path / "sources.yml"
    bad.write_text(
        "sources:\n  s:\n    kind: database\n    tables:\n      t:\n"
        "        primary_key: [id]\n        columns: {id: bigint, x: money}\n"
    )
    with pytest.raises(
        ConfigurationError, match=r"sources\.s\.tables\.t\.columns\.x\.type: unknown type 'money'"
    ):
        load_registry(bad)
    bad.write_text(
        "sources:\n  s:\n    kind: database\n    tables:\n      t:\n"
        "        mode: incremental\n        primary_key: [id]\n        columns: {id: bigint}\n"
    )
    with pytest.raises(
        ConfigurationError,
        match=r"sources\.s\.tables\.t: an incremental database table needs watermark",
    ):
        load_registry(bad)
    # every problem at once: the schema's (unknown and missing keys, wrong types) and the rules'
    bad.write_text(
        "sources:\n  s:\n    kind: files\n    connection: c\n    dialect: {delimeter: ';'}\n"
        "    tables:\n      t:\n        primary_key: id\n        columns: {id: {requird: true}}\n"
    )
    with pytest.raises(ConfigurationError) as raised:
        load_registry(bad)
    assert str(raised.value).splitlines() == [
        f"{bad}: the source registry is not valid (5 problems; docs/loads.md describes every key):",
        "  - sources.s.dialect: unknown key 'delimeter' (did you mean 'delimiter'? allowed: "
        "date_format, decimal, delimiter, encoding, timestamp_format)",
        "  - sources.s.tables.t.columns.id: unknown key 'requird' (did you mean 'required'? "
        "allowed: as, path, privacy, required, type)",
        "  - sources.s.tables.t.primary_key: expected a list, not 'id'",
        "  - sources.s.connection: only for a source of kind database",
        "  - sources.s.tables.t: missing key 'files' (the glob of the table's files)",
    ]


def test_the_registry_is_read_again_when_its_file_changes(tmp_path):
    """A process parses a registry's text once (the steps ask for it many times), and reads the
    file every time: a change of the same size, made at once, is seen."""
    path = tmp_path / "sources.yml"
    table = "    tables:\n      t:\n        primary_key: [id]\n        columns: {id: bigint}\n"
    path.write_text(f"sources:\n  s:\n    kind: database\n    description: one\n{table}")
    first = load_registry(path)
    assert first["s"].description == "one"
    first.pop("s")  # a caller's copy: the next caller still gets every source
    assert load_registry(path)["s"] is load_registry(path)["s"], "parsed once"
    path.write_text(f"sources:\n  s:\n    kind: database\n    description: two\n{table}")
    assert load_registry(path)["s"].description == "two"
    path.write_text(f"sources:\n  s:\n    kind: database\n    description: 2\n{table}")
    with pytest.raises(ConfigurationError, match=r"sources\.s\.description"):
        load_registry(path)


def test_a_new_table_of_an_existing_source_is_configuration_only(demo, tmp_path, monkeypatch):
    data_dir, _, _ = demo
    con = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite")
    con.execute(
        "create table vaccinations (vaccination_id integer primary key, patient_id integer,"
        " vaccine text, given_at text, updated_at text)"
    )
    con.executemany(
        "insert into vaccinations values (?,?,?,?,?)",
        [
            (i, 100_000 + i, "influenza", "2025-10-01 09:00:00", "2025-10-01 10:00:00")
            for i in range(1, 51)
        ],
    )
    con.commit()
    config = tmp_path / "config"
    config.mkdir()
    registry_text = (get_settings().config_dir / "sources.yml").read_text(encoding="utf-8")
    addition = """      vaccinations:
        description: Vaccinations given.
        mode: incremental
        watermark: updated_at
        primary_key: [vaccination_id]
        columns:
          vaccination_id: {type: bigint, required: true}
          patient_id: bigint
          vaccine: varchar
          given_at: timestamp
          updated_at: {type: timestamp, required: true}
"""
    marker = "      units:\n"
    (config / "sources.yml").write_text(
        registry_text.replace(marker, addition + marker, 1), encoding="utf-8"
    )
    monkeypatch.setenv("SOTELAKE_CONFIG", str(config))
    registry = load_registry()
    result = load(registry, "unified_record.vaccinations")
    assert (result.extracted, result.loaded) == (50, 50)
    assert raw_rows("unified_record", "vaccinations")[0]["vaccine"] == "influenza"


def test_an_incremental_window_runs_inside_sqlite_with_the_same_rows_as_a_scan(demo, monkeypatch):
    """A day's changes are asked of SQLite (its index on updated_at), not scanned by DuckDB;
    the typed rows are the same either way."""
    from sotelake import engine
    from sotelake.lake.state import Window
    from sotelake.sources import readers

    data_dir, _, registry = demo
    advance(data_dir, date(2026, 1, 2))
    source = registry["unified_record"]
    plans = sqlite3.connect(data_dir / "sources" / "unified_record.sqlite").execute(
        "explain query plan select * from visits "
        "where updated_at >= '2026-01-02 00:00:00' and updated_at < '2026-01-03 00:00:00'"
    )
    assert any("visits_updated_at" in row[-1] for row in plans), "the demo has the index"
    window = Window(lower=datetime(2026, 1, 2), upper=datetime(2026, 1, 3))
    con = engine.connect(extensions=("sqlite-scanner",))
    readers.attach(con, source, get_settings())
    pushed, scanned = {}, {}
    for name in ("visits", "appointments", "patients"):
        pushed[name] = readers.select_sql(con, source, source.tables[name], window).sql
        assert "sqlite_query" in pushed[name], name
    monkeypatch.setattr(readers, "_window_in_sqlite", lambda *args: None)
    for name in ("visits", "appointments", "patients"):
        scanned[name] = readers.select_sql(con, source, source.tables[name], window).sql
        assert "sqlite_query" not in scanned[name], name
        ordered = f"SELECT * FROM ({{}}) ORDER BY {source.tables[name].primary_key[0]}"
        got = con.execute(ordered.format(pushed[name])).fetch_arrow_table()
        expected = con.execute(ordered.format(scanned[name])).fetch_arrow_table()
        assert got.equals(expected), name
        assert got.num_rows > 0 or name == "patients", name  # nobody may have moved that day
    monkeypatch.undo()
    # the first load (no lower bound) scans: the whole table is wanted
    first = readers.select_sql(con, source, source.tables["visits"], Window(upper=window.lower))
    assert "sqlite_query" not in first.sql


def test_loads_share_one_database_and_leave_nothing_attached_even_when_one_fails(demo):
    """The loads of a process share an in-memory DuckDB (an extension is loaded once): what a
    load attaches is detached when it is done, so a load that failed does not break the next."""
    from sotelake import engine

    data, _, registry = demo
    load(registry, "unified_record.units")
    database = sqlite3.connect(data / "sources" / "unified_record.sqlite")
    database.execute("alter table units rename to units_gone")  # fails after the attach
    database.commit()
    with pytest.raises(duckdb.Error, match="units"):
        load(registry, "unified_record.units")
    database.execute("alter table units_gone rename to units")
    database.commit()
    database.close()
    assert load(registry, "unified_record.units").extracted > 0
    with engine.load_connection() as con:
        attached = con.execute(
            "select database_name from duckdb_databases() where not internal"
        ).fetchall()
    assert attached == [("memory",)]
