"""The lake on an object store: a real S3 endpoint (moto's server mode, started by this module
as its own process), the embedded pipeline writing and reading through it (extraction, GX,
dbt-duckdb through httpfs, the gold export), and the same county built on a local lake to
compare with. The warehouse and the reports stay local.

The county has the demo's row faults, so validation also rewrites raw objects (rows
quarantined); the tests that change the lake come last, one of them rejecting a batch (moved to
the rejected zone and back)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import boto3
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.postgres import free_port

from sotelake import pipeline
from sotelake.demo.faults import DEFAULT_RATES
from sotelake.demo.generate import DemoSpec, generate
from sotelake.lake import state, storage
from sotelake.lake.audit import read_audit
from sotelake.lake.privacy_scan import scan_tree
from sotelake.quality.validate import Validator
from sotelake.settings import ConfigurationError, get_settings
from sotelake.transform.bi_warehouse import URL_ENV

# minutes (a county built on an S3 endpoint, and again on a local lake): `make test-slow` and CI
pytestmark = pytest.mark.slow


# faults in rows, not those that hold a source back (a duplicate ledger key rejects the batch, a
# missing HR column fails the load): indicator_values needs every source
FAULTS = {k: v for k, v in DEFAULT_RATES.items() if k not in ("duplicate_keys", "missing_column")}
SPEC = DemoSpec(residents=1_000, seed=11, faults=FAULTS)
DAY = date(2026, 1, 1)
KEY = b"object-store-test-key-" + b"k" * 20
RUN_ID = "object-store-test"
BUCKET = "sotelake-lake"
# loaded again by the re-run test: database tables (patients with invalid henkilötunnus
# quarantined at extraction, visits with rows quarantined by validation), delivered files, a FHIR
# export, a full file table
RELOADED = {
    "unified_record.patients",
    "unified_record.visits",
    "legacy_record.visits",
    "purchased_services.encounters",
    "population.residents",
}
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "sotelake-test",
    "AWS_SECRET_ACCESS_KEY": "sotelake-test-secret",
    "AWS_REGION": "eu-north-1",
}


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on a free port, with one empty bucket; its URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"moto's S3 server did not start on port {port}")
            time.sleep(0.1)
    client(url).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": CREDENTIALS["AWS_REGION"]}
    )
    yield url
    server.terminate()
    server.wait(timeout=10)


def client(url: str):
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_REGION"],
    )


def keys(url: str, prefix: str = "lake/") -> list[str]:
    pages = client(url).get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


@contextmanager
def environment(values: dict[str, str]):
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(URL_ENV, raising=False)  # no PostgreSQL BI warehouse in this module
        for name, value in values.items():
            patch.setenv(name, value)
        yield get_settings()


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """The demo county's source systems, generated once; each run works on its own copy."""
    path = tmp_path_factory.mktemp("county")
    generate(SPEC, path)
    return path


def data_dir_with_sources(county, path):
    for folder in ("sources", "landing"):
        shutil.copytree(county / folder, path / folder)
    return path


def extract(settings, names: set[str] | None = None) -> list[dict]:
    """The extract tasks of the load date (or of the tables ``names``)."""
    return [
        pipeline.extract(load, KEY, settings=settings)
        for load in pipeline.plan_loads(DAY, settings)
        if names is None or load["name"] in names
    ]


def validate_without_docs(settings, loads: list[dict]) -> list:
    """Each load validated as the validate task does, without building GX's Data Docs (the
    reference build and the re-run need the lake's rows, not the reports)."""
    validator = Validator(RUN_ID, settings)
    return [validator.validate_load(load["source"], load["table"], DAY) for load in loads]


def scratch_folders() -> set[str]:
    return {p for p in os.listdir(tempfile.gettempdir()) if p.startswith("sotelake-scratch-")}


@pytest.fixture(scope="module")
def s3_run(s3_endpoint, county, tmp_path_factory):
    """The whole pipeline (extract, validate, transform, publish) with the lake on S3."""
    data = data_dir_with_sources(county, tmp_path_factory.mktemp("s3-run"))
    env = {
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": s3_endpoint,
        "SOTELAKE_DATA_DIR": str(data),
        "SOTELAKE_LAKE": f"s3://{BUCKET}/lake",
    }
    scratch_before = scratch_folders()
    with environment(env) as settings:
        assert storage.on_object_store(settings.lake)
        run = {"loads": extract(settings)}
        run["checked"] = pipeline.validate(
            pipeline.plan_loads(DAY, settings), run["loads"], RUN_ID, settings
        )
        run["transformed"] = pipeline.transform(RUN_ID, run["checked"]["held_back"], DAY, settings)
        run["published"] = pipeline.publish(RUN_ID, settings)
    return {**run, "env": env, "data": data, "scratch_left": scratch_folders() - scratch_before}


@pytest.fixture(scope="module")
def local_run(county, tmp_path_factory):
    """The same county with a local lake: extraction, validation and the dbt models (the
    build's tests run on the S3 run)."""
    from sotelake.transform.dbt_build import LOAD_DATE_ENV, run_dbt

    data = data_dir_with_sources(county, tmp_path_factory.mktemp("local-run"))
    with environment({"SOTELAKE_DATA_DIR": str(data)}) as settings:
        assert not storage.on_object_store(settings.lake)
        loads = extract(settings)
        summaries = validate_without_docs(settings, loads)
        assert "rejected" not in {s.status for s in summaries}
        run_dbt(
            ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"],
            settings=settings,
            # the periods' status as of the same day as the S3 run's
            extra_env={"SOTELAKE_RUN_ID": RUN_ID, LOAD_DATE_ENV: DAY.isoformat()},
        )
    return {"loads": loads, "data": data, "warehouse": settings.warehouse}


def test_the_run_writes_every_zone_under_its_documented_keys(s3_run, s3_endpoint):
    found = set(keys(s3_endpoint))
    checked = s3_run["checked"]
    assert checked["problems"] == [] and checked["held_back"] == []
    status = {(v["source"], v["table"]): v["status"] for v in checked["summaries"]}
    assert status["unified_record", "visits"] == "rows_quarantined"  # impossible dates etc.
    day = f"load_date={DAY.isoformat()}"
    for load in s3_run["loads"]:
        source, table, load_id = load["source"], load["table"], load["load_id"]
        assert f"lake/dq/load_audit/{source}__{table}__{DAY}.parquet" in found
        assert f"lake/_state/{source}__{table}.json" in found
        if load["status"] == "no_data":
            continue
        assert f"lake/raw/{source}/{table}/{day}/{load_id}.parquet" in found
        assert f"lake/quarantine/{source}/{table}/{day}/{load_id}.parquet" in found
        assert f"lake/dq/validation_results/{source}__{table}__{DAY}.parquet" in found
    loaded = [load for load in s3_run["loads"] if load["status"] != "no_data"]
    assert len(loaded) >= 20
    manifest = json.loads(
        client(s3_endpoint).get_object(Bucket=BUCKET, Key="lake/gold/manifest.json")["Body"].read()
    )
    assert manifest["run_id"] == RUN_ID
    gold = {f"lake/gold/{t['file']}" for t in manifest["tables"]}
    assert "lake/gold/marts/indicator_values.parquet" in gold
    assert gold <= found
    assert s3_run["published"]["gold_manifest"] == f"s3://{BUCKET}/lake/gold/manifest.json"
    assert not [k for k in found if "/_tmp/" in k or k.endswith((".tmp", ".lock"))]


def test_nothing_is_written_to_a_local_lake(s3_run):
    data = s3_run["data"]
    assert not (data / "lake").exists()
    assert (data / "warehouse.duckdb").is_file()  # the warehouse and the reports stay local
    assert (data / "reports" / "indicators" / "index.html").is_file()
    assert (data / "reports" / "quality" / "index.html").is_file()
    assert not s3_run["scratch_left"], "local scratch folders are removed"


def test_every_load_accounts_for_its_rows_in_the_audit(s3_run):
    with environment(s3_run["env"]) as settings:
        lake = settings.lake
        audits = storage.read_table(storage.files(lake / "dq" / "load_audit")).to_pylist()
        assert len(audits) == len(s3_run["loads"])
        for audit in audits:
            assert audit["extracted"] == audit["loaded"] + audit["quarantined"] + audit["rejected"]
            partition = f"{audit['source']}/{audit['table_name']}/load_date={DAY}"
            for zone, rows in (
                ("raw", audit["loaded"]),
                ("quarantine", audit["quarantined"]),
                ("rejected", audit["rejected"]),
            ):
                assert storage.parquet_rows(storage.files(lake / zone / partition)) == rows
        assert {a["status"] for a in audits} == {"loaded"}  # a first load: every table has rows
        assert sum(a["quarantined"] for a in audits) > 0  # invalid henkilötunnus, failed checks
    warehouse = duckdb.connect(str(s3_run["data"] / "warehouse.duckdb"), read_only=True)
    try:
        failed = warehouse.execute(
            "select count(*) from dq.reconciliation_loads where not passed"
        ).fetchone()[0]
        audited = warehouse.execute("select count(*) from dq.load_audit").fetchone()[0]
    finally:
        warehouse.close()
    assert (failed, audited) == (0, len(audits))


def test_indicator_values_equal_those_of_a_local_lake(s3_run, local_run):
    # first published when each run built it: the two runs differ only in time
    query = "select * exclude (first_published_at) from marts.indicator_values order by all"
    with duckdb.connect(str(s3_run["data"] / "warehouse.duckdb"), read_only=True) as con:
        on_s3 = con.execute(query).fetchall()
    with duckdb.connect(str(local_run["warehouse"]), read_only=True) as con:
        local = con.execute(query).fetchall()
    assert len(on_s3) > 1000
    assert on_s3 == local


def test_no_henkilotunnus_in_the_objects(s3_run, s3_endpoint):
    with environment(s3_run["env"]) as settings:
        scanned, hits = scan_tree(settings.lake)
        # the local outputs too: the warehouse's views read the lake on S3
        _, local_hits = scan_tree(settings.data_dir)
    assert scanned == len(keys(s3_endpoint)) > 0
    assert hits == local_hits == []


def test_concurrent_state_updates_are_not_lost(s3_run):
    """Loads of one table for different dates at once (a backfill beside the daily run): the
    conditional writes keep every date's entry."""
    with environment(s3_run["env"]) as settings:

        def record(first: int) -> None:
            for offset in range(first, first + 6):
                day = date(2025, 1, 1) + timedelta(days=offset)
                state.record(settings.lake, "test", "concurrent", day, state.Window())

        threads = [threading.Thread(target=record, args=(n * 6,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(state.read_state(settings.lake, "test", "concurrent")) == 18
        storage.remove(settings.lake / "_state" / "test__concurrent.json")


def test_a_misconfigured_object_store_is_named(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    cases = {
        "s3://": "s3://bucket",
        "gs://county/lake": "gs:// is not supported",
        "s3://county/lake": "AWS_ACCESS_KEY_ID",
    }
    for url, message in cases.items():
        monkeypatch.setenv("SOTELAKE_LAKE", url)
        with pytest.raises(ConfigurationError, match="SOTELAKE_LAKE") as raised:
            get_settings()
        assert message in str(raised.value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "localhost:9000")
    with pytest.raises(ConfigurationError, match="AWS_ENDPOINT_URL='localhost:9000'"):
        get_settings()
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:9000")
    from sotelake.transform.dbt_build import build_on_spark

    with pytest.raises(ConfigurationError, match="hadoop-aws"):
        build_on_spark("run")


def test_parquet_read_from_the_store_equals_the_local_lakes(s3_run, local_run):
    """The raw zone holds the same rows either way (pseudonyms and all), but for lineage."""
    lineage = {"_load_id", "_extracted_at", "_published_at"}
    with environment(s3_run["env"]) as settings:
        on_s3 = storage.read_table(
            storage.files(settings.lake / "raw/unified_record/patients" / f"load_date={DAY}")
        )
    local = pq.read_table(
        local_run["data"] / "lake/raw/unified_record/patients" / f"load_date={DAY}"
    )
    columns = [c for c in local.column_names if c not in lineage]
    assert (
        on_s3.select(columns)
        .sort_by("patient_id")
        .equals(local.select(columns).sort_by("patient_id"))
    )


def test_rerunning_the_load_date_replaces_its_partitions(s3_run, s3_endpoint):
    """It loads and validates the date again (a table of each kind), replacing what the tests
    above read."""

    def partitions() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for key in keys(s3_endpoint):
            if key.startswith(("lake/raw/", "lake/quarantine/", "lake/rejected/")):
                folder, name = key.rsplit("/", 1)
                found.setdefault(folder, []).append(name)
        return found

    def rows(settings, found: dict[str, list[str]]) -> dict[str, int]:
        """Rows per partition; each holds one object (``(name,)`` fails otherwise)."""
        return {
            folder: storage.parquet_rows([settings.lake / folder.removeprefix("lake/") / name])
            for folder, (name,) in found.items()
        }

    before = partitions()
    reloaded = [load for load in s3_run["loads"] if load["name"] in RELOADED]
    assert len(reloaded) == len(RELOADED)
    with environment(s3_run["env"]) as settings:
        rows_before = rows(settings, before)
        since = datetime.now(UTC) - timedelta(seconds=1)  # S3 keeps whole seconds
        again = extract(settings, RELOADED)
        validate_without_docs(settings, again)
        # what a daily build would read of the audit: the files the re-run wrote (by S3's clock)
        rewritten = storage.modified_since(settings.lake / "dq" / "load_audit", since)
        after = partitions()
        rows_after = rows(settings, after)
        con = duckdb.connect()
        storage.configure_duckdb(con, settings.lake)
        (in_lake,) = con.execute(
            f"select count(*) from read_parquet('{settings.lake}/raw/*/*/*/*.parquet', "
            "union_by_name = true)"
        ).fetchone()
        con.close()
        states = {
            load["name"]: list(state.read_state(settings.lake, load["source"], load["table"]))
            for load in reloaded
        }
    assert after.keys() == before.keys()
    assert rows_after == rows_before
    assert in_lake == sum(n for folder, n in rows_before.items() if folder.startswith("lake/raw/"))
    first = {load["name"]: load for load in reloaded}
    assert len(again) == len(RELOADED)
    for load in again:
        earlier = first[load["name"]]
        assert (load["extracted"], load["loaded"]) == (earlier["extracted"], earlier["loaded"])
        for zone in ("raw", "quarantine"):
            folder = f"lake/{zone}/{load['source']}/{load['table']}/load_date={DAY}"
            assert before[folder] == [f"{earlier['load_id']}.parquet"]
            assert after[folder] == [f"{load['load_id']}.parquet"]  # the old object is gone
        assert states[load["name"]] == [DAY.isoformat()]
    assert [p.name for p in rewritten] == sorted(
        f"{load['source']}__{load['table']}__{DAY}.parquet" for load in reloaded
    )


def test_a_rejected_batch_moves_to_the_rejected_zone_and_back_for_replay(s3_run, s3_endpoint):
    """A critical expectation fails (a duplicate key written into the raw object): the batch
    moves to the rejected zone; restoring it for a replay moves it back."""
    from sotelake.quality.validate import restore_rejected

    def units(zone: str) -> list[str]:
        return keys(s3_endpoint, f"lake/{zone}/unified_record/units/load_date={DAY}/")

    (raw,) = units("raw")
    with environment(s3_run["env"]) as settings:
        (path,) = storage.files(settings.lake / raw.removeprefix("lake/").rsplit("/", 1)[0])
        batch = storage.read_table(path)
        storage.write_table(pa.concat_tables([batch, batch.slice(0, 1)]), path)
        summary = Validator(RUN_ID, settings).validate_load("unified_record", "units", DAY)
        rejected = read_audit(settings.lake, "unified_record", "units", DAY)
        assert (units("raw"), units("rejected")) == ([], [raw.replace("/raw/", "/rejected/")])
        assert restore_rejected("unified_record", "units", DAY, settings)
        restored = read_audit(settings.lake, "unified_record", "units", DAY)
    assert summary.status == "rejected" and summary.failed["critical"] >= 1
    assert (rejected.status, rejected.loaded, rejected.rejected) == ("rejected", 0, batch.num_rows)
    assert (units("raw"), units("rejected")) == ([raw], [])
    assert (restored.status, restored.loaded, restored.rejected) == ("loaded", batch.num_rows, 0)
