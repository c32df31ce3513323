"""The throwaway PostgreSQL cluster: SQL through psql, DuckDB's postgres extension, clean-up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from support import postgres
from support.postgres import PostgresNotInstalled, PostgresStartError, ThrowawayPostgres

from sotelake import engine


@pytest.fixture(scope="module")
def pg():
    with ThrowawayPostgres() as cluster:
        yield cluster


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def running(pid: int) -> bool:
    """Alive and not a zombie (a stopped postmaster is reaped by init, maybe a little later)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def postmaster_pid(cluster: ThrowawayPostgres) -> int:
    return int((cluster.data_dir / "postmaster.pid").read_text().split()[0])


def assert_gone(port: int, tmpdir: Path, pid: int, within: float = 0.0) -> None:
    deadline = time.monotonic() + within
    while (port_open(port) or tmpdir.exists() or running(pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not port_open(port), f"port {port} still accepts connections"
    assert not tmpdir.exists(), f"{tmpdir} was not removed"
    assert not running(pid), f"postmaster {pid} still runs"


def test_sql_through_psql(pg):
    assert pg.startup_seconds < 15
    assert pg.url == f"postgresql://sotelake:{pg.password}@127.0.0.1:{pg.port}/sotelake"
    assert pg.dsn == (
        f"host=127.0.0.1 port={pg.port} user=sotelake password={pg.password} dbname=sotelake"
    )
    assert pg.dsn_parts == {
        "host": "127.0.0.1",
        "port": pg.port,
        "user": "sotelake",
        "password": pg.password,
        "dbname": "sotelake",
    }
    rows = pg.query(
        "SELECT current_user, current_database(), current_setting('fsync'),"
        " current_setting('synchronous_commit'), current_setting('server_encoding'),"
        " (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
    )
    assert rows == [("sotelake", "sotelake", "off", "off", "UTF8", "t")]
    pg.execute(
        "CREATE TABLE notes (id int, body text);"
        "INSERT INTO notes VALUES (1, 'tab\there'), (2, NULL), (3, 'rivi\nvaihto ä');"
    )
    assert pg.query("SELECT * FROM notes ORDER BY id") == [
        ("1", "tab\there"),
        ("2", ""),
        ("3", "rivi\nvaihto ä"),
    ]
    with pytest.raises(subprocess.CalledProcessError) as failed:
        pg.execute("SELECT 1; SELECT * FROM no_such_table; SELECT 2")
    assert "no_such_table" in failed.value.stderr


def test_duckdb_reads_and_writes_postgres(pg):
    pg.execute(
        "CREATE TABLE visits (id int PRIMARY KEY, unit text, day date);"
        "INSERT INTO visits VALUES (1, 'Kotka', '2026-02-01'), (2, 'Hamina', '2026-02-02');"
    )
    con = engine.connect(extensions=("postgres-scanner",))
    con.execute(f"ATTACH {engine.literal(pg.dsn)} AS pg (TYPE postgres)")
    rows = con.execute("SELECT id, unit, day::VARCHAR FROM pg.public.visits ORDER BY id").fetchall()
    assert rows == [(1, "Kotka", "2026-02-01"), (2, "Hamina", "2026-02-02")]
    con.execute("CREATE TABLE pg.public.from_duckdb AS SELECT range AS n FROM range(5)")
    con.close()
    assert pg.query("SELECT sum(n) FROM from_duckdb") == [("10",)]


def test_extra_role_and_database_over_tcp_with_password(pg):
    password = pg.create_role("reader", "it's secret")
    pg.create_database("reports", owner="reader")
    pg.execute("CREATE TABLE t AS SELECT 42 AS answer", dbname="reports", user="reader")
    con = engine.connect(extensions=("postgres-scanner",))
    for name, target in {
        "by_url": pg.url_for("reader", password, "reports"),
        "by_dsn": pg.dsn_for("reader", password, "reports"),  # quotes and escapes the password
    }.items():
        con.execute(f"ATTACH {engine.literal(target)} AS {name} (TYPE postgres)")
        assert con.execute(f"SELECT answer FROM {name}.public.t").fetchall() == [(42,)]
    con.close()
    wrong = engine.literal(pg.url_for("reader", "wrong", "reports"))
    with pytest.raises(Exception, match="authentication failed"):
        engine.connect(extensions=("postgres-scanner",)).execute(
            f"ATTACH {wrong} AS r (TYPE postgres)"
        )


def taken_port_first(monkeypatch, taken: socket.socket, times: int) -> None:
    """Make the cluster's first ``times`` port picks return a port someone listens on."""
    real_free_port = postgres.free_port
    picks = iter([taken.getsockname()[1]] * times)
    monkeypatch.setattr(postgres, "free_port", lambda host: next(picks, None) or real_free_port())


def test_another_port_if_taken_then_stopped_and_removed_on_exit(monkeypatch):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        taken_port_first(monkeypatch, taken, times=1)
        with ThrowawayPostgres(user="u", dbname="d") as cluster:
            port, tmpdir, pid = cluster.port, cluster.tmpdir, postmaster_pid(cluster)
            assert port != taken.getsockname()[1] and port_open(port)
            assert cluster.query("SELECT current_user, current_database()") == [("u", "d")]
    assert_gone(port, tmpdir, pid)
    cluster.stop()  # a second stop does nothing


def test_stopped_and_removed_on_exception():
    with pytest.raises(ZeroDivisionError), ThrowawayPostgres() as cluster:
        port, tmpdir, pid = cluster.port, cluster.tmpdir, postmaster_pid(cluster)
        1 / 0  # noqa: B018
    assert_gone(port, tmpdir, pid)


def test_stopped_by_the_watchdog_when_python_is_killed():
    script = textwrap.dedent(
        """
        import time
        from support.postgres import ThrowawayPostgres
        pg = ThrowawayPostgres().start()
        pid = open(pg.data_dir / "postmaster.pid").read().split()[0]
        print(pg.port, pg.tmpdir, pid, flush=True)
        time.sleep(600)
        """
    )
    tests = str(Path(__file__).resolve().parents[1])  # where the tests' support package is
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        port, tmpdir, pid = child.stdout.readline().split()
        assert port_open(int(port))
    finally:
        child.send_signal(signal.SIGKILL)  # no atexit, no finally: only the watchdog is left
        child.wait()
    assert_gone(int(port), Path(tmpdir), int(pid), within=10)


def test_start_failure_reports_the_server_log_and_cleans_up(monkeypatch):
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):  # notes the cluster's folder
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        taken_port_first(monkeypatch, taken, times=3)  # every attempt
        cluster = ThrowawayPostgres()
        with pytest.raises(PostgresStartError, match="server log") as failed:
            cluster.start()
    assert "Address already in use" in str(failed.value)
    assert cluster.tmpdir is None and made and not Path(made[0]).exists()


def test_missing_binaries_name_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("SOTELAKE_PG_BINDIR", raising=False)
    monkeypatch.setattr(postgres, "DEBIAN_ROOT", tmp_path)
    with pytest.raises(PostgresNotInstalled, match="apt-get install -y --no-install-recommends"):
        ThrowawayPostgres().start()
