"""Nothing leaks: no secret, identifier or row reaches a public table or any text the pipeline
writes, as a careless operator and a curious BI user would find out.

One DAG run (dag.test) of a small county whose deliveries are as bad as they come: the record
system's database refuses its password (``S3cret-pw``, from the environment, which Airflow does
not mask), a budget file has lost its header row (its first line holds a henkilötunnus, a name
and an address), a ledger file has a malformed line quoting them, the legacy system adds columns
named by a code and a name, and puts codes (in both cases), the patient's own name and address
into bad values and codes into its free-text diagnoses. Every output is then searched: the lake
(every zone), the warehouse, the gold zone, the reports, the logs, Airflow's database, the
files set aside and the PostgreSQL BI warehouse, where bi_reader is also tried as an attacker
would try it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml
from support.postgres import ThrowawayPostgres

from sotelake import cli
from sotelake.demo.generate import DemoSpec, generate
from sotelake.lake.privacy_scan import scan_tree
from sotelake.privacy.hetu import check
from sotelake.settings import REPO_ROOT
from sotelake.transform.bi_warehouse import URL_ENV
from sotelake.withholding import WITHHELD, WITHHELD_CODE

SPEC = DemoSpec(residents=1_500, seed=19, faults={"codes_in_free_text": 0.02})
DAY = date(2026, 1, 1)
PASSWORD = "S3cret-pw"
CODE, OTHER_CODE = "100349-164T", "131052-308T"  # valid codes, planted in both cases
NAME, ADDRESS = "Maija Poppanen", "Kotikatu 5 B 12"
NEEDLES = [n.lower() for n in (PASSWORD, CODE, OTHER_CODE, NAME, ADDRESS)]  # sought in any case


def plant(data: Path) -> dict:
    """The bad deliveries; returns the codes each load should withhold from free text."""
    landing = data / "landing"
    # a budget file without its header row: its first line is a row of personal data
    (landing / "finance" / "budget_2026.csv").write_text(
        f"{CODE};{NAME};{ADDRESS};1000,00\n2026;1;X-01;1000,00\n", encoding="utf-8"
    )
    # a ledger file with a malformed line (one field too many) quoting them
    gl = landing / "finance" / "gl_2025-12.csv"
    header = gl.read_text(encoding="utf-8").splitlines()[0]
    (landing / "finance" / "gl_2025-12b.csv").write_text(
        f"{header}\n2025129999998;2025-12;31.12.2025;X-01;4500;1,00;oma;{CODE.lower()};{NAME}\n",
        encoding="utf-8",
    )
    # free text of the ledger: a posting whose description names the client by code
    with open(gl, "a", encoding="utf-8") as f:
        f.write(f"2025129999999;2025-12;31.12.2025;ESH-02;4500;10,00;oma;Lasku {CODE} ja ")
        f.write(f"{OTHER_CODE.lower()}\n")
    # the legacy system: an address column, two undeclared columns named by a code and a
    # name, and rows that put codes, the patient's own name and address where they do not go
    legacy = sorted((landing / "legacy_record").glob("kaynnit_231_*.csv"))[0]
    lines = legacy.read_text(encoding="utf-8-sig").splitlines()[1:]
    row = next(r for r in (line.split(";") for line in lines) if check(r[0])[0])
    header = ["HETU", "NIMI", "KUNTA", "KAYNTIPVM", "KLO", "AMMATTI", "YHTEYSTAPA"]
    header += ["KIIREELLISYYS", "TOIMIPISTE", "KESTO_H", "DIAGNOOSI", "OSOITE"]
    header += [OTHER_CODE.lower(), NAME]

    def line(time: str, hours: str, text: str, profession: str = row[5]) -> str:
        fields = [row[0], NAME, row[2], "15.03.2025", time, profession, *row[6:9], hours, text]
        return ";".join([*fields, ADDRESS, "x", "y"])

    rows = [
        line("23:51", "0,50", f"J06 soitto {CODE}"),  # loaded, its code withheld
        line("23:52", NAME, f"soitto {OTHER_CODE.lower()}"),  # bad value: the own name
        line("23:53", ADDRESS, "R74"),  # bad value: the own address
        line("23:54", CODE.lower(), "R74"),  # bad value: a code
        line("23:55", "25,00", "R74"),  # implausible duration: a warning, stays in raw
        line("23:56", "0,50", f"J06 soitto {OTHER_CODE}", profession="XX"),  # error: quarantined
    ]
    (landing / "legacy_record" / "kaynnit_231_2025-03b.csv").write_text(
        "\r\n".join([";".join(header), *rows]) + "\r\n", encoding="utf-8-sig"
    )
    return {"legacy_record.visits": 4, "finance.ledger_postings": 2}


@pytest.fixture(scope="module")
def leaky(tmp_path_factory):
    """The run, as an operator starts it: ``sotelake run``, with everything it prints kept."""
    data = tmp_path_factory.mktemp("leaky")
    config = data / "config"
    shutil.copytree(REPO_ROOT / "config", config)
    registry = yaml.safe_load((config / "sources.yml").read_text(encoding="utf-8"))
    registry["sources"]["legacy_record"]["tables"]["visits"]["columns"]["OSOITE"] = {
        "privacy": "drop"
    }
    (config / "sources.yml").write_text(yaml.safe_dump(registry, allow_unicode=True))
    with ThrowawayPostgres() as bi, pytest.MonkeyPatch.context() as env:
        env.setenv("SOTELAKE_DATA_DIR", str(data))
        env.setenv("SOTELAKE_CONFIG", str(config))
        env.setenv(URL_ENV, bi.url)
        # the record system refuses the user and password it is given
        env.setenv(
            "SOTELAKE_SOURCE_UNIFIED_RECORD_URL",
            bi.url_for("recordsys", PASSWORD, "unified_record"),
        )
        manifest = generate(SPEC, data)
        planted = plant(data)
        planted["legacy_record.visits"] += manifest["faults"]["codes_in_free_text"]["count"]
        # its own Airflow home, under the data folder, as `sotelake run` makes it
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        run = subprocess.run(
            [str(Path(sys.executable).with_name("sotelake")), "run", "--load-date", str(DAY)],
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
        yield data, bi, run, planted


def query(data: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_the_bad_deliveries_fail_or_are_set_aside_and_say_why_without_quoting(leaky):
    data, _, run, planted = leaky
    assert run.returncode == 1 and "failed in" in run.stdout, run.stdout[-3000:]
    failed = run.stdout.split("tasks not successful: ")[1].splitlines()[0]
    # a failed run says so shortly: the failed task, the outputs that exist, the log and the
    # stewards' report, and no traceback (the other programs' output is in the log)
    assert len(run.stdout.splitlines()) + len(run.stderr.splitlines()) <= 60, run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    assert "extract unified_record.patients" in run.stdout and "FAILED" in run.stdout
    assert "The run failed (extract[" in run.stdout and "reports/quality/index.html" in run.stdout
    (log,) = (data / "logs").glob("run-*.log")
    assert f"Its log says why: {log}" in run.stdout and "[DAG TEST]" in log.read_text()
    assert "'extract[unified_record.patients]': 'failed'" in failed
    assert "'extract[finance.budget]': 'failed'" in failed and "'conclude': 'failed'" in failed
    assert "legacy_record.visits" not in failed and "publish" not in failed
    audit = {
        f"{s}.{t}": rest
        for s, t, *rest in query(
            data,
            "select source, table_name, status, error, rejected_files_json, withheld_columns, "
            "codes_withheld from dq.load_audit",
        )
    }
    status, error, *_ = audit["unified_record.visits"]
    assert status == "failed" and "password authentication failed" in error
    assert f"postgresql://{WITHHELD}@127.0.0.1" in error  # where, not who with which password
    status, error, *_ = audit["finance.budget"]
    assert status == "failed" and "is the header row missing?" in error
    rejected = json.loads(audit["finance.ledger_postings"][2])
    assert "Expected Number of Columns" in rejected["gl_2025-12b.csv"]
    withheld = audit["legacy_record.visits"][3].split(";")
    assert withheld == ["column 13 (name withheld)", "column 14 (name withheld)"]
    for table, codes in planted.items():
        assert audit[table][4] == codes, table


def test_quarantined_rows_withhold_codes_and_the_rows_own_name_and_address(leaky):
    data, *_ = leaky
    rows = [
        json.loads(r)
        for (r,) in query(
            data,
            "select row_json from dq.quarantine where source_file = 'kaynnit_231_2025-03b.csv' "
            "order by row_json",
        )
    ]
    by_time = {r["KLO"]: r for r in rows}
    assert set(by_time) == {"23:52", "23:53", "23:54", "23:56"}
    assert by_time["23:52"]["KESTO_H"] == WITHHELD  # the patient's own name, misplaced
    assert by_time["23:52"]["DIAGNOOSI"] == f"soitto {WITHHELD_CODE}"
    assert by_time["23:53"]["KESTO_H"] == WITHHELD  # the patient's own address
    assert by_time["23:54"]["KESTO_H"] == WITHHELD_CODE
    assert by_time["23:56"]["DIAGNOOSI"] == f"J06 soitto {WITHHELD_CODE}"
    assert {"HETU", "NIMI", "OSOITE"}.isdisjoint(*[r for r in rows if "NIMI" in r] or [{}])


def _texts_of_parquet_and_duckdb(path: Path) -> list[str]:
    """Every text value and column name of a Parquet file or a DuckDB database."""
    if path.suffix == ".parquet":
        con, relations = duckdb.connect(), [f"read_parquet('{path}')"]
    else:
        con = duckdb.connect(str(path), read_only=True)
        relations = [
            f'"{s}"."{t}"'
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_type = 'BASE TABLE'"
            ).fetchall()
        ]
    found = []
    try:
        for relation in relations:
            columns = con.execute(f"describe select * from {relation}").fetchall()
            found += [c[0] for c in columns]
            for name, *_ in columns:
                found += [
                    v
                    for (v,) in con.execute(
                        f'select distinct "{name}"::varchar from {relation} '
                        f'where "{name}" is not null'
                    ).fetchall()
                ]
    finally:
        con.close()
    return found


def _leaks_in(root: Path, skip=("sources", "landing")) -> list[str]:
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if set(path.relative_to(root).parts[:-1]) & set(skip):
            continue
        if path.suffix in (".parquet", ".duckdb"):
            text = "\n".join(_texts_of_parquet_and_duckdb(path)).lower()
        else:
            text = path.read_bytes().decode("utf-8", errors="replace").lower()
        hits += [f"{path}: {needle}" for needle in NEEDLES if needle in text]
    return hits


def test_no_password_code_name_or_address_in_any_output(leaky):
    data, bi, run, _ = leaky
    # the lake, the warehouse, the gold zone, the reports, dbt's logs, Airflow's database
    hits = _leaks_in(data)
    # what the run printed (the operator's summary) and the log of the other programs' output
    # it names (every task's log: dag.test prints them)
    run_logs = "".join(log.read_text() for log in (data / "logs").glob("run-*.log"))
    printed = (run.stdout + run.stderr + run_logs).lower()
    assert "password authentication failed" in printed and "load_audit" in printed
    hits += [f"printed: {n}" for n in NEEDLES if n in printed]
    # what the load set aside: the rejected files' reasons (the files themselves are inputs)
    reasons = list((data / "landing").glob("*/_rejected/*.reason.txt"))
    for reason in reasons:
        hits += [f"{reason}: {n}" for n in NEEDLES if n in reason.read_text().lower()]
    assert reasons and (data / "airflow" / "airflow.db").exists() and not hits
    dump = subprocess.run(
        [str(bi._bin("pg_dump")), "-h", str(bi.socket_dir), "-p", str(bi.port), "-U", bi.user],
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("PG")}
        | {"PGDATABASE": bi.dbname},
    ).stdout.lower()
    assert "dq.load_audit" in dump or "load_audit" in dump
    assert [n for n in NEEDLES if n in dump] == []
    files, codes = scan_tree(data)  # sotelake scan-privacy: valid codes in any case
    assert files > 50 and codes == []


def test_bi_reader_reads_no_row_level_example_and_a_steward_does(leaky):
    data, bi, *_ = leaky
    columns = {
        c
        for (c,) in bi.query(
            "select column_name from information_schema.columns "
            "where table_schema = 'dq' and table_name = 'validation_results'"
        )
    }
    assert "unexpected_shapes_json" in columns
    assert not {"examples_json", "partial_unexpected_json"} & columns
    shapes = bi.query(
        "select unexpected_shapes_json from dq.validation_results "
        "where table_name = 'visits' and column_name = 'KESTO_H' and not success"
    )
    assert shapes == [('{"99.99": 1}',)]  # 25.00: its shape, not the value
    examples = query(
        data,
        "select column_name, examples_json from dq.validation_examples "
        "where source = 'legacy_record'",
    )
    shown = {c: [e["KLO"] for e in json.loads(j)] for c, j in examples}
    assert shown == {"KESTO_H": ["23:55"]}, "the warning's row; the quarantined row is not shown"
    bi.create_role("anna")
    bi.execute("grant bi_reader to anna")
    bi.create_role("stina")
    bi.execute("grant dq_steward to stina")
    assert "permission denied" in _as(bi, "anna", "select * from dq.validation_examples")
    assert int(bi.execute("select count(*) from dq.validation_examples", user="stina")) >= 1
    assert "KESTO_H" in bi.execute("select examples_json from dq.validation_examples", user="stina")


def _as(bi, user: str, sql: str, dbname: str | None = None) -> str:
    try:
        return bi.execute(sql, user=user, dbname=dbname).strip()
    except subprocess.CalledProcessError as error:
        return f"denied: {error.stderr.strip()}"


def test_bi_reader_is_locked_down(leaky):
    _, bi, *_ = leaky
    bi.create_role("olli")
    bi.execute("grant bi_reader to olli")
    bi.execute("create database other_data")
    # a database made since the last publication is closed to PUBLIC at the next one
    assert cli.main(["publish-postgres", bi.url]) == 0
    assert int(_as(bi, "olli", "select count(*) from marts.dim_date")) > 300
    for sql, refusal in (
        ("create temporary table t (x int)", "permission denied to create temporary tables"),
        ("copy (select 1) to program 'id'", "must be superuser or have privileges of the"),
        ("copy marts.dim_date to '/tmp/dim_date.csv'", "must be superuser or have privileges"),
        ("copy marts.dim_date from '/etc/passwd'", "must be superuser or have privileges"),
        ("select pg_read_file('/etc/passwd')", "permission denied for function pg_read_file"),
        ("select pg_ls_dir('.')", "permission denied for function pg_ls_dir"),
        ("set role dq_steward", "permission denied to set role"),
        ("set role sotelake", "permission denied to set role"),
        ("select * from dq.quarantine", "permission denied"),
        ("select * from sotelake.publications", "permission denied"),
    ):
        assert refusal in _as(bi, "olli", sql), sql
    # only the warehouse database: not the cluster's others, old or new
    for other in ("postgres", "template1", "other_data"):
        assert "permission denied for database" in _as(bi, "olli", "select 1", dbname=other)
    # every schema: no object can be made anywhere, and only marts and dq can be entered
    schemas = [s for (s,) in bi.query("select nspname from pg_namespace")]
    assert {"marts", "dq", "public", "sotelake", "pg_catalog"} <= set(schemas)
    for schema in schemas:
        assert "denied" in _as(bi, "olli", f'create table "{schema}".mine (x int)'), schema
    usable = {
        s
        for (s,) in bi.query(
            "select nspname from pg_namespace where has_schema_privilege('olli', oid, 'USAGE')"
        )
    }
    assert usable == {"marts", "dq", "pg_catalog", "information_schema"}
    readable = {
        f"{s}.{t}"
        for s, t in bi.query(
            "select schemaname, tablename from pg_tables "
            "where schemaname not in ('pg_catalog', 'information_schema') "
            "and has_table_privilege('olli', schemaname || '.' || tablename, 'SELECT')"
        )
    }
    assert readable and all(r.split(".")[0] in ("marts", "dq") for r in readable)
    assert not {"dq.quarantine", "dq.validation_examples"} & readable
