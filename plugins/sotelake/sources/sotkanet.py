"""Read files downloaded from THL's Sotkanet REST API (sotkanet.fi/rest/1.1) as flat text rows.

A county's analyst downloads them into the source's landing folder, as the API returns them:

- ``/rest/1.1/json?indicator=<id>&years=<year>&genders=total``: a JSON array of records
  ``{"indicator": 5081, "region": 658, "year": 2024, "gender": "total", "value": 412.3,
  "absValue": 2287431}`` (``value`` the indicator's value, ``absValue`` its numerator where
  Sotkanet gives one; a missing value is left out of the record);
- ``/rest/1.1/regions``: a JSON array of regions ``{"id": 658, "code": "358", "category":
  "MAA", "title": {"fi": "Koko maa", ...}, "memberOf": [...]}`` (categories KUNTA, a
  municipality; HYVINVOINTIALUE, a wellbeing services county; MAA, the whole country; ...).

Each column of a table names its ``path`` in a record (the path language of sources/fhir.py:
``absValue``, ``title.fi``). A file that is not a whole JSON array is set aside with the
reason (``IncompleteFile``); inside a whole file, a record that is not a JSON object becomes a
row with ``_parse_error`` (quarantined, as a record whose value does not convert to its
declared type or lacks a required one is, by the typed read that follows).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from sotelake.sources.fhir import IncompleteFile, compile_path, schema, text_batches

__all__ = ["IncompleteFile", "check_file", "read_records"]


def _records(path: Path) -> list:
    try:
        records = json.loads(path.read_bytes())
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise IncompleteFile(
            f"not JSON as Sotkanet's API returns it: {type(error).__name__} at character "
            f"{getattr(error, 'pos', '?')} (a download cut short?)"
        ) from None
    if not isinstance(records, list):
        raise IncompleteFile(
            f"a JSON {type(records).__name__} where Sotkanet's API returns an array of records"
        )
    return records


def check_file(path: Path) -> None:
    """Raise IncompleteFile when a downloaded file is not a whole JSON array."""
    if path.stat().st_size == 0:
        raise IncompleteFile("empty file (the API returns [] when it has nothing)")
    _records(path)


def read_records(
    files: list[Path], columns: dict[str, str], batch_rows: int = 50_000
) -> Iterator[pa.RecordBatch]:
    """Every record of the files as record batches of text columns: ``columns`` maps each
    output column to its path in a record; then ``_source_file`` and ``_parse_error``
    (``"<file>:<record number>: <why>"`` for a record that is not a JSON object)."""
    paths = [compile_path(p) for p in columns.values()]

    def rows() -> Iterator[list[str | None]]:
        for file in files:
            for number, record in enumerate(_records(file), start=1):
                if isinstance(record, dict):
                    yield [p(record) for p in paths] + [file.name, None]
                else:
                    why = f"a record is a JSON object, not {type(record).__name__}"
                    yield [None] * len(paths) + [file.name, f"{file.name}:{number}: {why}"]

    yield from text_batches(rows(), schema(columns), batch_rows)
