"""One withholding for every text about a source row (docs/privacy.md).

Errors, reasons, audit fields, quality examples, report text and log lines pass through
``withhold`` before they are stored, published or printed. It removes:

- **secrets**: the user and password of any URL (``postgresql://user:pw@host/db`` becomes
  ``postgresql://<withheld>@host/db``), and the value of a ``password=``, ``token=``,
  ``secret=`` or ``key=`` setting (libpq connection strings, query strings, ``Authorization:
  Bearer ...``);
- **identity codes**: anything shaped like a henkilötunnus, in upper or lower case, with any
  century sign (``+``, ``-``, ``A-F``, ``U-Y``), whose first six digits are a date, whether its
  checksum is right or not (a mistyped code still points at a person);
- **the row's own identifiers**, when the caller knows them: the values of the columns
  config/sources.yml declares ``privacy: drop`` (names, addresses, phone numbers) or
  ``privacy: person_identifier``.

It also finds valid codes in a text or a relation's columns (``valid_codes``,
``columns_with_henkilotunnus``: the source readers' check of undeclared columns and the privacy
scan of everything written). It is the ground floor: it depends on no other part of the package
(and on python-stdnum alone of the libraries), so that every step of the data flow (the source
readers included) and the logging set-up can use it.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from stdnum import exceptions as stdnum_errors
from stdnum.fi import hetu as stdnum_hetu

if TYPE_CHECKING:
    import duckdb

WITHHELD = "<withheld>"
WITHHELD_CODE = "<henkilötunnus withheld>"

# A henkilötunnus in any case: ddmmyy, century sign, individual number, control character.
_CODE = re.compile(
    r"(?<![0-9A-Za-z])([0-3]\d)([01]\d)(\d\d)([-+A-FU-Ya-fu-y])(\d{3})([0-9A-Ya-y])(?![0-9A-Za-z])"
)
# A candidate code for engines with RE2 regular expressions (DuckDB, Arrow), matched
# case-insensitively: bounded without look-behind, so that a hexadecimal pseudonym, which often
# holds such a run in lower case, is no candidate. Candidates are then checked in Python.
CANDIDATE = r"(^|[^0-9A-Za-z])\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]([^0-9A-Za-z]|$)"
# A code in any case for the scans: the candidates whose checksum is then checked.
PATTERN = re.compile(r"(?<![0-9A-Za-z])\d{6}[-+A-FU-Y]\d{3}[0-9A-Y](?![0-9A-Za-z])", re.IGNORECASE)
_CENTURY = {"+": 1800, "-": 1900, **dict.fromkeys("YXWVU", 1900), **dict.fromkeys("ABCDEF", 2000)}
# scheme://user:password@host or scheme://user@host: everything between :// and the last @
# before the host is the userinfo
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/@'\"<>]+@")
_SETTING = re.compile(
    r"(?i)\b([a-z_]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key))"
    r"([\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&;,'\"]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/\-]{16,}=*")


def is_code(text: str) -> bool:
    """True for a henkilötunnus-shaped token (any case) whose first six digits are a date."""
    match = _CODE.fullmatch(text.strip())
    return bool(match) and _dated(match)


def _dated(match: re.Match) -> bool:
    day, month, year, sign = match.group(1), match.group(2), match.group(3), match.group(4)
    try:
        datetime.date(_CENTURY[sign.upper()] + int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def screen_codes(text: str) -> tuple[str, int]:
    """``text`` with every identity code replaced by ``WITHHELD_CODE``, and how many there were.

    What screens a declared free-text column (``privacy: free_text``) and every text below."""
    count = 0

    def replace(match: re.Match) -> str:
        nonlocal count
        if not _dated(match):
            return match.group(0)
        count += 1
        return WITHHELD_CODE

    if not any(c.isdigit() for c in text):
        return text, 0
    return _CODE.sub(replace, text), count


def withhold(text: str | None, private: Iterable[str | None] = ()) -> str | None:
    """``text`` without secrets, identity codes and the ``private`` values (a row's names,
    addresses and codes, when the caller knows them)."""
    if not text:
        return text
    for value in sorted({str(v).strip() for v in private if v is not None}, key=len, reverse=True):
        if len(value) >= 3:  # a short value would blank out every such letter pair
            text = text.replace(value, WITHHELD)
    if "://" in text:
        text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{WITHHELD}@", text)
    text = _SETTING.sub(lambda m: f"{m.group(1)}{m.group(2)}{WITHHELD}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {WITHHELD}", text)
    return screen_codes(text)[0]


def withhold_values(record: dict, private: Iterable[str | None] = ()) -> dict:
    """A row as a dict (for JSON) with every text value passed through ``withhold``."""
    private = list(private)
    return {
        name: withhold(value, private) if isinstance(value, str) else value
        for name, value in record.items()
    }


# Column names: letters (any alphabet), digits and underscores, not starting with a digit. A
# delivered name of any other shape (a space, a dot, a dash) may be a value: a file without its
# header row has a row of data where its header should be.
_COLUMN_NAME = re.compile(r"[^\W\d]\w{0,62}")


def looks_like_column_name(name: str) -> bool:
    return bool(_COLUMN_NAME.fullmatch(name)) and withhold(name) == name


def column_label(name: str, position: int) -> str:
    """A delivered column's name to quote in a message: the name when it looks like a column
    name, else its position (``column 3 (name withheld)``), since it may be a value."""
    return name if looks_like_column_name(name) else f"column {position} (name withheld)"


def shape(value: object, limit: int = 40) -> str:
    """The shape of a failing value, which is what a public quality table may show of it:
    digits become ``9``, upper-case letters ``A``, lower-case ``a``; other characters stay
    (``'12,5 h'`` -> ``'99,9 a'``)."""
    text = str(value)
    shaped = "".join(
        "9" if c.isdigit() else "A" if c.isupper() else "a" if c.islower() else c
        for c in text[:limit]
    )
    return shaped + ("…" if len(text) > limit else "")


def withheld_error(error: BaseException) -> BaseException:
    """``error`` when neither its message nor those of its causes hold anything to withhold;
    else an exception of the same class (or of the same kind: permanent or retried) with the
    message withheld, the same traceback and no causes. Raise it ``from None``."""
    from sotelake.errors import PermanentError

    chain, current = [], error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    if all(withhold(str(e)) == str(e) for e in chain):
        return error
    text = withhold(str(error))
    try:
        safe = type(error)(text)
        if str(safe) != text:
            raise TypeError("a message built otherwise")
    except Exception:
        kind = PermanentError if isinstance(error, PermanentError) else RuntimeError
        safe = kind(f"{type(error).__name__}: {text}")
    safe.__suppress_context__ = True
    return safe.with_traceback(error.__traceback__)


class _WithholdingRecords:
    """A log-record factory that withholds the message of every record as it is made."""

    def __init__(self, factory) -> None:
        self.factory = factory

    def __call__(self, *args, **kwargs) -> logging.LogRecord:
        record = self.factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it itself
            return record
        safe = withhold(message)
        if safe != message:
            record.msg, record.args = safe, None
        return record


def install_log_withholding() -> None:
    """Make every log record of this process pass through ``withhold`` (once per process):
    the project's loggers, and whatever libraries log through Python's logging."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _WithholdingRecords):
        logging.setLogRecordFactory(_WithholdingRecords(current))


def valid_codes(text: str) -> list[str]:
    """The valid henkilötunnus codes in ``text`` (in any case; temporary ones included, as
    sotelake.privacy.hetu accepts them)."""
    return [m for m in PATTERN.findall(text) if _valid(m.upper())]


def _valid(code: str) -> bool:
    try:
        stdnum_hetu.validate(code, allow_temporary=True)
    except stdnum_errors.ValidationError:
        return False
    return True


def columns_with_henkilotunnus(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    """The text columns of ``relation`` holding at least one valid henkilötunnus."""
    hits = []
    for name, column_type, *_ in con.execute(f"describe select * from {relation}").fetchall():
        if not any(t in str(column_type) for t in ("VARCHAR", "JSON", "STRUCT", "[]", "MAP")):
            continue
        query = (
            f'select distinct "{name}"::varchar from {relation} '
            f"where regexp_matches(\"{name}\"::varchar, '{CANDIDATE}', 'i') limit 1000"
        )
        if any(valid_codes(value) for (value,) in con.execute(query).fetchall()):
            hits.append(name)
    return hits
