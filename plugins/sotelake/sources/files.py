"""File deliveries: check each file before any row of it is loaded.

A file is taken whole or not at all. Before a load reads it, every file is checked: not empty,
decodable in the declared encoding (and not, for example, UTF-8 declared as Windows-1252), a
header in the declared dialect, and every line with the header's number of fields. A file that
fails is moved to ``<folder>/_rejected/`` with a ``.reason.txt`` beside it and reported; the
load goes on with the good files. Good files are transcoded to UTF-8 into the load's scratch
folder, so the reader sees one encoding.
"""

from __future__ import annotations

import codecs
import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from sotelake.engine import literal
from sotelake.sources.errors import SourceSchemaError
from sotelake.withholding import column_label, withhold

log = logging.getLogger(__name__)

REJECTED = "_rejected"
CHUNK = 1 << 20
ENCODINGS = {
    "utf-8": "utf-8-sig",
    "utf-8-sig": "utf-8-sig",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
    "latin-1": "latin-1",
    "iso-8859-1": "latin-1",
    "utf-16": "utf-16",  # with a byte-order mark, as Windows tools write it
}
# What a file's first bytes say about its encoding, whatever was declared: a byte-order mark,
# or the zero bytes between the characters of UTF-16 text that has none.
BYTE_ORDER_MARKS = [
    (codecs.BOM_UTF32_LE, "utf-32 (little-endian)"),
    (codecs.BOM_UTF32_BE, "utf-32 (big-endian)"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16 (little-endian)"),
    (codecs.BOM_UTF16_BE, "utf-16 (big-endian)"),
]


def detect_encoding(sample: bytes) -> str | None:
    """The encoding a file's first bytes show for what it is: a byte-order mark's, or UTF-16
    when every other byte is zero; None when they show nothing (an 8-bit text or UTF-8)."""
    for mark, name in BYTE_ORDER_MARKS:
        if sample.startswith(mark):
            return name
    pairs = len(sample) // 2
    if pairs >= 4:
        odd_zeros = sum(1 for i in range(1, 2 * pairs, 2) if sample[i] == 0)
        even_zeros = sum(1 for i in range(0, 2 * pairs, 2) if sample[i] == 0)
        if odd_zeros > 0.9 * pairs:
            return "utf-16 (little-endian, no byte-order mark)"
        if even_zeros > 0.9 * pairs:
            return "utf-16 (big-endian, no byte-order mark)"
    if 0 in sample:
        return "binary (zero bytes in the text)"
    return None


def _declared_family(detected: str, codecs_declared: set[str]) -> bool:
    """Whether the detected encoding is one the dialect declares."""
    family = detected.split(" ")[0]
    return (family == "utf-8" and "utf-8-sig" in codecs_declared) or (
        family == "utf-16" and "utf-16" in codecs_declared and "no byte-order" not in detected
    )


OTHER_DELIMITERS = [",", ";", "\t", "|"]


class BadFile(ValueError):
    """The file cannot be loaded; the message says why (and where)."""


@dataclass
class Intake:
    """The files of one load: ready-to-read UTF-8 copies and the rejected originals."""

    ready: list[Path] = field(default_factory=list)  # in the scratch folder, original names
    rejected: dict[str, str] = field(default_factory=dict)  # file name -> reason
    set_aside: dict[str, str] = field(default_factory=dict)  # file name -> its name in _rejected/
    missing: set[str] = field(default_factory=set)  # declared columns some file lacks


def _transcode(path: Path, encoding: str, target: Path) -> str:
    """Decode ``path`` strictly and write it as UTF-8; return the header line."""
    codec = ENCODINGS.get(encoding.lower())
    if codec is None:
        raise BadFile(
            f"unsupported encoding {encoding!r} declared (use one of {sorted(ENCODINGS)})"
        )
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    raw_sample, header, offset = b"", None, 0
    with open(path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as out:
        while chunk := src.read(CHUNK):
            if len(raw_sample) < CHUNK:
                raw_sample += chunk[: CHUNK - len(raw_sample)]
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as error:
                raise BadFile(
                    f"not {encoding}: undecodable byte at offset {offset + error.start}"
                ) from error
            if header is None and "\n" in text:
                header = text.split("\n", 1)[0].rstrip("\r")
            out.write(text)
            offset += len(chunk)
        out.write(decoder.decode(b"", final=True))
    if offset == 0:
        raise BadFile("empty file")
    if codec == "cp1252" and any(b > 0x7F for b in raw_sample):
        try:
            raw_sample.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise BadFile("declared windows-1252, but the bytes are UTF-8 (wrong encoding)")
    if header is None:
        raise BadFile("no complete header line (truncated or empty file)")
    return header


def encodings(dialect: dict) -> list[str]:
    """The dialect's encodings, in the order to try them."""
    declared = dialect.get("encoding", "utf-8")
    return [declared] if isinstance(declared, str) else list(declared)


def _decode_any(path: Path, candidates: list[str], target: Path) -> str:
    """Transcode with the first encoding the whole file decodes in; else say why none did.

    A file whose first bytes show another encoding than those declared (UTF-16 from a
    spreadsheet, UTF-32, a binary file) is set aside for that reason, not for a byte an 8-bit
    encoding happens to decode."""
    with open(path, "rb") as f:
        sample = f.read(4096)
    detected = detect_encoding(sample)
    declared = {ENCODINGS.get(e.lower()) for e in candidates}
    if detected and not _declared_family(detected, declared):
        raise BadFile(
            f"the file is {detected}, not {' or '.join(candidates)} as declared: save it as "
            f"{candidates[0]}, or declare its encoding in config/sources.yml"
        )
    failures = []
    for encoding in candidates:
        try:
            return _transcode(path, encoding, target)
        except BadFile as bad:
            if len(candidates) == 1 or "empty" in str(bad) or "header" in str(bad):
                raise
            failures.append(str(bad))
    raise BadFile("; ".join(failures))


def _header_fields(header: str, delimiter: str, declared: list[str]) -> list[str]:
    fields = [f.strip().strip('"') for f in header.split(delimiter)]
    if len(fields) == 1 and len(declared) > 1:
        found = [d for d in OTHER_DELIMITERS if d != delimiter and d in header]
        raise BadFile(
            f"not the expected dialect: the header has no {delimiter!r} separator"
            + (f" (it looks {found[0]!r}-separated)" if found else "")
        )
    return fields


def _check_rows(
    con: duckdb.DuckDBPyConnection, path: Path, delimiter: str, fields: list[str]
) -> None:
    """Every line must have the header's number of fields (catches truncated files)."""
    columns = "{" + ", ".join(f"{literal(f)}: 'VARCHAR'" for f in fields) + "}"
    try:
        con.execute(
            f"select count(*) from read_csv({literal(str(path))}, delim={literal(delimiter)}, "
            f"header=true, auto_detect=false, columns={columns}, quote='\"', escape='\"', "
            "strict_mode=true, null_padding=false)"
        ).fetchone()
    except duckdb.Error as error:
        raise BadFile(f"malformed content: {_csv_error(error)}") from None


def _csv_error(error: duckdb.Error) -> str:
    """DuckDB's account of a bad line without the line itself (it is a row of data) and without
    its advice: 'CSV Error on Line: 3; Expected Number of Columns: 11 Found: 12'."""
    kept = []
    for line in str(error).split("\n"):
        if line.startswith("Possible fixes"):
            break
        if line.strip() and not line.startswith("Original Line"):
            kept.append(line.strip().removeprefix("Invalid Input Error: "))
    return withhold("; ".join(kept))[:300]


def describe_header(fields: list[str], declared: list[str]) -> str:
    """What a message may say of a delivered header: the declared columns it has, and of the
    other fields only those that look like column names (the others may be values: a file
    without its header row has a row of data there, which is never quoted)."""
    found = [f for f in fields if f in declared]
    if not found:
        return (
            f"its first line has {len(fields)} fields and none of them is a declared column: "
            "is the header row missing? (the line is not quoted: it may be a row of data)"
        )
    others = [column_label(f, i) for i, f in enumerate(fields, 1) if f not in declared]
    return f"the header has {found}" + (f" and {others}" if others else "")


def take_files(
    files: list[Path],
    dialect: dict,
    declared: list[str],
    required: list[str],
    scratch: Path,
    con: duckdb.DuckDBPyConnection,
) -> Intake:
    """Check and transcode each file; move bad ones aside. Returns what the load may read.

    A file without a required column is not a bad file but a changed delivery (schema drift):
    the table's load fails with ``SourceSchemaError`` naming the file and the column.
    """
    intake = Intake()
    folder = scratch / "utf8"
    folder.mkdir(parents=True, exist_ok=True)
    delimiter = dialect.get("delimiter", ",")
    for path in files:
        target = folder / path.name
        try:
            header = _decode_any(path, encodings(dialect), target)
            fields = _header_fields(header, delimiter, declared)
            _check_rows(con, target, delimiter, fields)
        except BadFile as bad:
            intake.set_aside[path.name] = reject(path, str(bad)).name
            intake.rejected[path.name] = str(bad)
            target.unlink(missing_ok=True)
            continue
        lacking = [c for c in required if c not in fields]
        if lacking:
            raise SourceSchemaError(
                f"{path}: lacks required column(s) {lacking} declared in "
                f"config/sources.yml ({describe_header(fields, declared)})"
            )
        intake.ready.append(target)
        intake.missing.update(c for c in declared if c not in fields)
    return intake


def reject(path: Path, reason: str) -> Path:
    """Move a delivered file aside into ``_rejected/`` with its reason; nothing is deleted."""
    reason = withhold(reason)  # the reasons above quote no row; this holds for any caller too
    folder = path.parent / REJECTED
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"{stamp}_{path.name}"
    shutil.move(path, target)
    target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    log.warning("rejected %s: %s (moved to %s)", path, reason, target)
    return target
