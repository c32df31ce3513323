"""Read an HL7 FHIR R4 bulk export (NDJSON, one resource per line) as flat text rows.

A column is declared by a *path*, a small subset of FHIRPath:

    path   := step ("." step)*
    step   := name selector*          name: a JSON key, [A-Za-z_][A-Za-z0-9_]*
    selector := "[" index "]"         the index-th value reached so far (0-based)
              | "[" key "=" text "]"  only values whose `key` equals `text` (text: anything but "]",
                                      unquoted; compared with the value as text, true/false for
                                      booleans)

Examples: ``birthDate``, ``subject.reference``, ``type[0].coding[0].display``,
``code.coding[system=http://snomed.info/sct].code``, ``identifier[system=urn:oid:1.2.246.21].value``

A name applied to a list applies to each of its elements (as in FHIRPath), so ``name.family`` reads
the family of every name; the result is the *first* value reached, or None when there is none. A
result that is itself an object or list (``class``, ``meta.profile``) is returned whole as compact
JSON text; booleans as ``true``/``false``; numbers as JSON writes them.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa

# Finnish Base Profiles (HL7 Finland), FiBasePatient:
# https://hl7.fi/fhir/finnish-base-profiles/StructureDefinition-fi-base-patient.html
# (source: https://github.com/fhir-fi/finnish-base-profiles, input/fsh/patient.fsh).
HETU_SYSTEM = "urn:oid:1.2.246.21"
"""identifier.system of the henkilötunnus (PIC), slice identifier[PIC] of FiBasePatient."""
MUNICIPALITY_EXTENSION_URL = (
    "https://hl7.fi/fhir/finnish-base-profiles/StructureDefinition/municipality-code"
)
"""Extension MunicipalityCode (home municipality): value[x] only valueCoding, 1..1."""
MUNICIPALITY_SYSTEM = "urn:oid:1.2.246.537.6.21"
"""valueCoding.system of the municipality code (Statistics Finland's municipalities, 3 digits,
e.g. version "2003", code "020" Akaa). Drafts before 1.0.0 used urn:oid:1.2.246.537.6.21.2003."""

SOURCE_FILE, PARSE_ERROR = "_source_file", "_parse_error"

_TOKEN = re.compile(r"(\.)?([A-Za-z_]\w*)|\[(\d+)\]|\[([A-Za-z_]\w*)=([^\]]*)\]")
Step = Callable[[list[Any]], list[Any]]


def _elements(values: list[Any]) -> list[Any]:
    """The values, with lists opened into their elements."""
    if len(values) == 1:
        return values[0] if isinstance(values[0], list) else values
    return [e for v in values for e in (v if isinstance(v, list) else (v,))]


def _text(value: Any) -> str | None:
    """A JSON value as text: strings as they are, anything else as compact JSON."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _name(name: str) -> Step:
    def step(values: list[Any]) -> list[Any]:
        if len(values) == 1 and type(values[0]) is dict:  # the usual case: one object
            found = values[0].get(name)
            return [] if found is None else [found]
        found = [v.get(name) for v in _elements(values) if isinstance(v, dict)]
        return [v for v in found if v is not None]

    return step


def _index(i: int) -> Step:
    return lambda values: _elements(values)[i : i + 1]


def _where(key: str, text: str) -> Step:
    return lambda values: [
        v for v in _elements(values) if isinstance(v, dict) and _text(v.get(key)) == text
    ]


class FhirPath:
    """A compiled path; calling it on a resource (a dict) gives the first value as text or None."""

    def __init__(self, path: str) -> None:
        self.path, pos = path, 0
        self.steps: list[Step] = []
        while pos < len(path):
            m = _TOKEN.match(path, pos)
            dot, name, index, key, text = m.groups() if m else (None,) * 5
            # a name has a dot before it unless it is the first step; a selector follows a step
            if not m or (bool(dot) != bool(self.steps) if name else not self.steps):
                raise ValueError(f"FHIR path {path!r}: cannot read it at character {pos + 1}")
            if name:
                self.steps.append(_name(name))
            else:
                self.steps.append(_index(int(index)) if index else _where(key, text))
            pos = m.end()
        if not self.steps:
            raise ValueError("FHIR path is empty")
        # a path of names only (most are) is read without the steps, while it meets objects
        names = re.findall(r"[A-Za-z_]\w*", path)
        self.names = tuple(names) if path == ".".join(names) else None

    def __call__(self, resource: dict[str, Any]) -> str | None:
        if self.names:  # objects within objects, as far as they go; a list takes the steps
            value: Any = resource
            for name in self.names:
                if type(value) is not dict:
                    break
                value = value.get(name)
                if value is None:
                    return None
            else:
                if type(value) is not list:
                    return _text(value)
        values: list[Any] = [resource]
        for step in self.steps:
            values = step(values)
            if not values:
                return None
        return _text(values[0])


@lru_cache(maxsize=1024)
def compile_path(path: str) -> FhirPath:
    """The compiled path (cached: each distinct path is parsed once)."""
    return FhirPath(path)


def schema(columns: dict[str, str]) -> pa.Schema:
    """The schema of the batches `read_resources` yields for these columns."""
    return pa.schema([(name, pa.string()) for name in [*columns, SOURCE_FILE, PARSE_ERROR]])


def export_files(folder: Path, resource_type: str) -> list[Path]:
    """The export's files of one resource type, in file-name order: ``<type>.ndjson``,
    ``<type>.<part>.ndjson`` (e.g. Patient.000.ndjson), each optionally gzipped (``.gz``)."""
    pattern = re.compile(rf"{re.escape(resource_type)}(\.[^.]+)?\.ndjson(\.gz)?")
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and pattern.fullmatch(p.name))


class IncompleteFile(ValueError):
    """An export file that cannot be read whole (empty, truncated): set aside, not half-read."""


def check_export_file(path: Path) -> None:
    """Raise IncompleteFile when an export file is empty or truncated.

    A bulk export writes no file for a type without resources, so an empty file is a failed
    write. A truncated file ends inside a line (its last line is not a whole JSON value) or,
    gzipped, before the end of its stream. A bad line inside a whole file is another matter:
    it becomes a row with ``_parse_error``, quarantined."""
    if path.stat().st_size == 0:
        raise IncompleteFile("empty file (a bulk export writes no file for a type it has none of)")
    opener = gzip.open if path.name.endswith(".gz") else open
    last = b""
    try:
        with opener(path, "rb") as lines:
            for line in lines:
                if line.strip():
                    last = line
    except (EOFError, gzip.BadGzipFile, OSError) as error:
        raise IncompleteFile(f"truncated or corrupt gzip stream: {error}") from error
    if not last:
        raise IncompleteFile("no resource in the file (only blank lines)")
    if not last.endswith(b"\n"):
        try:
            json.loads(last)
        except ValueError as error:
            raise IncompleteFile(
                f"truncated: the last line ends inside a resource ({len(last)} bytes, "
                f"{type(error).__name__} at character {getattr(error, 'pos', '?')})"
            ) from error


def _parse(line: bytes, resource_type: str) -> tuple[dict[str, Any], str | None]:
    """The resource on one line, or why the line is not one of `resource_type`."""
    try:
        resource = json.loads(line)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        return {}, f"invalid JSON: {e}"
    if not isinstance(resource, dict):
        return {}, f"not a JSON object but {type(resource).__name__}"
    if resource.get("resourceType") != resource_type:
        return {}, f"resourceType {resource.get('resourceType')!r} where {resource_type!r} expected"
    return resource, None


def text_batches(
    rows: Iterable[list[str | None]], out: pa.Schema, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """``rows`` (each a value per column of ``out``) as record batches of at most
    ``batch_rows`` rows, holding no more than that at a time."""
    columns: list[list[str | None]] = [[] for _ in out]
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            column.append(value)
        if len(columns[0]) >= batch_rows:
            yield _text_batch(columns, out)
            columns = [[] for _ in out]
    if columns[0]:
        yield _text_batch(columns, out)


def _text_batch(rows: list[list[str | None]], out: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in rows], schema=out)


def read_resources(
    folder: Path,
    resource_type: str,
    columns: dict[str, str],
    batch_rows: int = 50_000,
    files: list[Path] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream every resource of `resource_type` in `folder` as record batches of text columns.

    `columns` maps each output column to its path. Each batch has those columns, then
    ``_source_file`` (file name) and ``_parse_error``. Every non-blank line gives exactly one row;
    a line that is not a JSON object of `resource_type` never stops the read: its row has the
    declared columns null and ``_parse_error`` = ``"<file>:<line>: <why>"``, to be quarantined.
    The line itself is not kept (it may hold names or a henkilötunnus). Reads one line at a time
    and holds at most `batch_rows` rows. No matching file: nothing is yielded. `files` (a
    subset of the folder's export files) limits the read to those.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    if clash := {SOURCE_FILE, PARSE_ERROR} & set(columns):
        raise ValueError(f"column name(s) {sorted(clash)} are reserved")
    paths = [compile_path(p) for p in columns.values()]

    def rows() -> Iterator[list[str | None]]:
        for file in export_files(folder, resource_type) if files is None else files:
            opener = gzip.open if file.name.endswith(".gz") else open
            with opener(file, "rb") as lines:
                for number, line in enumerate(lines, start=1):
                    if not line.strip():
                        continue
                    resource, error = _parse(line, resource_type)
                    if error:
                        yield [None] * len(paths) + [file.name, f"{file.name}:{number}: {error}"]
                    else:
                        yield [p(resource) for p in paths] + [file.name, None]

    yield from text_batches(rows(), schema(columns), batch_rows)
