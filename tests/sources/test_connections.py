"""The documented ways to point the pipeline at a real record system work: Airflow's UI offers
the Postgres and SQLite connection types, and a connection stored the UI's way (its fields in
Airflow's metadata database) or given as ``AIRFLOW_CONN_*`` reaches a real PostgreSQL whose
password needs escaping (``p@ss:w/rd#1``)."""

from __future__ import annotations

import warnings
from datetime import date

import pytest
from support.postgres import ThrowawayPostgres
from support.probe_dags import run_probe_dag

from sotelake.airflow_secrets import url_of
from sotelake.demo.generate import DemoSpec, generate
from sotelake.demo.to_postgres import copy_record_system
from sotelake.lake.audit import read_audit
from sotelake.settings import ConfigurationError

PASSWORD = "p@ss:w/rd#1"
PROBE_DAG = """
import pendulum
from airflow.sdk import dag, task

@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1))
def connection_probe():
    @task
    def extract_through(conn_id: str, load_date: str) -> str:
        from sotelake import airflow_secrets
        from sotelake.pipeline import extract

        url = airflow_secrets.connection_url(conn_id)
        load = {"source": "unified_record", "table": "units", "load_date": load_date,
                "name": "unified_record.units"}
        extract(load, b"k" * 32, lambda _: url)  # the connection stands for the source's
        return url.split("://")[0]

    extract_through.expand_kwargs([
        {"conn_id": "record_system_ui", "load_date": "2026-01-01"},
        {"conn_id": "record_system_env", "load_date": "2026-01-02"},
        {"conn_id": "record_system_file", "load_date": "2026-01-03"},
    ])

connection_probe()
"""


def test_the_ui_offers_the_postgres_and_sqlite_connection_types(airflow_db):
    from airflow.providers_manager import ProvidersManager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hooks = ProvidersManager().hooks
    assert {"postgres", "sqlite"} <= set(hooks)


def test_a_url_is_built_from_the_fields_with_each_part_escaped():
    assert url_of(
        "postgres",
        host="db.example.fi",
        port=5433,
        login="record sys",
        password=PASSWORD,
        schema="unified/record",
        extra={"sslmode": "verify-full", "cursor": "dictcursor"},
    ) == (
        "postgresql://record%20sys:p%40ss%3Aw%2Frd%231@db.example.fi:5433/unified%2Frecord"
        "?sslmode=verify-full"
    )
    assert url_of("sqlite", host="/srv/record.sqlite") == "sqlite:////srv/record.sqlite"
    with pytest.raises(ConfigurationError, match="postgres or sqlite"):
        url_of("http", host="example.fi", conn_id="x")


@pytest.fixture(scope="module")
def record_system(airflow_db, tmp_path_factory):
    data = tmp_path_factory.mktemp("connections")
    manifest = generate(DemoSpec(residents=300, seed=8), data)
    with ThrowawayPostgres(user="recordsys", password=PASSWORD, dbname="unified_record") as pg:
        copy_record_system(data / "sources" / "unified_record.sqlite", pg.url)
        yield data, manifest, pg


def test_a_ui_connection_and_airflow_conn_reach_a_server_whose_password_needs_escaping(
    record_system, tmp_path, monkeypatch
):
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    data, manifest, pg = record_system
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(data))
    stored = {
        "record_system_ui": {  # what the UI's form stores: the fields, as typed
            "conn_type": "postgres",
            "host": pg.host,
            "port": pg.port,
            "login": "recordsys",
            "password": PASSWORD,
            "schema": "unified_record",
        },
        "record_system_file": {
            "conn_type": "sqlite",
            "host": str(data / "sources" / "unified_record.sqlite"),
        },
    }
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id.in_(stored)).delete()
        for conn_id, fields in stored.items():
            session.add(Connection(conn_id=conn_id, **fields))
    # the URI form: Airflow's own, with the password percent-encoded
    assert "p%40ss%3Aw%2Frd%231" in pg.url
    monkeypatch.setenv("AIRFLOW_CONN_RECORD_SYSTEM_ENV", pg.url)
    run = run_probe_dag(PROBE_DAG, tmp_path, "connection_probe")
    states = {ti.map_index: str(ti.state) for ti in run.get_task_instances()}
    assert states == {0: "success", 1: "success", 2: "success"}, states
    units = manifest["rows"]["unified_record"]["units"]
    for day in (1, 2, 3):
        audit = read_audit(data / "lake", "unified_record", "units", date(2026, 1, day))
        assert (audit.status, audit.extracted) == ("loaded", units), day
