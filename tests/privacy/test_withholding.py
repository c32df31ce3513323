"""The one withholding of texts about source rows (sotelake.withholding): secrets, identity
codes in any case and the row's own identifiers never reach a stored or printed text."""

from __future__ import annotations

import logging

import duckdb
import pytest

from sotelake.errors import PermanentError
from sotelake.withholding import (
    WITHHELD,
    WITHHELD_CODE,
    column_label,
    columns_with_henkilotunnus,
    install_log_withholding,
    screen_codes,
    shape,
    valid_codes,
    withheld_error,
    withhold,
)

# valid codes: 1900s with the old and a 2023 century sign, 2000s with the old and a 2023 sign,
# a temporary identifier (individual number 900-999)
CODES = ["100349-164T", "100349Y164T", "010105A923H", "150623F102R", "131052-920J"]


@pytest.mark.parametrize("code", CODES + [c.lower() for c in CODES])
def test_identity_codes_are_withheld_in_any_case(code):
    text = f"J06 soitto {code}, takaisin"
    assert withhold(text) == f"J06 soitto {WITHHELD_CODE}, takaisin"
    assert screen_codes(text) == (f"J06 soitto {WITHHELD_CODE}, takaisin", 1)


def test_a_mistyped_code_is_withheld_but_not_a_number_that_is_no_date():
    assert withhold("100349-164X") == WITHHELD_CODE  # wrong checksum: still somebody's
    for text in ("320349-164T", "101349-164T", "invoice 2025-01-0001", "1234567-8901"):
        assert withhold(text) == text
    digest = "md5 9e107d9d372bb6826bd81d3542a419d6"
    assert withhold(digest) == digest


@pytest.mark.parametrize(
    "text",
    [
        'Unable to connect to Postgres at "postgresql://recordsys:S3cret-pw@db:5432/records"',
        "postgres://recordsys:S3cret-pw@db/records?sslmode=require",
        "host=db port=5432 user=recordsys password=S3cret-pw dbname=records",
        '{"user": "recordsys", "password": "S3cret-pw"}',
        "PGPASSWORD=S3cret-pw psql",
        "https://hooks.example/x?token=S3cret-pw&channel=dq",
        "Authorization: Bearer S3cret-pwS3cret-pwS3cret-pw",
    ],
)
def test_secrets_are_withheld(text):
    safe = withhold(text)
    assert "S3cret-pw" not in safe and WITHHELD in safe
    assert "recordsys:" not in safe


def test_the_rows_own_identifiers_are_withheld_and_ordinary_text_is_kept():
    row = {"KUNTA": "Potilas 877", "KESTO_H": "Kotikatu 5 A 1", "n": 3}
    text = str(row)
    safe = withhold(text, private=["Potilas 877", "Kotikatu 5 A 1", None])
    assert "Potilas" not in safe and "Kotikatu" not in safe and "'n': 3" in safe
    ordinary = 'password authentication failed for user "sotelake"; basic services 12,5 h'
    assert withhold(ordinary) == ordinary


def test_shapes_and_column_labels_show_no_value():
    assert shape("12,5 h") == "99,9 a" and shape("Matti Meikäläinen") == "Aaaaa Aaaaaaaaaaa"
    assert shape("x" * 50).endswith("…") and len(shape("x" * 50)) == 41
    assert column_label("KESTO_H", 7) == "KESTO_H"
    assert column_label("KÄYNTIPVM", 2) == "KÄYNTIPVM"
    for value in ("Potilas 877", "100349-164t", "Kotikatu 5", "12.3"):
        assert column_label(value, 3) == "column 3 (name withheld)"


def test_an_error_keeps_its_kind_and_loses_its_secret():
    class SchemaDrift(PermanentError):
        pass

    try:
        try:
            raise OSError("connection refused")
        except OSError:
            raise SchemaDrift("postgresql://u:S3cret-pw@h/db lacks 100349-164T") from None
    except SchemaDrift as error:
        safe = withheld_error(error)
    assert isinstance(safe, SchemaDrift) and safe.__traceback__ is not None
    assert "S3cret-pw" not in str(safe) and "164T" not in str(safe)
    clean = ValueError("nothing private")
    assert withheld_error(clean) is clean
    chained = RuntimeError("outer")
    chained.__cause__ = ValueError("password=S3cret-pw")
    assert "S3cret-pw" not in repr(withheld_error(chained).__cause__)


def test_log_records_are_withheld(caplog):
    install_log_withholding()
    install_log_withholding()  # once per process, however often it is asked
    with caplog.at_level(logging.INFO):
        logging.getLogger("sotelake.test").warning("bad row %s at %s", "100349-164t", "x")
        logging.getLogger("somebody.else").info("postgresql://u:S3cret-pw@h/db")
    assert "164t" not in caplog.text and "S3cret-pw" not in caplog.text
    assert WITHHELD_CODE in caplog.text


def test_the_privacy_scan_finds_lower_case_codes():
    assert valid_codes("a 131052-308t b") == ["131052-308t"]
    con = duckdb.connect()
    con.execute(
        "create table t as select md5(i::varchar) || md5(i::varchar) as pseudonym, "
        "case when i = 4321 then 'soitto 131052-308t' else 'x' end as note from range(20000) r(i)"
    )
    # hexadecimal pseudonyms hold code-shaped runs in lower case; only the real code is found
    assert columns_with_henkilotunnus(con, "t") == ["note"]
