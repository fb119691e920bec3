"""Keyed pseudonyms for personal identifiers, made at ingestion so bronze never holds one.

A personnummer or a user reference is replaced by `ps_` and the first 32 hex digits of
HMAC-SHA256 over the normalised identifier. The same person gets the same pseudonym in
every file (so visits can still be counted per person), and nobody without the key can
recompute it from a guessed identifier, which a plain hash would allow: personnummer are
few and predictable. The key comes from `STADSDATA_PSEUDONYM_KEY`, never from the
repository; a source that needs it is not ingested at all without it.

Changing the key changes every pseudonym: keep it as long as the history it links.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping

import polars as pl

KEY_VARIABLE = "STADSDATA_PSEUDONYM_KEY"
MIN_KEY_LENGTH = 32
PSEUDONYM_PREFIX = "ps_"
PSEUDONYM_HEX_DIGITS = 32
# The publishing privacy gate checks values against the same format.
PSEUDONYM_PATTERN = r"^ps_[0-9a-f]{32}$"
PERSONNUMMER_FORM = r"^[0-9]{8}-[0-9]{4}$"  # ASCII digits: \d would take any script


class MissingPseudonymKey(RuntimeError):
    """The pseudonym key is absent or too short, so a source with personal data must wait.

    Raised before anything of the source is touched: its files stay in the landing zone,
    unrecorded, and are taken in by the first run that has the key.
    """

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        super().__init__(
            f"{source}: not ingested: {problem}; set {KEY_VARIABLE} to a secret of at least "
            f"{MIN_KEY_LENGTH} characters (its files stay in the landing zone until then)"
        )


def checked_key(key: str | None, source: str) -> str:
    """The key if it is usable for `source`'s pseudonyms, else MissingPseudonymKey."""
    if key is None or not key.strip():
        raise MissingPseudonymKey(source, f"{KEY_VARIABLE} is not set")
    if len(key.strip()) < MIN_KEY_LENGTH:
        raise MissingPseudonymKey(source, f"{KEY_VARIABLE} is shorter than {MIN_KEY_LENGTH} characters")
    return key


def key_from_environment(source: str, environ: Mapping[str, str] = os.environ) -> str:
    """The key from the environment, checked; see `checked_key`."""
    return checked_key(environ.get(KEY_VARIABLE), source)


def normalised(identifier: str, kind: str = "text") -> str:
    """The form that is hashed: a personnummer as its 12 digits, any other identifier stripped."""
    text = identifier.strip()
    return text.replace("-", "") if kind == "personnummer" else text


def _digest(normalised_identifier: str, secret: bytes) -> str:
    mac = hmac.digest(secret, normalised_identifier.encode("utf-8"), "sha256")
    return PSEUDONYM_PREFIX + mac.hex()[:PSEUDONYM_HEX_DIGITS]


def pseudonym(identifier: str, key: str, kind: str = "text") -> str:
    """The pseudonym of one identifier, e.g. for looking a person up on request."""
    return _digest(normalised(identifier, kind), key.encode("utf-8"))


def pseudonymise(normalised_identifiers: pl.Expr, key: str) -> pl.Expr:
    """Pseudonyms of a column of already normalised identifiers; missing stays missing."""
    secret = key.encode("utf-8")

    def batch(values: pl.Series) -> pl.Series:
        return pl.Series(
            values.name,
            [None if v is None else _digest(v, secret) for v in values],
            dtype=pl.String,
        )

    return normalised_identifiers.map_batches(batch, return_dtype=pl.String)


def personnummer_digits(raw: pl.Expr) -> pl.Expr:
    """The 12 digits of a well-formed personnummer with a valid date and check digit, else null."""
    text = raw.str.strip_chars().replace("", None)
    return pl.when(personnummer_problem(raw).is_null()).then(text.str.replace("-", "", literal=True))


def _birth_date(text: pl.Expr) -> pl.Expr:
    """The date in a personnummer; a samordningsnummer has 60 added to the day."""
    day = text.str.slice(6, 2).cast(pl.Int64, strict=False)
    day = pl.when(day > 60).then(day - 60).otherwise(day)
    return pl.format(
        "{}-{}-{}", text.str.slice(0, 4), text.str.slice(4, 2), day.cast(pl.String).str.zfill(2)
    ).str.to_date("%Y-%m-%d", strict=False)


def _luhn_valid(text: pl.Expr) -> pl.Expr:
    """The last digit checks the ten digits YYMMDDNNNN (Luhn, weights 2,1,2,...)."""
    digits = text.str.replace("-", "", literal=True).str.slice(2, 10)
    total = pl.lit(0)
    for position in range(9):
        product = digits.str.slice(position, 1).cast(pl.Int64) * (2 if position % 2 == 0 else 1)
        total = total + product // 10 + product % 10
    check = digits.str.slice(9, 1).cast(pl.Int64)
    return (10 - total % 10) % 10 == check


def personnummer_problem(raw: pl.Expr) -> pl.Expr:
    """What is wrong with a personnummer, never quoting it; null when it is valid or missing."""
    text = raw.str.strip_chars()
    well_formed = text.str.contains(PERSONNUMMER_FORM)
    checkable = pl.when(well_formed).then(text)
    return (
        pl.when(text.is_null() | (text == ""))
        .then(pl.lit(None, pl.String))
        .when(~well_formed)
        .then(pl.lit("not in the form YYYYMMDD-NNNN"))
        .when(_birth_date(checkable).is_null())
        .then(pl.lit("not a valid date of birth"))
        .when(~_luhn_valid(checkable))
        .then(pl.lit("invalid check digit"))
    )
