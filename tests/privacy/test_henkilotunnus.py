"""Henkilötunnus validation and keyed pseudonyms (sotelake.privacy.hetu)."""

import pytest

from sotelake import settings
from sotelake.privacy import hetu

KEY = b"k" * 32


def code(ddmmyy: str, sign: str, individual: str) -> str:
    """A valid code built from its parts (the check character computed here, independently)."""
    return (
        f"{ddmmyy}{sign}{individual}"
        + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(ddmmyy + individual) % 31]
    )


@pytest.mark.parametrize(
    ("value", "birth_year", "sex"),
    [
        ("131052-308T", 1952, 2),  # python-stdnum's own example
        (code("010594", "Y", "123"), 1994, 1),  # 2023 century signs for the 1900s
        (code("010594", "X", "124"), 1994, 2),
        (code("311299", "W", "003"), 1999, 1),
        (code("150101", "V", "002"), 1901, 2),
        (code("280260", "U", "555"), 1960, 1),
        (code("010120", "A", "002"), 2020, 2),
        (code("010120", "B", "005"), 2020, 1),  # 2023 century signs for the 2000s
        (code("290224", "F", "912"), 2024, 2),  # temporary identifier (900-999), leap day
        (code("010199", "+", "034"), 1899, 2),
    ],
)
def test_valid_codes_are_accepted(value, birth_year, sex):
    compact, reason = hetu.check(value)
    assert reason is None and compact == value
    assert hetu.birth_year_and_sex(compact) == (birth_year, sex)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, hetu.MISSING),
        ("  ", hetu.MISSING),
        ("131052-308U", hetu.BAD_CHECKSUM),
        ("131052308T", hetu.BAD_FORMAT),
        ("131052-30T", hetu.BAD_FORMAT),
        ("131052G308T", hetu.BAD_FORMAT),  # G is not a century sign
        ("311352-308T", hetu.BAD_DATE),  # month 13
        (code("290223", "A", "002"), hetu.BAD_DATE),  # 29.2.2023 does not exist
        (code("131052", "-", "001"), hetu.BAD_DATE),  # individual numbers start from 002
    ],
)
def test_invalid_codes_are_rejected_with_a_reason(value, reason):
    assert hetu.check(value) == (None, reason)


def test_the_fast_path_agrees_with_python_stdnum():
    """hetu.check validates codes as written itself (for speed): it must say what stdnum says
    for valid codes, one-character mutations of them, and other spellings."""
    import random

    from stdnum import exceptions
    from stdnum.fi import hetu as stdnum_hetu

    rng = random.Random(7)
    alphabet = "0123456789-+ABCDEFHJKLMNPRSTUVWXY a"
    codes = []
    for _ in range(3000):
        valid = code(
            f"{rng.randint(1, 31):02d}{rng.randint(1, 12):02d}{rng.randint(0, 99):02d}",
            rng.choice("-+ABCDEFYXWVU"),
            f"{rng.randint(0, 999):03d}",
        )
        position = rng.randrange(11)
        mutated = valid[:position] + rng.choice(alphabet) + valid[position + 1 :]
        codes += [valid, mutated, valid.lower(), f" {valid}", valid[:10]]
    for value in codes:
        try:
            expected = stdnum_hetu.validate(value, allow_temporary=True), None
        except exceptions.ValidationError:
            expected = None
        compact, reason = hetu.check(value)
        if expected is None:
            assert compact is None and reason, value
        else:
            assert (compact, reason) == expected, value


def test_same_person_same_pseudonym_and_key_matters():
    a = hetu.pseudonymise(["131052-308T", "131052-308t", " 131052-308T "], KEY)
    assert len(set(a.pseudonyms)) == 1, "normalised codes of one person share a pseudonym"
    assert a.pseudonyms[0] != hetu.pseudonymise(["131052-308T"], b"other" * 8).pseudonyms[0]
    assert a.pseudonyms[0] != hetu.pseudonymise([code("131052", "Y", "308")], KEY).pseudonyms[0]
    assert len(a.pseudonyms[0]) == 32 and int(a.pseudonyms[0], 16) >= 0
    assert "131052" not in a.pseudonyms[0]


@pytest.mark.parametrize("key_length", [16, 32, 63, 64, 65, 200])
def test_pseudonyms_are_hmac_sha256_of_the_compact_code(key_length):
    """The pseudonym is HMAC-SHA256(key, code) as the standard library computes it, whatever
    the key's length (over one SHA-256 block, 64 bytes, the key is hashed first)."""
    import hmac
    import secrets

    key = secrets.token_bytes(key_length)
    codes = [code("131052", "-", "308"), code("010199", "A", "123"), code("311299", "Y", "901")]
    expected = [hmac.new(key, c.encode(), "sha256").hexdigest()[:32] for c in codes]
    assert hetu.pseudonymise(codes, key).pseudonyms == expected


def test_pseudonymise_keeps_row_order_and_reasons():
    out = hetu.pseudonymise(["131052-308T", "bad", None, "131052-308T"], KEY)
    assert out.pseudonyms[1] is None and out.pseudonyms[2] is None
    assert out.pseudonyms[0] == out.pseudonyms[3]
    assert out.reasons == [None, hetu.BAD_FORMAT, hetu.MISSING, None]
    assert out.birth_years == [1952, None, None, 1952] and out.sexes == [2, None, None, 2]


def test_the_key_comes_from_the_environment_and_must_be_long(monkeypatch, tmp_path):
    monkeypatch.delenv(settings.PSEUDONYM_KEY_ENV, raising=False)
    monkeypatch.delenv(settings.PSEUDONYM_KEY_FILE_ENV, raising=False)
    with pytest.raises(settings.ConfigurationError, match="No pseudonymisation key"):
        settings.pseudonym_key()
    monkeypatch.setenv(settings.PSEUDONYM_KEY_ENV, "short")
    with pytest.raises(settings.ConfigurationError, match="at least 32"):
        settings.pseudonym_key()
    key_file = tmp_path / "key"
    key_file.write_text("f" * 64 + "\n")
    monkeypatch.delenv(settings.PSEUDONYM_KEY_ENV)
    monkeypatch.setenv(settings.PSEUDONYM_KEY_FILE_ENV, str(key_file))
    assert settings.pseudonym_key() == b"f" * 64
