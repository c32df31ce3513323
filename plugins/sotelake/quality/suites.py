"""Great Expectations suites, version-controlled under ``expectations/`` as GX 1.x JSON.

One suite per raw table (``expectations/raw/<source>/<table>.json``). Every expectation carries
``meta.kahn_category`` (conformance, completeness, plausibility; Kahn et al. 2016, as in OHDSI's
Data Quality Dashboard) and ``meta.severity``:

- critical: the batch is rejected and the run fails loudly;
- error: the offending rows are to be quarantined with a reason;
- warning: reported only.
"""

from __future__ import annotations

import json
from pathlib import Path

from sotelake.errors import PermanentError

KAHN_CATEGORIES = {"conformance", "completeness", "plausibility"}
SEVERITIES = {"critical", "error", "warning"}


class SuiteError(PermanentError):
    """A suite file is missing or malformed; the message names the file and expectation."""


def suite_path(expectations_dir: Path, source: str, table: str) -> Path:
    return expectations_dir / "raw" / source / f"{table}.json"


def read_suite(path: Path) -> dict:
    """The suite document, checked for what the pipeline relies on (not yet a GX object)."""
    if not path.is_file():
        raise SuiteError(f"No expectation suite at {path}: every raw table needs one")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SuiteError(f"{path}: not valid JSON: {error}") from error
    for i, expectation in enumerate(document.get("expectations", [])):
        meta = expectation.get("meta") or {}
        where = f"{path}: expectation {i} ({expectation.get('type')})"
        if meta.get("kahn_category") not in KAHN_CATEGORIES:
            raise SuiteError(
                f"{where}: meta.kahn_category must be one of {sorted(KAHN_CATEGORIES)}"
            )
        if meta.get("severity") not in SEVERITIES:
            raise SuiteError(f"{where}: meta.severity must be one of {sorted(SEVERITIES)}")
    if not document.get("expectations"):
        raise SuiteError(f"{path}: the suite has no expectations")
    return document
