"""A daily run builds what its changes feed: which tables changed, and when a selection is safe."""

import json
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
from support.daily import KEY, a_copy_of, daily_run
from support.record_edits import edit_the_record_system

from sotelake.demo.changes import advance
from sotelake.demo.generate import DemoSpec, generate
from sotelake.lake.load import load_table
from sotelake.settings import get_settings
from sotelake.transform import changes
from sotelake.transform.targets import build_target

DAY, NEXT = date(2026, 1, 1), date(2026, 1, 2)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo")
    generate(DemoSpec(residents=800, seed=11), path)
    return path


@pytest.fixture
def demo(generated, tmp_path, monkeypatch):
    return a_copy_of(generated, tmp_path, monkeypatch)


def summary(result) -> dict:  # what validation reports of a load (its rows and status)
    return {
        "source": result.source,
        "table": result.table,
        "load_date": result.load_date,
        "rows": result.loaded,
        "status": result.status,
    }


def load(registry, qualified: str, day: date):
    source, table = qualified.split(".")
    return summary(load_table(registry[source], registry[source].tables[table], day, KEY))


def test_a_full_table_changes_only_when_its_rows_differ_from_the_previous_load(demo):
    data, registry = demo
    settings = get_settings()
    first = load(registry, "finance.cost_centres", DAY)
    assert changes.changed_tables([first], settings) == ["finance.cost_centres"]
    again = load(registry, "finance.cost_centres", NEXT)  # the same file, delivered again
    assert again["rows"] == first["rows"] > 0
    assert changes.changed_tables([again], settings) == []
    mapping = data / "landing" / "finance" / "cost_centres.csv"
    lines = mapping.read_bytes().splitlines(keepends=True)
    mapping.write_bytes(b"".join(lines[:-1]))  # a steward removed one cost centre
    edited = load(registry, "finance.cost_centres", NEXT)
    assert changes.changed_tables([edited], settings) == ["finance.cost_centres"]


def test_an_incremental_table_changes_when_its_window_brought_rows(demo):
    data, registry = demo
    settings = get_settings()
    first = load(registry, "unified_record.visits", DAY)
    assert changes.changed_tables([first], settings) == ["unified_record.visits"]
    quiet = load(registry, "unified_record.visits", NEXT)  # nothing happened that day
    assert quiet["rows"] == 0
    assert changes.changed_tables([quiet], settings) == []
    advance(data, NEXT)
    busy = load(registry, "unified_record.visits", NEXT)
    rejected = {**busy, "status": "rejected"}  # held back: not in the warehouse
    assert changes.changed_tables([busy, rejected], settings) == ["unified_record.visits"]
    assert changes.selection(["unified_record.visits"], settings) == (
        "source:unified_record.visits+ source:lake_dq+ indicator_values"
    )
    # a reference table every period depends on: everything is built
    assert changes.selection(["unified_record.visits", "unified_record.units"], settings) is None


# the marts and the reconciliation (the dq tables of loads name each run's own load ids)
MARTS = "table_schema = 'marts' or table_name like 'reconciliation%'"
# the quality records a daily build reads by file (macros/dq_changes.sql)
MERGED_QUALITY_RECORDS = (
    "load_audit",
    "quarantine",
    "validation_results",
    "validation_examples",
    "reconciliation_loads",
)
QUALITY_RECORDS = "table_schema = 'dq' and table_name in ({})".format(
    ", ".join(f"'{m}'" for m in MERGED_QUALITY_RECORDS)
)
# run ids and build times differ between builds, everything else must not
VOLATILE = {
    "run_id",
    "recorded_at",
    "seconds",
    "validated_at",
    "exported_at",
    "_published_at",  # when a row reached the raw zone: a re-run's is later
    "valid_from_run",
    "valid_to_run",
    "first_published_at",
    "revised_at",
    "revised_run",
}
# a published version's validity is the time of the builds (a residence's is days: compared)
BUILD_TIMES = {"valid_from", "valid_to"}


def _warehouse_tables(settings, tables: str = MARTS) -> dict[str, list]:
    import duckdb

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        names = [
            f"{s}.{t}"
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables "
                f"where ({tables}) and table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        out = {}
        for name in sorted(names):
            columns = [
                c
                for c, kind in con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema || '.' || table_name = ?",
                    [name],
                ).fetchall()
                if c not in VOLATILE and not (c in BUILD_TIMES and kind.startswith("TIMESTAMP"))
            ]
            quoted = ", ".join(f'"{c}"' for c in columns)
            out[name] = con.execute(f"select {quoted} from {name} order by all").fetchall()
    return out


@pytest.mark.slow  # minutes: `make test-slow` and CI run it
def test_a_daily_build_does_what_its_changes_feed_and_equals_a_whole_build(demo):
    """After a day of changes, the build selects the models the changed tables feed (the
    ledger's marts are left as they were), the facts rebuild what the changes touch (a move
    ten days back moves its events from that day on, not before; a visit nothing changed keeps
    its row), and after three daily builds over two more days the warehouse is the one a whole
    build makes."""
    data, _ = demo
    settings = get_settings()

    first = daily_run(settings, DAY)
    assert first["selected"] is None, "the first build builds everything"
    advance(data, NEXT)
    edits = edit_the_record_system(data, NEXT)
    spoilt, valid = _set_henkilotunnus(data, NEXT)  # the patient's row is quarantined
    marked = _mark_visits(settings, edits["moved_on"])
    second = daily_run(settings, NEXT)
    assert second["selected"] and "source:unified_record.visits+" in second["selected"]
    assert "source:finance" not in second["selected"], "the ledger did not change that day"
    assert "marts.fct_visits" in second["built"]
    assert "marts.fct_ledger_postings" not in second["built"]
    assert "marts.indicator_values" in second["built"]
    # on DuckDB the views stay as the whole build made them (their queries bind when read)
    assert "indicators.ind_pc_nurse_visits_per_1000" in first["built"]
    assert not [name for name in second["built"] if name.startswith("indicators.ind_")]
    # the visits are replaced by key: those no change names keep their rows, though their day
    # is the move's, from which the residences changed (marked before the build, most keep
    # the mark)
    kept = _unmark_visits(settings, marked)
    assert 0 < len(kept) < len(marked), "by day, every marked visit would have been rebuilt"
    checked = {c["table"] for c in second["mart_checks"]}
    assert "marts.fct_visits" in checked and "marts.fct_ledger_postings" not in checked
    # the facts of events were rebuilt from the first day the changes touch, not whole
    for mart in ("fct_visits", "fct_home_care_visits", "fct_appointment_slots"):
        assert _materialization(settings, mart) == "incremental", mart
    rebuilt = _rebuilt_from(settings)
    assert date(2025, 10, 1) < rebuilt["fct_visits"] <= edits["moved_on"]
    # the residences changed from the earliest move learned of that day (the day's own moves
    # and the edits' mover)
    assert rebuilt["dim_person_residence"] == _first_move_learned_on(data, NEXT)
    assert rebuilt["dim_person_residence"] <= edits["moved_on"]
    assert rebuilt["indicator_values_computed"] == date(2025, 1, 1)  # its periods: the year
    # the mover's visits count where they lived on each visit's day
    visits = _rows_of(settings, "fct_visits", "visit_key", "source_system = 'unified_record'")
    moved = {v: visits[f"U{v}"]["home_municipality_code"] for v in edits["moved_visits"]}
    assert {moved[v] for v, day in edits["moved_visits"].items() if day < edits["moved_on"]} == {
        edits["moved_from"]
    }
    assert {moved[v] for v, day in edits["moved_visits"].items() if day >= edits["moved_on"]} == {
        edits["moved_to"]
    }
    assert f"U{edits['deleted_visit']}" not in visits
    corrected = visits[f"U{edits['corrected_visit']}"]
    assert str(corrected["visit_start"]) == edits["corrected_start"]
    rebooked = visits[f"U{edits['rebooked_visit']}"]
    assert str(rebooked["booked_at"]) == edits["booked_at"]
    home_care = _rows_of(settings, "fct_home_care_visits", "home_care_visit_id")
    assert edits["deleted_home_care_visit"] not in home_care
    client = {
        home_care[v]["home_municipality_code"]
        for v, day in edits["home_care_client_visits"].items()
        if day >= edits["moved_on"]
    }
    assert client == {edits["home_care_client_to"]}
    slots = _rows_of(settings, "fct_appointment_slots", "appointment_id")
    assert edits["deleted_slot"] not in slots
    # the mart's checks read the days rebuilt
    check = _mart_check(second, "marts.fct_visits")
    assert check["rebuilt_from"] == rebuilt["fct_visits"].isoformat()
    assert 0 < check["rows"] == _rows(settings, "where visit_date >= ?", [rebuilt["fct_visits"]])
    assert check["rows"] < _rows(settings)
    # the quality records took the day's files only (macros/dq_changes.sql)
    for model in MERGED_QUALITY_RECORDS:
        assert _materialization(settings, model) == "incremental", model
    assert spoilt in _quarantined(settings, NEXT)
    # the source is fixed and the day runs again: its loads replace their records, and the row
    # quarantined by the day's first run is gone with that load
    _set_henkilotunnus(data, NEXT, valid)
    again = daily_run(settings, NEXT)
    assert again["selected"] and spoilt not in _quarantined(settings, NEXT)
    assert _quarantined(settings, DAY), "the first day's quarantined rows are kept"
    # a third day of changes, with another move, deletion and correction
    third_day = NEXT + timedelta(days=1)
    assert advance(data, third_day)["moved_patients"] >= 1
    edit_the_record_system(data, third_day)
    third = daily_run(settings, third_day)
    assert third["selected"] and "marts.fct_visits" in third["built"]
    daily = _warehouse_tables(settings)
    assert daily["marts.indicator_value_history"], "the history is among what is compared"
    assert daily["marts.dim_person_residence"], "the residences (their days) are compared"
    merged = _warehouse_tables(settings, QUALITY_RECORDS)
    build_target(settings).build("whole", settings, load_date=third_day)
    assert _materialization(settings, "load_audit") == "table"
    assert _warehouse_tables(settings, QUALITY_RECORDS) == merged

    changes.BuildState.forget(settings)
    whole = daily_run(settings, third_day)  # the same day again, everything built
    assert whole["selected"] is None and "marts.fct_ledger_postings" in whole["built"]
    assert _materialization(settings, "fct_visits") == "table"
    check = _mart_check(whole, "marts.fct_visits")
    assert check["rebuilt_from"] is None and check["rows"] == _rows(settings)
    assert _warehouse_tables(settings) == daily
    # whole and daily builds parse the project alike: after the first, dbt parsed nothing again
    parsed = _files_parsed_again(settings)
    assert len(parsed) >= 6 and not any(parsed), parsed


def _first_move_learned_on(data, day: date) -> date:
    """The earliest first day of the residences the record system learned of on ``day``."""
    import sqlite3

    con = sqlite3.connect(data / "sources" / "unified_record.sqlite")
    try:
        (first,) = con.execute(
            "select min(valid_from) from patient_residences where updated_at >= ? "
            "and valid_to is null",
            [f"{day}"],
        ).fetchone()
    finally:
        con.close()
    return date.fromisoformat(first)


def _rebuilt_from(settings) -> dict[str, date | None]:
    """The first day each model rebuilt in the newest build that recorded it."""
    import duckdb

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return dict(
            con.execute(
                "select model, rebuilt_from from intermediate.rebuilds qualify row_number() "
                "over (partition by model order by recorded_at desc) = 1"
            ).fetchall()
        )


def _set_henkilotunnus(data, day: date, hetu: str | None = None) -> tuple[int, str]:
    """Spoil the check character of the last patient's henkilötunnus on ``day``, or set it to
    ``hetu``; the patient's id and the henkilötunnus it had."""
    import sqlite3

    con = sqlite3.connect(data / "sources" / "unified_record.sqlite")
    try:
        patient, was = con.execute(
            "select patient_id, hetu from patients where hetu is not null order by 1 desc limit 1"
        ).fetchone()
        new = hetu or was[:-1] + ("Y" if was[-1] != "Y" else "X")  # another check character
        con.execute(
            "update patients set hetu = ?, updated_at = ? where patient_id = ?",
            [new, f"{day} {'13' if hetu else '12'}:30:00", patient],
        )
        con.commit()
    finally:
        con.close()
    return patient, was


def _quarantined(settings, day: date) -> set[int]:
    """The patient ids of the unified record's quarantined patient rows of ``day``."""
    import duckdb

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = con.execute(
            "select row_json from dq.quarantine where source = 'unified_record' "
            "and table_name = 'patients' and load_date = ?",
            [day],
        ).fetchall()
    return {json.loads(row)["patient_id"] for (row,) in rows}


def _mart_check(transformed: dict, relation: str) -> dict:
    (check,) = [c for c in transformed["mart_checks"] if c["table"] == relation]
    return check


def _mark_visits(settings, day: date) -> dict[str, str]:
    """Mark the urgency of the unified record system's visits of ``day`` in ``fct_visits`` as
    no build would; their urgencies by key."""
    import duckdb

    with duckdb.connect(str(settings.warehouse)) as con:
        marked = dict(
            con.execute(
                "select visit_key, urgency from marts.fct_visits "
                "where source_system = 'unified_record' and visit_date = ?",
                [day],
            ).fetchall()
        )
        con.execute(
            "update marts.fct_visits set urgency = 'marked' where visit_key in (select unnest(?))",
            [list(marked)],
        )
    return marked


def _unmark_visits(settings, marked: dict[str, str]) -> list[str]:
    """The marked visits that still have their mark, given their urgencies back."""
    import duckdb

    with duckdb.connect(str(settings.warehouse)) as con:
        kept = [
            key
            for (key,) in con.execute(
                "select visit_key from marts.fct_visits where urgency = 'marked'"
            ).fetchall()
        ]
        for key in kept:
            con.execute(
                "update marts.fct_visits set urgency = ? where visit_key = ?", [marked[key], key]
            )
    return kept


def _rows(settings, where: str = "", parameters: list | None = None) -> int:
    import duckdb

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        query = f"select count(*) from marts.fct_visits {where}"
        return con.execute(query, parameters or []).fetchone()[0]


def _rows_of(settings, mart: str, key: str, where: str = "true") -> dict[object, dict]:
    """The rows of ``marts.<mart>`` that match ``where``, by ``key``."""
    import duckdb

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        cursor = con.execute(f"select * from marts.{mart} where {where}")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {row[key]: row for row in rows}


def _files_parsed_again(settings) -> list[int]:
    """Per dbt invocation after the first, how many of the project's files dbt parsed again."""
    log = (settings.logs / "dbt" / "dbt.log").read_text()
    return [int(n) for n in re.findall(r"Partial parsing enabled: .*?(\d+) files changed", log)]


def _materialization(settings, model: str) -> str:
    """How the last build of the mart ``model`` materialised it: the statement dbt ran."""
    target = settings.data_dir / "dbt" / "target" / "run"
    (statement,) = target.glob(f"**/marts/**/{model}.sql")
    # a table is created as <model>__dbt_tmp and renamed; an increment is inserted into the model
    merged = re.search(rf'insert into "warehouse"\."\w+"\."{model}" ', statement.read_text())
    return "incremental" if merged else "table"


def test_a_build_that_did_not_finish_makes_the_next_one_build_everything(demo):
    settings = get_settings()
    state = changes.BuildState.starting(settings, "duckdb")
    state.write(settings)  # as a build leaves it when it stops half-way
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    settings.warehouse.touch()
    assert not changes.BuildState.read(settings).allows_selection(state, settings)
    state.succeeded = True
    state.write(settings)
    assert changes.BuildState.read(settings).allows_selection(state, settings)
    other = changes.BuildState(state.fingerprint.replace(":duckdb:", ":spark:"), "spark", False)
    assert not changes.BuildState.read(settings).allows_selection(other, settings)
    # a lake or warehouse in another place: everything is read again, from there
    for moved in (
        replace(settings, lake=settings.lake.parent / "moved-lake"),
        replace(settings, warehouse=settings.warehouse.with_name("moved.duckdb")),
    ):
        assert not changes.BuildState.read(settings).allows_selection(
            changes.BuildState.starting(moved, "duckdb"), moved
        )
    settings.warehouse.unlink()
    assert not changes.BuildState.read(settings).allows_selection(state, settings)


def test_a_daily_build_reads_the_quality_files_written_since_the_previous_build(tmp_path):
    """dq_changes lists the audit and results files written since the previous build began
    (an hour's margin for clocks), and the zones' files of the loads those audits are of."""
    import os
    from datetime import UTC, datetime, timedelta

    from sotelake.lake import zones

    began = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    written = {  # file -> when it was written
        zones.dq_file(tmp_path, "load_audit", "finance", "ledger_postings", DAY): began
        - timedelta(days=1),
        zones.dq_file(tmp_path, "load_audit", "unified_record", "visits", NEXT): began
        + timedelta(hours=20),
        zones.dq_file(tmp_path, "load_audit", "hr", "staff_months", NEXT): began
        - timedelta(minutes=30),
        zones.dq_file(tmp_path, "validation_results", "unified_record", "visits", NEXT): began
        + timedelta(hours=21),
        zones.dq_file(tmp_path, "validation_results", "finance", "ledger_postings", DAY): began
        - timedelta(days=1),
    }
    for zone, source, table, day in [
        (zones.RAW, "unified_record", "visits", NEXT),
        (zones.QUARANTINE, "unified_record", "visits", NEXT),
        (zones.RAW, "unified_record", "visits", DAY),  # an earlier load of the table
        (zones.RAW, "finance", "ledger_postings", DAY),
    ]:
        written[zones.partition(tmp_path, zone, source, table, day) / "load.parquet"] = began
    for path, when in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        os.utime(path, (when.timestamp(), when.timestamp()))
    listed = changes.dq_changes(tmp_path, began)
    names = {
        kind: [p.removeprefix(str(tmp_path) + "/") for p in files] for kind, files in listed.items()
    }
    assert names == {
        "load_audit": [
            "dq/load_audit/hr__staff_months__2026-01-02.parquet",
            "dq/load_audit/unified_record__visits__2026-01-02.parquet",
        ],
        "validation_results": ["dq/validation_results/unified_record__visits__2026-01-02.parquet"],
        "quarantine": ["quarantine/unified_record/visits/load_date=2026-01-02/load.parquet"],
        "raw": ["raw/unified_record/visits/load_date=2026-01-02/load.parquet"],
        "rejected": [],
    }
