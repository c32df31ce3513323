"""docker-compose.yml without a Docker engine: valid by the Compose Specification, and every
image, command, mounted path and variable it names exists; its init scripts really run.

The schema is the Compose Specification's own (tests/fixtures/compose-spec, Apache-2.0).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import jsonschema
import pytest
import yaml

from sotelake.settings import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).parent / "fixtures" / "compose-spec" / "compose-spec.json"
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_the_file_is_valid_by_the_compose_specification(compose):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(compose)
    broken = {"services": {"x": {"image": "postgres:16", "restart": ["always"]}}}
    with pytest.raises(jsonschema.ValidationError):  # the schema does reject a bad file
        jsonschema.Draft7Validator(schema).validate(broken)


def test_services_of_the_server_mode_with_health_checks(compose):
    services = compose["services"]
    assert set(AIRFLOW_SERVICES) | {"airflow-db", "warehouse-db", "source-db", "sotelake-init"} == (
        set(services)
    )
    for name, service in services.items():
        assert service.get("image"), name
        if name != "sotelake-init":  # a one-off job, waited for by the others
            assert service["healthcheck"]["test"], name
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == [command]
        assert services[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert services[name]["depends_on"]["sotelake-init"] == {
            "condition": "service_completed_successfully"
        }
        for database in ("airflow-db", "warehouse-db", "source-db"):
            assert services[name]["depends_on"][database]["condition"] == "service_healthy"


def test_the_airflow_commands_exist_in_the_pinned_airflow(compose):
    airflow = Path(sys.executable).with_name("airflow")
    out = subprocess.run([str(airflow), "--help"], capture_output=True, text=True, check=True)
    for command in AIRFLOW_SERVICES.values():
        assert re.search(rf"^\s+{command}\s", out.stdout, re.M), command
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    pinned = re.search(r"apache-airflow==([\d.]+)", (REPO_ROOT / "pyproject.toml").read_text())
    assert f"FROM apache/airflow:{pinned[1]}-python3.11" in dockerfile
    assert compose["x-airflow-common"]["build"] == "."


def test_mounted_paths_exist_and_the_init_script_uses_real_commands(compose):
    services = compose["services"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and source != "./data":  # data is created by the run
                assert (REPO_ROOT / source).exists(), f"{name}: {source}"
    init = services["sotelake-init"]
    script = init["command"][0].replace("/opt/sotelake/", "")
    assert (REPO_ROOT / script).exists()
    subprocess.run(["bash", "-n", str(REPO_ROOT / script)], check=True)
    used = set(re.findall(r"python -m sotelake\.cli ([a-z-]+)", (REPO_ROOT / script).read_text()))
    assert used == {"airflow", "generate", "copy-to-postgres"}
    for command in used:
        done = subprocess.run(
            [sys.executable, "-m", "sotelake.cli", command, "--help"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "plugins")},
        )
        assert done.returncode == 0 or command == "airflow", done.stderr


def test_every_variable_is_in_env_example_and_connections_name_services(compose):
    text = COMPOSE.read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_]+)(?::-[^}]*)?\}", text))  # $$: the container's
    example = REPO_ROOT / ".env.example"
    defined = {line.split("=", 1)[0] for line in example.read_text().splitlines() if "=" in line}
    assert used <= defined, used - defined
    assert ".env" in (REPO_ROOT / ".gitignore").read_text().split()
    environment = compose["x-airflow-common"]["environment"]
    for key in ("AIRFLOW_CONN_SOTELAKE_UNIFIED_RECORD", "AIRFLOW_CONN_SOTELAKE_BI_WAREHOUSE"):
        host = re.search(r"@([a-z-]+):5432/", environment[key])[1]
        assert host in compose["services"], key


def test_the_warehouse_init_script_gives_bi_tools_a_read_only_login(tmp_path):
    """Runs deploy/warehouse-db/10-bi-roles.sh as the postgres image would, publishes a
    warehouse, and logs in as the BI user."""
    from sotelake.devtools.postgres import ThrowawayPostgres
    from sotelake.publish.bi_warehouse import publish_to_postgres
    from sotelake.settings import get_settings

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create schema dq; create schema staging")
        con.execute("create table marts.dim_x as select range as id from range(7)")
        con.execute("create table dq.quarantine as select 'row' as row_json")
        con.execute("create table staging.stg_x as select 1 as secret")
    settings = get_settings().__class__(**{**vars(get_settings()), "warehouse": warehouse})
    with ThrowawayPostgres() as pg:
        env = {
            **os.environ,
            "PATH": f"{pg._bindir}{os.pathsep}{os.environ['PATH']}",
            "PGHOST": str(pg.socket_dir),
            "PGPORT": str(pg.port),
            "POSTGRES_USER": pg.user,
            "POSTGRES_DB": pg.dbname,
            "BI_READER_USER": "bi",
            "BI_READER_PASSWORD": "bi-secret",
        }
        if os.geteuid() == 0:  # the cluster's unix socket belongs to the postgres user
            env["PGHOST"] = "127.0.0.1"
            env["PGPASSWORD"] = pg.password
        subprocess.run(
            ["bash", str(REPO_ROOT / "deploy" / "warehouse-db" / "10-bi-roles.sh")],
            env=env,
            check=True,
            capture_output=True,
        )
        publish_to_postgres(pg.url, settings, run_id="t")
        bi = duckdb.connect()
        from sotelake.engine import extension_file

        bi.execute(f"LOAD '{extension_file('postgres-scanner')}'")
        bi.execute(f"ATTACH '{pg.dsn_for('bi', 'bi-secret', pg.dbname)}' AS w (TYPE postgres)")
        assert bi.execute("select count(*) from w.marts.dim_x").fetchone() == (7,)
        with pytest.raises(duckdb.Error, match="permission denied"):
            bi.execute("select * from w.dq.quarantine").fetchall()
        tables = {t for (t,) in bi.execute("select table_name from duckdb_tables()").fetchall()}
        assert "stg_x" not in tables
