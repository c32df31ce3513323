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
import zipfile
from pathlib import Path

import duckdb
import jsonschema
import pytest
import yaml
from support import FIXTURES

from sotelake.settings import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
SCHEMA = FIXTURES / "compose-spec" / "compose-spec.json"
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
SPARK_SERVICES = {  # profile `spark`: the main class each runs
    "spark-master": "org.apache.spark.deploy.master.Master",
    "spark-worker": "org.apache.spark.deploy.worker.Worker",
    "spark-thrift": "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
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
    default = {name for name, service in services.items() if not service.get("profiles")}
    assert set(AIRFLOW_SERVICES) | {"airflow-db", "warehouse-db", "source-db", "sotelake-init"} == (
        default
    )
    assert set(services) - default == set(SPARK_SERVICES)
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


def test_the_spark_profile_runs_the_pinned_spark_release(compose):
    """Master, worker and Thrift Server: the official image of pyspark's release, main classes
    and scripts that this release ships, and nothing outside the profile waits for them."""
    import pyspark

    pinned = re.search(r"pyspark==([\d.]+)", (REPO_ROOT / "pyproject.toml").read_text())[1]
    assert pyspark.__version__ == pinned
    home = Path(pyspark.__file__).parent  # pyspark's wheel holds the release's jars and bin/
    classes = set()
    for jar in home.glob("jars/spark-*.jar"):
        with zipfile.ZipFile(jar) as archive:
            classes |= {n[:-6].replace("/", ".") for n in archive.namelist() if "$" not in n}
    services = compose["services"]
    entrypoint = compose["x-spark-common"]["entrypoint"]  # a user name for the uid
    wrapper = REPO_ROOT / entrypoint[1].replace("/opt/sotelake/", "")
    subprocess.run(["bash", "-n", str(wrapper)], check=True)
    ran = subprocess.run(["bash", str(wrapper), "echo", "ran"], capture_output=True, text=True)
    assert ran.stdout == "ran\n"  # it runs the command it is given
    for name, main_class in SPARK_SERVICES.items():
        service = services[name]
        assert service["profiles"] == ["spark"], name
        assert service["entrypoint"] == entrypoint and entrypoint[0] == "bash", name
        assert "./deploy/spark:/opt/sotelake/deploy/spark:ro" in service["volumes"], name
        assert service["image"] == f"apache/spark:{pinned}-scala2.13-java21-python3-ubuntu"
        script, *args = service["command"]
        assert script.startswith("/opt/spark/bin/") and (home / "bin" / Path(script).name).exists()
        assert main_class in args and main_class in classes, name
        assert service["healthcheck"]["test"], name
        assert service["user"] == compose["x-airflow-common"]["user"]  # one owner of ./data
    for name, service in services.items():
        if name not in SPARK_SERVICES:
            assert not set(service.get("depends_on") or {}) & set(SPARK_SERVICES), name
    master = services["spark-master"]["command"]
    url = f"spark://{master[master.index('--host') + 1]}:{master[master.index('--port') + 1]}"
    assert url in services["spark-worker"]["command"]
    assert (
        services["spark-thrift"]["command"][
            services["spark-thrift"]["command"].index("--master") + 1
        ]
        == url
    )


def test_airflow_builds_through_the_thrift_server_of_the_profile(compose):
    """With SOTELAKE_DBT_TARGET=spark, Airflow's dbt reaches the profile's Thrift Server through
    the spark_thrift output, and the executors see the lake where Airflow writes it."""
    from pyhive import hive  # noqa: F401  (dbt-spark[PyHive], in the Airflow image)

    from sotelake.settings import DBT_TARGETS

    environment = compose["x-airflow-common"]["environment"]
    thrift = compose["services"][environment["SOTELAKE_SPARK_THRIFT_HOST"]]["command"]
    assert f"hive.server2.thrift.port={environment['SOTELAKE_SPARK_THRIFT_PORT']}" in thrift
    assert "hive.server2.thrift.bind.host=0.0.0.0" in thrift
    # the executors reach the driver by its service name, not the container's own hostname
    assert f"spark.driver.host={environment['SOTELAKE_SPARK_THRIFT_HOST']}" in thrift
    profile = yaml.safe_load((REPO_ROOT / "dbt" / "profiles.yml").read_text())["sotelake"]
    output = profile["outputs"]["spark_thrift"]
    assert output["method"] == "thrift"
    assert "SOTELAKE_SPARK_THRIFT_HOST" in output["host"]
    assert "SOTELAKE_SPARK_THRIFT_PORT" in output["port"]
    # a Thrift Server applies a session's settings given as set:hiveconf:<key> only
    session = profile["outputs"]["spark"]["server_side_parameters"]
    assert {
        key.removeprefix("set:hiveconf:"): value
        for key, value in output["server_side_parameters"].items()
    } == {
        key: value
        for key, value in session.items()
        if key.startswith("spark.sql.") and key != "spark.sql.warehouse.dir"  # the server's own
    } | {"spark.sql.ansi.enabled": "false"}  # dbt-spark's own, as a plain key
    data = environment["SOTELAKE_DATA_DIR"]
    assert f"./data:{data}" in compose["x-airflow-common"]["volumes"]
    for name in ("spark-worker", "spark-thrift"):
        assert f"./data:{data}" in compose["services"][name]["volumes"], name
    for setting in ("spark.sql.warehouse.dir=", "databaseName=", "derby.system.home="):
        (argument,) = [a for a in thrift if setting in a]
        assert argument.split(setting, 1)[1].startswith(f"{data}/spark-cluster"), argument
    example = dict(
        line.split("=", 1)
        for line in (REPO_ROOT / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert example["SOTELAKE_DBT_TARGET"] in DBT_TARGETS


def test_the_warehouse_init_script_gives_bi_tools_a_read_only_login(tmp_path):
    """Runs deploy/warehouse-db/10-bi-roles.sh as the postgres image would, publishes a
    warehouse, and logs in as the BI user."""
    from support.postgres import ThrowawayPostgres

    from sotelake.settings import get_settings
    from sotelake.transform.bi_warehouse import publish_to_postgres

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


def test_the_servers_lineage_goes_where_the_embedded_modes_does(compose, monkeypatch):
    """Airflow's OpenLineage provider in compose: the pipeline's namespace, thread emission and
    policy, and the file transport into data/lineage/ (sotelake.publish.lineage)."""
    import json

    from sotelake.publish.lineage import airflow_environment

    environment = compose["x-airflow-common"]["environment"]
    monkeypatch.setenv("SOTELAKE_DATA_DIR", environment["SOTELAKE_DATA_DIR"])
    for variable in ("OPENLINEAGE_URL", "SOTELAKE_LINEAGE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr("pathlib.Path.mkdir", lambda *args, **kwargs: None)
    embedded = airflow_environment()
    served = {k: v for k, v in environment.items() if k.startswith("AIRFLOW__OPENLINEAGE__")}
    assert set(served) == set(embedded)
    for key, value in embedded.items():
        if value.startswith(("{", "[")):
            assert json.loads(served[key]) == json.loads(value), key
        else:
            assert served[key] == value, key
