"""Keyed pseudonyms and the personnummer check, on their own (the sources use them end to end)."""

import hashlib
import hmac
import re
from datetime import date

import polars as pl
import pytest
from conftest import OTHER_PSEUDONYM_KEY, TEST_PSEUDONYM_KEY, luhn_completed
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.pseudonyms import (
    KEY_VARIABLE,
    MIN_KEY_LENGTH,
    PSEUDONYM_PATTERN,
    MissingPseudonymKey,
    checked_key,
    key_from_environment,
    personnummer_digits,
    personnummer_problem,
    pseudonym,
    pseudonymise,
)


def test_pseudonym_is_the_documented_hmac():
    expected = hmac.new(TEST_PSEUDONYM_KEY.encode(), b"191212121212", hashlib.sha256).hexdigest()
    assert pseudonym("19121212-1212", TEST_PSEUDONYM_KEY, "personnummer") == "ps_" + expected[:32]
    assert re.fullmatch(PSEUDONYM_PATTERN, pseudonym("u-1", TEST_PSEUDONYM_KEY))
    assert PSEUDONYM_PATTERN == r"^ps_[0-9a-f]{32}$"


def test_the_forms_of_one_identifier_share_a_pseudonym():
    dashed = pseudonym("19121212-1212", TEST_PSEUDONYM_KEY, "personnummer")
    assert pseudonym(" 191212121212 ", TEST_PSEUDONYM_KEY, "personnummer") == dashed
    assert pseudonym(" u-83b1\t", TEST_PSEUDONYM_KEY) == pseudonym("u-83b1", TEST_PSEUDONYM_KEY)
    assert pseudonym("u-83B1", TEST_PSEUDONYM_KEY) != pseudonym("u-83b1", TEST_PSEUDONYM_KEY)


def test_another_key_or_person_gives_another_pseudonym():
    one = pseudonym("19121212-1212", TEST_PSEUDONYM_KEY, "personnummer")
    assert pseudonym("19121212-1212", OTHER_PSEUDONYM_KEY, "personnummer") != one
    assert pseudonym("19380412-4829", TEST_PSEUDONYM_KEY, "personnummer") != one


def test_column_pseudonyms_match_the_single_ones_and_missing_stays_missing():
    frame = pl.DataFrame({"ref": ["u-1", None, "u-2", "u-1"]})
    out = frame.select(pseudonymise(pl.col("ref"), TEST_PSEUDONYM_KEY))["ref"].to_list()
    assert out == [pseudonym("u-1", TEST_PSEUDONYM_KEY), None, pseudonym("u-2", TEST_PSEUDONYM_KEY), out[0]]
    empty = pl.DataFrame({"ref": []}, schema={"ref": pl.String})
    assert empty.select(pseudonymise(pl.col("ref"), TEST_PSEUDONYM_KEY)).height == 0


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (None, "STADSDATA_PSEUDONYM_KEY is not set"),
        ("", "STADSDATA_PSEUDONYM_KEY is not set"),
        ("   ", "STADSDATA_PSEUDONYM_KEY is not set"),
        ("k" * (MIN_KEY_LENGTH - 1), "STADSDATA_PSEUDONYM_KEY is shorter than 32 characters"),
        ("k" * 10 + " " * 30, "STADSDATA_PSEUDONYM_KEY is shorter than 32 characters"),
    ],
    ids=["none", "empty", "blank", "31-characters", "padded-with-blanks"],
)
def test_missing_or_short_key_is_refused_naming_source_and_variable(key, problem):
    with pytest.raises(MissingPseudonymKey) as error:
        checked_key(key, "care_supervision")
    assert str(error.value).startswith(f"care_supervision: not ingested: {problem}; set {KEY_VARIABLE}")
    assert error.value.source == "care_supervision"


def test_key_of_the_minimum_length_comes_from_the_environment():
    key = "k" * MIN_KEY_LENGTH
    assert key_from_environment("eservice_usage", {KEY_VARIABLE: key}) == key
    with pytest.raises(MissingPseudonymKey, match="^eservice_usage: not ingested"):
        key_from_environment("eservice_usage", {})


def _check(numbers: list[str]) -> list[tuple[str | None, str | None]]:
    frame = pl.DataFrame({"pnr": numbers}, schema={"pnr": pl.String})
    out = frame.select(
        personnummer_problem(pl.col("pnr")).alias("p"), personnummer_digits(pl.col("pnr")).alias("d")
    )
    return list(zip(out["p"].to_list(), out["d"].to_list(), strict=True))


births = st.dates(min_value=date(1890, 1, 1), max_value=date(2026, 12, 31))
serials = st.integers(min_value=0, max_value=999)


def _valid_number(born: date, serial: int, coordination: bool) -> str:
    day = born.day + (60 if coordination else 0)
    return luhn_completed(f"{born:%Y%m}{day:02d}-{serial:03d}")


@settings(max_examples=25, deadline=None)
@given(people=st.lists(st.tuples(births, serials, st.booleans()), min_size=1, max_size=40))
def test_every_valid_number_passes_and_every_other_check_digit_fails(people):
    valid = [_valid_number(*person) for person in people]
    wrong = [number[:-1] + d for number in valid for d in "0123456789" if d != number[-1]]
    results = _check(valid + wrong)
    assert results[: len(valid)] == [(None, number.replace("-", "")) for number in valid]
    assert results[len(valid) :] == [("invalid check digit", None)] * len(wrong)


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        ("19121212-1212", None),
        ("19121212-1213", "invalid check digit"),
        ("19000229-1234", "not a valid date of birth"),  # 1900 was no leap year
        ("19121292-1212", "not a valid date of birth"),  # day 92: beyond a samordningsnummer too
        ("19121200-1212", "not a valid date of birth"),
        ("121212-1212", "not in the form YYYYMMDD-NNNN"),
        ("19121212 1212", "not in the form YYYYMMDD-NNNN"),
        ("１９１２１２１２-１２１２", "not in the form YYYYMMDD-NNNN"),  # full-width digits
        (None, None),
    ],
    ids=[
        "valid",
        "check-digit",
        "no-leap-day",
        "day-92",
        "day-0",
        "ten-digits",
        "blank",
        "full-width",
        "none",
    ],
)
def test_personnummer_problems_name_what_is_wrong(number, problem):
    [(found, _digits)] = _check([number])
    assert found == problem
