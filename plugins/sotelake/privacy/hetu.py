"""Henkilötunnus (the Finnish personal identity code, "hetu") checks and keyed pseudonyms.

Validation is python-stdnum's (checksum, birth date, and every century sign including the ones
introduced in 2023: ``-YXWVU`` for the 1900s, ``A-F`` for the 2000s, ``+`` for the 1800s).
A code already written in its compact form is checked here by the same rules, five times faster
(tests/privacy/test_henkilotunnus.py compares the two); every other spelling goes to stdnum.
A valid code becomes ``HMAC-SHA256(key, code)``: the same person gets the same pseudonym in every
source system as long as the key is the same, and without the key a pseudonym cannot be turned
back into a code. An invalid code is never passed on: the caller quarantines the row with the
reason returned here (and never the code itself).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from stdnum import exceptions as stdnum_errors
from stdnum.fi import hetu as stdnum_hetu

#: Reason codes for rows whose identifier cannot be used (see docs/quality.md).
MISSING = "hetu_missing"
BAD_FORMAT = "hetu_bad_format"
BAD_DATE = "hetu_bad_date_or_number"  # no such birth date, or individual number 000-001
BAD_CHECKSUM = "hetu_bad_checksum"

PSEUDONYM_LENGTH = 32  # hex characters: 128 bits of the HMAC, collisions negligible


def check(code: str | None) -> tuple[str | None, str | None]:
    """Return ``(compact code, None)`` for a valid henkilötunnus, else ``(None, reason)``.

    Temporary identifiers (individual number 900-999, given by an organisation to a person
    without a henkilötunnus) are accepted: they identify a person within the county.
    """
    if code is None or not str(code).strip():
        return None, MISSING
    if _valid_as_written(code):  # the usual case, much faster than stdnum's general path
        return code, None
    try:
        return stdnum_hetu.validate(str(code), allow_temporary=True), None
    except stdnum_errors.InvalidChecksum:
        return None, BAD_CHECKSUM
    except stdnum_errors.InvalidComponent:
        return None, BAD_DATE
    except stdnum_errors.ValidationError:
        return None, BAD_FORMAT


_WRITTEN = re.compile(r"[0-3][0-9][01][0-9]{3}[-+A-FYXWVU][0-9]{3}[0-9A-FHJ-NPR-Y]")
_CENTURIES = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900}
_CONTROL = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def _valid_as_written(code: str) -> bool:
    """True for a valid code already in compact form (stdnum's rules); anything else, valid in
    another spelling or not, goes to stdnum, which also says why it is invalid."""
    if not isinstance(code, str) or not _WRITTEN.fullmatch(code):
        return False
    individual = int(code[7:10])
    if individual < 2:
        return False
    try:
        datetime.date(_CENTURIES.get(code[6], 2000) + int(code[4:6]), int(code[2:4]), int(code[:2]))
    except ValueError:
        return False
    return code[10] == _CONTROL[int(code[:6] + code[7:10]) % 31]


def pseudonym(compact_code: str, key: bytes) -> str:
    """Keyed pseudonym of an already validated, compact henkilötunnus."""
    return hmac.digest(key, compact_code.encode("ascii"), "sha256").hex()[:PSEUDONYM_LENGTH]


class _KeyedHash:
    """HMAC-SHA256 with one key for many messages: the same digests as ``hmac.digest`` (RFC
    2104), twice as fast, because the key's inner and outer SHA-256 states are computed once and
    copied for each message (``hmac.digest`` sets the key up again every time)."""

    def __init__(self, key: bytes) -> None:
        block = hashlib.sha256().block_size
        key = hashlib.sha256(key).digest() if len(key) > block else key
        key = key.ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def pseudonym(self, compact_code: str) -> str:
        inner = self._inner.copy()
        inner.update(compact_code.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:PSEUDONYM_LENGTH]


@dataclass
class PseudonymisedColumn:
    """A column of codes, pseudonymised. For each row either ``pseudonyms`` (with birth year and
    sex) or ``reasons`` is set."""

    pseudonyms: list[str | None] = field(default_factory=list)
    birth_years: list[int | None] = field(default_factory=list)
    sexes: list[int | None] = field(default_factory=list)
    reasons: list[str | None] = field(default_factory=list)


def pseudonymise(codes: Iterable[str | None], key: bytes) -> PseudonymisedColumn:
    """Pseudonyms, birth years, sexes and rejection reasons for a column of codes, in order.

    Repeated codes are checked and hashed once.
    """
    cache: dict[str | None, tuple] = {}
    keyed = _KeyedHash(key)
    out = PseudonymisedColumn()
    for code in codes:
        hit = cache.get(code)
        if hit is None:
            compact, reason = check(code)
            if compact:
                hit = (keyed.pseudonym(compact), *birth_year_and_sex(compact), None)
            else:
                hit = (None, None, None, reason)
            cache[code] = hit
        out.pseudonyms.append(hit[0])
        out.birth_years.append(hit[1])
        out.sexes.append(hit[2])
        out.reasons.append(hit[3])
    return out


def birth_year_and_sex(compact_code: str) -> tuple[int, int]:
    """Birth year and sex (1 male, 2 female, as in Statistics Finland) of a valid code."""
    century = {"+": 1800, "-": 1900, "A": 2000}.get(compact_code[6])
    if century is None:
        century = 1900 if compact_code[6] in "YXWVU" else 2000
    year = century + int(compact_code[4:6])
    sex = 1 if int(compact_code[7:10]) % 2 else 2
    return year, sex
