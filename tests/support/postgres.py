"""A throwaway PostgreSQL cluster for the tests.

    with ThrowawayPostgres() as pg:
        pg.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
        duckdb_con.execute(f"ATTACH '{pg.dsn}' AS pg (TYPE postgres)")  # needs postgres-scanner

Each cluster is a fresh ``initdb`` in its own temporary folder (in /dev/shm when it is roomy),
listening on a free TCP port on 127.0.0.1 and on a unix socket in that folder, tuned for speed
rather than durability (fsync, full-page writes and synchronous commit off); it starts in about
a second. Leaving the ``with`` block stops the server
(``pg_ctl stop -m immediate``) and removes the folder, also on exceptions; an ``atexit`` hook
and a small watchdog process (which outlives even a SIGKILL of Python) make sure no server is
left behind.

The server refuses to run as root, so as root ``initdb`` and ``pg_ctl`` run as the ``postgres``
OS user (through ``runuser``), which the Debian ``postgresql`` package creates. Nothing needs
psycopg: SQL goes through the ``psql`` client binary.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote as urlquote

__all__ = [
    "PostgresNotInstalled",
    "PostgresStartError",
    "ThrowawayPostgres",
    "default_base_dir",
    "find_bindir",
    "free_port",
]

DEBIAN_PACKAGE = "postgresql"
DEBIAN_ROOT = Path("/usr/lib/postgresql")  # Debian: <version>/bin, not on PATH
_NEEDED = ("initdb", "pg_ctl", "postgres", "psql")
_FIELD_SEP = "\x1f"  # psql output separators that never occur in ordinary data
_RECORD_SEP = "\x1e"


class PostgresNotInstalled(RuntimeError):
    """The PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found."""


class PostgresStartError(RuntimeError):
    """initdb or the server failed; the message holds the command output and the log tail."""


def find_bindir() -> Path:
    """The folder holding initdb, pg_ctl, postgres and psql.

    Looked for in ``$SOTELAKE_PG_BINDIR``, then next to ``pg_ctl`` on ``PATH``, then in the
    newest ``/usr/lib/postgresql/<version>/bin`` (where Debian puts them, off ``PATH``).
    """
    candidates: list[Path] = []
    if override := os.environ.get("SOTELAKE_PG_BINDIR"):
        candidates.append(Path(override))
    if on_path := shutil.which("pg_ctl"):
        candidates.append(Path(on_path).resolve().parent)
    versions = DEBIAN_ROOT.glob("*/bin")
    candidates += sorted(versions, key=lambda p: _version_key(p.parent.name), reverse=True)
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in _NEEDED):
            return bindir
    raise PostgresNotInstalled(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) not found on PATH or in "
        f"{DEBIAN_ROOT}/*/bin; install them with "
        f"`apt-get install -y --no-install-recommends {DEBIAN_PACKAGE}` (Debian/Ubuntu) "
        "or point SOTELAKE_PG_BINDIR at the folder holding them"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def default_base_dir() -> str | None:
    """``/dev/shm`` when it is roomy (initdb there takes half the time it takes on disk), else
    None: the system temp dir. Docker gives containers a 64 MB /dev/shm, too small."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= 1 << 30:
        return str(shm)
    return None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _conninfo_value(value: str) -> str:
    """A libpq ``key=value`` value, quoted only when it must be (random passwords never are)."""
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class ThrowawayPostgres:
    """A private PostgreSQL server that lives as long as a ``with`` block (or start()/stop()).

    After start: ``url``, ``dsn`` (libpq key=value, what DuckDB's ATTACH takes), ``dsn_parts``,
    ``host``, ``port``, ``user``, ``password``, ``dbname``, ``socket_dir`` and
    ``startup_seconds``.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        user: str = "sotelake",
        dbname: str = "sotelake",
        password: str | None = None,
        *,
        os_user: str = "postgres",
        base_dir: str | Path | None = None,
        timeout: float = 30.0,
        settings: dict[str, str] | None = None,
    ) -> None:
        """``os_user`` runs the server when we are root; ``base_dir`` holds the temporary
        folder (default: ``default_base_dir()``; as root ``os_user`` must be able to enter it);
        ``settings`` are extra ``postgresql.conf`` lines, e.g. ``{"max_connections": "20"}``.
        """
        self.user, self.dbname = user, dbname
        self.password = password or secrets.token_urlsafe(18)
        self.os_user, self.timeout = os_user, timeout
        self.base_dir = default_base_dir() if base_dir is None else base_dir
        self.settings = {
            "listen_addresses": "'127.0.0.1'",
            "fsync": "off",
            "full_page_writes": "off",
            "synchronous_commit": "off",
            **(settings or {}),
        }
        self.port = 0
        self.tmpdir: Path | None = None
        self.startup_seconds = 0.0
        self._bindir: Path | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._owner_pid = os.getpid()

    # -- paths and connection details ---------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self._tmp / "data"

    @property
    def socket_dir(self) -> Path:
        return self._tmp / "sock"

    @property
    def log_file(self) -> Path:
        return self._tmp / "server.log"

    @property
    def _tmp(self) -> Path:
        if self.tmpdir is None:
            raise RuntimeError("the cluster is not started")
        return self.tmpdir

    @property
    def dsn_parts(self) -> dict[str, str | int]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
        }

    @property
    def dsn(self) -> str:
        """libpq ``key=value`` connection string (DuckDB: ``ATTACH '<dsn>' (TYPE postgres)``)."""
        return self.dsn_for(self.user, self.password, self.dbname)

    @property
    def url(self) -> str:
        return self.url_for(self.user, self.password, self.dbname)

    def dsn_for(self, user: str, password: str, dbname: str) -> str:
        parts = {"host": self.host, "port": self.port, "user": user, "password": password}
        return " ".join(
            f"{k}={_conninfo_value(str(v))}" for k, v in {**parts, "dbname": dbname}.items()
        )

    def url_for(self, user: str, password: str, dbname: str) -> str:
        auth = f"{urlquote(user, safe='')}:{urlquote(password, safe='')}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{urlquote(dbname, safe='')}"

    # -- life cycle -----------------------------------------------------------------------

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> ThrowawayPostgres:
        """initdb, start the server on a free port, create the database; returns self."""
        if self.tmpdir is not None:
            raise RuntimeError("the cluster is already started")
        began = time.perf_counter()
        self._bindir = find_bindir()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="sotelake-pg-", dir=self.base_dir))
        atexit.register(self.stop)
        try:
            self._prepare_tmpdir()
            self._initdb()
            self._start_server()
            if self.dbname != "postgres":
                self.execute(f"CREATE DATABASE {_ident(self.dbname)}", dbname="postgres")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - began
        return self

    def stop(self) -> None:
        """Stop the server at once (no checkpoint) and delete its folder; safe to call twice."""
        if self.tmpdir is None or os.getpid() != self._owner_pid:
            return  # not started, already stopped, or a forked child that does not own it
        try:
            self._shutdown_server()
        finally:
            if self._watchdog is not None:
                self._watchdog.kill()
                self._watchdog.wait()
                self._watchdog = None
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None
            atexit.unregister(self.stop)

    # -- SQL --------------------------------------------------------------------------------

    def execute(self, sql: str, *, dbname: str | None = None, user: str | None = None) -> str:
        """Run SQL (one or many statements) through ``psql`` over the unix socket.

        Stops at the first error (raising ``subprocess.CalledProcessError`` with psql's
        message in ``stderr``); returns psql's unaligned output, fields separated by
        ``\\x1f`` and rows by ``\\x1e`` (``query`` splits them).
        """
        cmd = [str(self._bin("psql")), *"-X -q -w -A -t -v ON_ERROR_STOP=1 -f -".split()]
        cmd += ["-F", _FIELD_SEP, "-R", _RECORD_SEP, "-h", str(self.socket_dir)]
        cmd += ["-p", str(self.port), "-U", user or self.user, "-d", dbname or self.dbname]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        done = subprocess.run(
            cmd, input=sql, env=env, capture_output=True, text=True, timeout=self.timeout
        )
        if done.returncode:
            raise subprocess.CalledProcessError(done.returncode, cmd, done.stdout, done.stderr)
        return done.stdout

    psql = execute

    def query(self, sql: str, *, dbname: str | None = None) -> list[tuple[str, ...]]:
        """Rows of a query as tuples of text (NULL comes back as an empty string)."""
        out = self.execute(sql, dbname=dbname).strip("\n")
        return [tuple(row.split(_FIELD_SEP)) for row in out.split(_RECORD_SEP) if row]

    def create_role(
        self, name: str, password: str | None = None, *, superuser: bool = False
    ) -> str:
        """Create a login role; returns its password (random unless given)."""
        password = password or secrets.token_urlsafe(18)
        attrs = "LOGIN SUPERUSER" if superuser else "LOGIN"
        self.execute(f"CREATE ROLE {_ident(name)} {attrs} PASSWORD {_literal(password)}")
        return password

    def create_database(self, name: str, owner: str | None = None) -> None:
        owned = f" OWNER {_ident(owner)}" if owner else ""
        self.execute(f"CREATE DATABASE {_ident(name)}{owned}", dbname="postgres")

    # -- internals --------------------------------------------------------------------------

    @property
    def _as_other_user(self) -> bool:
        return os.geteuid() == 0

    def _bin(self, name: str) -> Path:
        assert self._bindir is not None
        return self._bindir / name

    def _wrap(self, cmd: list[str]) -> list[str]:
        """As root, run ``cmd`` as the server's OS user (initdb and postgres refuse root)."""
        return ["runuser", "-u", self.os_user, "--", *cmd] if self._as_other_user else cmd

    def _run(self, cmd: list[str], what: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "LC_", "LANG"))}
        env["LC_ALL"] = "C"  # exists everywhere; English messages
        done = subprocess.run(
            self._wrap(cmd),
            cwd=self._tmp,  # the server's user may not be able to enter our working directory
            env=env,
            capture_output=True,
            text=True,
            timeout=self.timeout + 10,
        )
        if check and done.returncode:
            raise PostgresStartError(
                f"{what} failed (exit {done.returncode}): {shlex.join(cmd)}\n"
                f"{done.stdout}{done.stderr}{self._log_tail()}"
            )
        return done

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self._bin("pg_ctl")), "-D", str(self.data_dir), *args]
        return self._run(cmd, f"pg_ctl {args[0]}", check=check)

    def _prepare_tmpdir(self) -> None:
        self.socket_dir.mkdir()
        if not self._as_other_user:
            return
        if shutil.which("runuser") is None:
            raise PostgresStartError("running as root needs `runuser` (util-linux) to start it")
        try:
            account = pwd.getpwnam(self.os_user)
        except KeyError:
            raise PostgresStartError(
                f"running as root needs an OS user {self.os_user!r} to run the server; "
                f"the Debian package {DEBIAN_PACKAGE!r} creates 'postgres'"
            ) from None
        for path in (self._tmp, self.socket_dir):
            os.chown(path, account.pw_uid, account.pw_gid)
        if self._run(["test", "-w", str(self._tmp)], "access check", check=False).returncode:
            raise PostgresStartError(
                f"the OS user {self.os_user!r} cannot write {self._tmp}: pass a base_dir "
                "whose parent folders it can enter (e.g. /tmp)"
            )

    def _initdb(self) -> None:
        pwfile = self._tmp / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._as_other_user:
            account = pwd.getpwnam(self.os_user)
            os.chown(pwfile, account.pw_uid, account.pw_gid)
        pwfile.chmod(0o600)
        try:
            self._run(
                [
                    str(self._bin("initdb")),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.user,
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",  # the socket sits in a folder only we can enter
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",  # always available, unlike en_US.UTF-8 or C.UTF-8
                    "--no-sync",
                ],
                "initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        lines = {**self.settings, "unix_socket_directories": _literal(str(self.socket_dir))}
        with open(self.data_dir / "postgresql.conf", "a") as conf:  # appended: ownership kept
            conf.write("\n# sotelake ThrowawayPostgres\n")
            conf.writelines(f"{key} = {value}\n" for key, value in lines.items())

    def _start_server(self, attempts: int = 3) -> None:
        """``pg_ctl start -w`` on a free port; another pick if someone took the port first."""
        for attempt in range(attempts):
            self.port = free_port(self.host)
            self._start_watchdog()
            log, wait = ["-l", str(self.log_file)], ["-w", "-t", str(int(self.timeout))]
            done = self._pg_ctl("start", *wait, *log, "-o", f"-p {self.port}", check=False)
            if done.returncode == 0:
                return
            self._pg_ctl("stop", "-m", "immediate", check=False)
            if "already in use" not in self._log_tail() or attempt == attempts - 1:
                raise PostgresStartError(
                    f"PostgreSQL failed to start on port {self.port} (pg_ctl exit "
                    f"{done.returncode}, timeout {self.timeout:.0f} s):\n{done.stdout}{done.stderr}"
                    f"{self._log_tail()}"
                )
            self.log_file.unlink(missing_ok=True)

    def _start_watchdog(self) -> None:
        """A shell that stops the server and deletes the folder once Python is gone."""
        if self._watchdog is not None:
            return
        stop = shlex.join(self._wrap([str(self._bin("pg_ctl")), "-D", str(self.data_dir)]))
        script = (
            f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
            f"{stop} stop -m immediate >/dev/null 2>&1; rm -rf {shlex.quote(str(self._tmp))}"
        )
        self._watchdog = subprocess.Popen(
            ["sh", "-c", script],
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # survives a kill of our process group
        )

    def _shutdown_server(self) -> None:
        """``pg_ctl stop -m immediate``; SIGKILL to the postmaster if that fails."""
        pidfile = self.data_dir / "postmaster.pid"
        if not pidfile.exists():
            return
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = 0
        try:
            stopped = self._pg_ctl("stop", "-m", "immediate", "-w", check=False).returncode == 0
        except subprocess.SubprocessError:
            stopped = False
        if not stopped and pid > 0:
            try:
                os.kill(pid, signal.SIGKILL)  # its backends notice and exit by themselves
            except OSError:
                pass

    def _log_tail(self, lines: int = 20) -> str:
        try:
            tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "\n--- server log (last lines) ---\n" + "\n".join(tail)
