"""Which pseudonymisation key made the lake's pseudonyms: its fingerprint, kept in the lake.

    <lake>/_state/pseudonym_key.json   {"fingerprint": ..., "recorded_at": ..., ...}

The fingerprint is ``HMAC-SHA256(key, LABEL)``: the key cannot be recovered from it (the key
is at least 32 characters), and it is the same wherever the same key is given. The first run
of a new lake records it; every run after that checks the key it was given against it before
anything is loaded, and stops when they differ (``KeyMismatch``): a different key would give
every person a new pseudonym, silently breaking every join with the lake's history. Changing
the key is ``sotelake rotate-key`` (docs/privacy.md), never a side effect.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sotelake.errors import PermanentError
from sotelake.lake import storage, zones

if TYPE_CHECKING:
    from sotelake.lake.storage import LakePath

log = logging.getLogger(__name__)

LABEL = b"sote-lake pseudonymisation key fingerprint, version 1"
SHOWN = 16  # hexadecimal characters of a fingerprint shown in messages


class KeyMismatch(PermanentError):
    """The key given is not the one that made the lake's pseudonyms."""


def fingerprint(key: bytes) -> str:
    """The key's fingerprint: an HMAC of a fixed label, never the key."""
    return hmac.new(key, LABEL, hashlib.sha256).hexdigest()


def record_path(lake: LakePath) -> LakePath:
    return lake / "_state" / "pseudonym_key.json"


def recorded(lake: LakePath) -> dict | None:
    """The lake's record of its key (fingerprint, when recorded), or None for a new lake."""
    text = storage.read_text(record_path(lake))
    return json.loads(text) if text else None


def check(lake: LakePath, key: bytes) -> dict | None:
    """Stop (``KeyMismatch``) when the lake records another key; returns the record (None for
    a lake that has recorded none yet). Writes nothing."""
    record = recorded(lake)
    if record and not hmac.compare_digest(record["fingerprint"], fingerprint(key)):
        raise KeyMismatch(_mismatch(lake, record, key))
    return record


def guard(lake: LakePath, key: bytes) -> str:
    """Before a load: check the key against the lake's, and record it in a lake that has none.

    A lake that has data but no record (made before fingerprints were kept) takes the key it
    is first given, with a warning: make sure it is the key that made its pseudonyms."""
    given = fingerprint(key)

    def checked(text: str | None) -> str:
        if text:
            record = json.loads(text)
            if not hmac.compare_digest(record["fingerprint"], given):
                raise KeyMismatch(_mismatch(lake, record, key))
            return text
        adopted = next(iter((lake / zones.RAW).glob("*/*/*/*.parquet")), None) is not None
        if adopted:
            log.warning(
                "the lake %s has data but no record of its pseudonymisation key: recording "
                "the key of this run (fingerprint %s); if another key made the lake's "
                "pseudonyms, stop and see docs/privacy.md",
                lake,
                given[:SHOWN],
            )
        return json.dumps(
            {
                "fingerprint": given,
                "label": LABEL.decode("ascii"),
                "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "adopted": adopted,  # recorded for a lake that had pseudonyms already
            },
            indent=1,
        )

    storage.update_text(record_path(lake), checked)
    return given


def _mismatch(lake: LakePath, record: dict, key: bytes) -> str:
    return (
        f"The pseudonymisation key does not match the lake {lake}: its pseudonyms were made with "
        f"the key of fingerprint {record['fingerprint'][:SHOWN]}, and this run was given the key "
        f"of fingerprint {fingerprint(key)[:SHOWN]}. Nothing was loaded. Give the lake's own key "
        "(SOTELAKE_PSEUDONYM_KEY, SOTELAKE_PSEUDONYM_KEY_FILE or the Airflow Variable "
        "sotelake_pseudonym_key); to change keys on purpose, run `sotelake rotate-key` "
        "(docs/privacy.md)."
    )
