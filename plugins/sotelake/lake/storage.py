"""The lake's storage: the one way to list, read, write, delete and replace under the lake root.

The root (``SOTELAKE_LAKE``) is a local folder (the default, ``data/lake``) or an object-store
URL, ``s3://bucket/prefix`` (AWS S3, MinIO or any S3-compatible store; ``s3a://`` is taken as
a synonym), reached through fsspec
(s3fs) as a universal-pathlib path, so the code below the root joins, names and lists paths the
same way for both. A local root stays a plain ``pathlib.Path``, and every function here does on
it what the pipeline always did (renames, a file lock): the local lake is neither changed nor
slower.

On an object store, credentials and endpoint come from the standard AWS variables, which boto
reads too (``s3_access``): ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, optionally
``AWS_SESSION_TOKEN``, ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``; default ``us-east-1``) and,
for a store that is not AWS, ``AWS_ENDPOINT_URL`` (``http://host:port`` for one without TLS;
``AWS_ENDPOINT_URL_S3`` wins when both are set, as in boto). DuckDB (dbt's sources, the lake
copy, the privacy scan) reaches the same store through its httpfs extension with the same
credentials (``configure_duckdb``).

What is atomic (``replace_dir``, ``move_dir``, ``write_table``, ``update_text``):

- a local folder: a partition is written into a scratch folder (``scratch_dir``) and becomes
  visible in one step: one rename onto an absent name, or, where a partition is there already,
  one exchange of the two folders (Linux's ``renameat2`` with ``RENAME_EXCHANGE``, on ext4, xfs,
  btrfs, tmpfs, overlayfs and NFS 4), so a reader, or a crash at any moment, sees the old
  partition or the new one, never none. A file is replaced by a rename, and the watermark state
  is updated under a file lock;
- an object store has no rename: one object is the unit of atomicity (a PUT, or a multipart
  upload, becomes visible whole when it completes). New objects are therefore written first,
  under the final keys that readers glob, and only then are the stale ones deleted. A load's
  partition is one object per zone, named by its load id (a re-run's differs), so a reader sees
  the previous load, the new one, or, in the instant between the last PUT and the DELETE, both.
  A crash in that instant leaves both until the load runs again: its task's retry, or any
  re-run of the date, deletes every object of the partition but its own; until then the run
  holds the source back (its extraction did not finish), so the warehouse build does not read
  it. Deleting first would instead risk an empty partition, which a full table's
  ``latest_load`` would silently pass over for an older date; staging under ``_tmp`` and
  copying server-side writes everything twice and leaves the same window (a copy is a PUT
  too). The watermark state is read, changed and written with a conditional PUT (If-Match /
  If-None-Match), retried when another load wrote in between.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from sotelake.object_store import S3Access, object_store_root, s3_access  # noqa: F401

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import duckdb
    from upath import UPath

    from sotelake.object_store import LakePath


def on_object_store(path: LakePath) -> bool:
    """A path on an object store (a universal-pathlib path), not a local folder's."""
    return not isinstance(path, Path)


# --- the root -----------------------------------------------------------------------------


# S3Access, s3_access and object_store_root live on the ground floor (sotelake.object_store),
# which the settings read the lake's root with; they are imported here for the lake's users.


# --- reading ------------------------------------------------------------------------------


def files(folder: LakePath, pattern: str = "*.parquet") -> list[LakePath]:
    """The files in ``folder`` matching ``pattern``, sorted by name; none if it is missing."""
    return sorted(folder.glob(pattern), key=lambda p: p.name)


def modified_since(folder: LakePath, since: datetime, pattern: str = "*.parquet") -> list[LakePath]:
    """The files in ``folder`` matching ``pattern`` last modified at ``since`` or later, sorted
    by name (on an object store, by the store's clock; a file it gives no time for is kept)."""
    if not on_object_store(folder):
        stamp = since.timestamp()
        found = [p for p in folder.glob(pattern) if p.stat().st_mtime >= stamp]
        return sorted(found, key=lambda p: p.name)
    listed = folder.fs.glob(f"{folder.path}/{pattern}", detail=True)
    found = []
    for key, info in listed.items():
        modified = info.get("LastModified") or info.get("mtime")
        if isinstance(modified, (int, float)):
            modified = datetime.fromtimestamp(modified, UTC)
        if modified is None or modified >= since:
            found.append(folder / key.rsplit("/", 1)[-1])
    return sorted(found, key=lambda p: p.name)


def all_files(folder: LakePath) -> list[LakePath]:
    """Every file under ``folder``, at any depth, sorted by path."""
    if not on_object_store(folder):
        return sorted(p for p in folder.rglob("*") if p.is_file())
    return [folder / key[len(folder.path) + 1 :] for key in sorted(_keys(folder))]


def read_table(paths: LakePath | list, **options) -> pa.Table:
    """One Parquet file, or several as one table (pyarrow.parquet.read_table's options)."""
    many = isinstance(paths, list)
    first = paths[0] if many else paths
    if not on_object_store(first):
        return pq.read_table(paths, **options)
    keys = [p.path for p in paths] if many else paths.path
    return pq.read_table(keys, filesystem=first.fs, **options)


def parquet_rows(paths: list[LakePath]) -> int:
    """Rows in Parquet files, from their footers."""
    if not paths or not on_object_store(paths[0]):
        return sum(pq.read_metadata(p).num_rows for p in paths)
    total = 0
    for path in paths:
        with path.fs.open(path.path, "rb") as f:
            total += pq.read_metadata(f).num_rows
    return total


def read_text(path: LakePath) -> str | None:
    """A text file's content, or None if there is none."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


# --- writing ------------------------------------------------------------------------------


def write_table(table: pa.Table, path: LakePath, **options) -> None:
    """Write a Parquet file whole or not at all, replacing one there (pyarrow's options)."""
    if not on_object_store(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp, **options)
        tmp.replace(path)
        return
    with tempfile.TemporaryDirectory(prefix="sotelake-") as scratch:
        local = Path(scratch) / path.name
        pq.write_table(table, local, **options)
        path.fs.put_file(str(local), path.path)  # visible when the upload completes


def write_text(path: LakePath, text: str) -> None:
    """Write a text file whole or not at all, replacing one there."""
    if not on_object_store(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        return
    path.fs.pipe_file(path.path, text.encode("utf-8"))


def update_text(path: LakePath, change: Callable[[str | None], str]) -> None:
    """Replace a text file by ``change(its content or None)``, with no other update between
    the read and the write (loads of different dates may run at once): under a file lock
    locally, by a conditional PUT retried on a conflict on an object store."""

    def in_bytes(content: bytes | None) -> bytes:
        return change(None if content is None else content.decode("utf-8")).encode("utf-8")

    update_bytes(path, in_bytes)


def update_bytes(path: LakePath, change: Callable[[bytes | None], bytes]) -> None:
    """``update_text`` for any file: ``change`` gets the content (None if there is none) and
    returns the new one, written whole or not at all."""
    if not on_object_store(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        # hidden names: a reader of the folder's files (Spark's, say) passes them over
        with open(path.with_name(f".{path.name}.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                content = path.read_bytes()
            except FileNotFoundError:
                content = None
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(change(content))
            tmp.replace(path)
        return
    fs, key = path.fs, path.path
    for attempt in range(30):
        etag = _etag(fs, key)
        content = change(None if etag is None else fs.cat_file(key))
        try:
            if etag is None:
                fs.pipe_file(key, content, mode="create")  # If-None-Match: *
            else:
                fs.pipe_file(key, content, IfMatch=etag)
            return
        except OSError:  # 412 Precondition Failed (FileExistsError for a create), or another
            if _etag(fs, key) == etag:  # nothing else wrote: a real error
                raise
        time.sleep(0.02 * (attempt + 1))
    raise RuntimeError(f"{path}: other loads kept updating it; gave up after 30 attempts")


def _etag(fs, key: str) -> str | None:
    try:
        return fs.info(key)["ETag"]
    except FileNotFoundError:
        return None


def remove(path: LakePath) -> None:
    """Delete a file, or a folder with everything under it; nothing if it is not there."""
    if not on_object_store(path):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        return
    keys = _keys(path)
    if keys:
        path.fs.rm(keys)


def _keys(path: UPath) -> list[str]:
    """The keys of the objects at ``path`` or under it as a folder (not a sibling's: the
    prefix ``load_date=2026-01-1`` does not match ``load_date=2026-01-10``)."""
    fs, key = path.fs, path.path
    found = fs.find(key)
    return [k for k in found if k == key or k.startswith(key + "/")]


# --- replacing folders --------------------------------------------------------------------


def scratch_root(lake: LakePath) -> Path:
    """Where scratch folders go: ``<lake>/_tmp`` for a local lake (the lake's own file system,
    so a swap is a rename, and outside every zone, so a crashed load leaves nothing a reader's
    glob would find); a folder of this machine's temporary directory for an object store."""
    if on_object_store(lake):
        return Path(tempfile.gettempdir()) / "sotelake-scratch"
    return lake / "_tmp"


# The scratch folders this process uses, with their open lock files (``scratch_dir``).
_IN_USE: dict[Path, object] = {}


def scratch_dir(lake: LakePath, owner: str = "misc") -> Path:
    """A fresh local folder ``<scratch root>/<owner>/<id>`` to write a partition into before
    ``replace_dir``; give it back with ``release_scratch``.

    ``owner`` names the work (a load: ``<source>__<table>__<load date>``). The folder's lock
    file (``<id>.lock``) is held while the folder is in use, and the operating system lets go
    of it when the process ends however it ends, so ``clear_scratch`` tells what a killed run
    left from what a running one uses."""
    folder = scratch_root(lake) / owner / uuid.uuid4().hex
    for _ in range(3):  # another release may remove the owner's empty folder meanwhile
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock = open(folder.with_name(folder.name + ".lock"), "w")  # noqa: SIM115 (held)
            break
        except FileNotFoundError:
            continue
    fcntl.flock(lock, fcntl.LOCK_EX)  # before the folder exists: never a folder without it
    _IN_USE[folder] = lock
    folder.mkdir()
    return folder


def release_scratch(folder: Path) -> None:
    """Delete a folder of ``scratch_dir`` (whatever is left in it) and its lock file."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.with_name(folder.name + ".lock").unlink(missing_ok=True)
    lock = _IN_USE.pop(folder, None)
    if lock is not None:
        lock.close()
    try:
        folder.parent.rmdir()  # the owner's folder, when nothing else of it is left
    except OSError:
        pass


def clear_scratch(lake: LakePath, owner: str) -> list[Path]:
    """Delete the scratch folders of ``owner`` that no running process holds: what a killed
    run of the same work left (a half-written partition, or the old one it had just swapped
    out). Returns the folders deleted."""
    cleared = []
    for lock_file in sorted((scratch_root(lake) / owner).glob("*.lock")):
        folder = lock_file.with_suffix("")
        if folder in _IN_USE:
            continue
        with open(lock_file, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # in use by a run of the same work in another process
                continue
            shutil.rmtree(folder, ignore_errors=True)
            lock_file.unlink(missing_ok=True)
            cleared.append(folder)
    for folder in (scratch_root(lake) / owner).glob("*"):  # a folder whose lock never was
        if folder.is_dir() and not folder.with_name(folder.name + ".lock").exists():
            if folder not in _IN_USE:
                shutil.rmtree(folder, ignore_errors=True)
                cleared.append(folder)
    if cleared:
        log.info("removed the scratch of %s that a stopped run left: %s", owner, cleared)
    return cleared


RENAME_EXCHANGE = 2  # linux/fs.h
AT_FDCWD = -100


def exchange(first: Path, second: Path) -> bool:
    """Swap two local paths in one step (Linux ``renameat2(..., RENAME_EXCHANGE)``): True if
    done, False where the system or the file system cannot (then nothing changed)."""
    global _renameat2
    if _renameat2 is None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        function = getattr(libc, "renameat2", False)
        if function:
            function.argtypes = [
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_uint,
            ]
            function.restype = ctypes.c_int
        _renameat2 = function
    if not _renameat2:
        return False
    import ctypes

    done = _renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, f"cannot exchange {first} and {second}: {os.strerror(code)}")


_renameat2 = None  # libc's renameat2 once looked up; False where there is none


def _in_one_step(target: Path, new: Path) -> bool:
    """Make the local folder ``new`` ``target`` in one step if the file system can: a rename
    onto an absent name, or an exchange (then ``new`` holds the old folder, deleted here)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        try:
            new.rename(target)
            return True
        except OSError as error:  # another writer made the target meanwhile
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    if exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)
        return True
    return False


def _swap_in(target: Path, new: Path) -> None:
    """Make ``new``, a folder of ``scratch_dir``, ``target``: in one step where the file system
    can, else by two renames (the old folder goes beside ``new``, outside every zone)."""
    if _in_one_step(target, new):
        return
    global _warned_two_renames
    if not _warned_two_renames:
        log.warning(
            "this file system cannot exchange two folders: a partition is replaced by two "
            "renames, and a crash between them leaves none (until its load runs again)"
        )
        _warned_two_renames = True
    old = new.with_name(new.name + ".old")
    target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


_warned_two_renames = False


def replace_dir(target: LakePath, new: Path, last: str | None = None) -> None:
    """Make the local folder ``new`` (from ``scratch_dir``) the content of ``target``.

    Locally in one step (``_swap_in``): readers see the old folder or the new one, and so does
    whoever looks after a crash. On an object store, every file of ``new`` is uploaded under
    its final key, then the target's other objects are deleted (the module's docstring says
    what a reader can see meanwhile); ``last`` (a manifest's name) is uploaded after every
    other file, so whoever finds it finds the files it lists. ``new`` is left in place for
    the caller's clean-up there."""
    if not on_object_store(target):
        _swap_in(target, new)
        return
    names = sorted(p.relative_to(new).as_posix() for p in new.rglob("*") if p.is_file())
    if last in names:
        names.remove(last)
        names.append(last)
    fs, prefix = target.fs, target.path
    for name in names:
        fs.put_file(str(new / name), f"{prefix}/{name}")
    keep = {f"{prefix}/{name}" for name in names}
    stale = [k for k in _keys(target) if k not in keep]
    if stale:
        fs.rm(stale)


def move_dir(lake: LakePath, source: LakePath, target: LakePath, owner: str = "misc") -> None:
    """Move a folder of the lake (a partition from one zone to another), replacing ``target``.

    Locally in one step: a rename onto an absent target, else an exchange of the two folders
    (then the old target, now at ``source``, is deleted); a crash leaves the partition in one
    zone or the other, never in none. On an object store by server-side copies to ``target``,
    then the deletion of the target's stale objects and of the source (a crash between leaves
    the batch in both zones, which the reconciliation counts twice and fails on)."""
    if not on_object_store(lake):
        if not _in_one_step(target, source):
            scratch = scratch_dir(lake, owner)
            staged = scratch / source.name
            shutil.move(source, staged)
            _swap_in(target, staged)
            release_scratch(scratch)
        return
    fs = lake.fs
    moved = _keys(source)
    copies = [f"{target.path}/{k[len(source.path) + 1 :]}" for k in moved]
    for key, copy in zip(moved, copies, strict=True):
        fs.copy(key, copy)
    stale = [k for k in _keys(target) if k not in set(copies)]
    if stale:
        fs.rm(stale)
    if moved:
        fs.rm(moved)


# --- DuckDB -------------------------------------------------------------------------------


def configure_duckdb(con: duckdb.DuckDBPyConnection, lake: LakePath) -> None:
    """Let a DuckDB connection read (and write) the lake: for an object store, load httpfs
    (from its PyPI package) and give it the store's credentials as a secret; nothing locally."""
    if not on_object_store(lake):
        return
    from sotelake.engine import extension_file, literal

    access = s3_access()
    con.execute(f"LOAD {literal(str(extension_file('httpfs')))}")
    options = {
        "KEY_ID": access.key_id,
        "SECRET": access.secret,
        "REGION": access.region,
    }
    if access.session_token:
        options["SESSION_TOKEN"] = access.session_token
    if access.endpoint_url:
        endpoint = urlsplit(access.endpoint_url)
        options["ENDPOINT"] = endpoint.netloc
        options["URL_STYLE"] = "path"  # what MinIO and most S3-compatible servers expect
        options["USE_SSL"] = "true" if endpoint.scheme == "https" else "false"
    body = ", ".join(
        f"{name} {value if name == 'USE_SSL' else literal(value)}"
        for name, value in options.items()
    )
    con.execute(f"CREATE OR REPLACE SECRET sotelake_lake (TYPE s3, {body})")
