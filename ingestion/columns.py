"""Typing and checking values against the contract, one reason per rejected row.

Each column becomes a pair of expressions: its typed value, and the reason the row
must be rejected because of it (null when the value is fine). Rows are never dropped
here; the caller splits them into loaded and quarantined, so every row read ends up
in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ingestion.contracts import Column, Table
from ingestion.pseudonyms import personnummer_digits, personnummer_problem

LOCAL_TIME_ZONE = "Europe/Stockholm"
POLARS_TYPES = {
    "string": pl.String,
    "integer": pl.Int64,
    "float": pl.Float64,
    "boolean": pl.Boolean,
    "date": pl.Date,
    "timestamp": pl.Datetime("us", "UTC"),
}
OFFSET_AT_END = r"(Z|[+-]\d{2}:?\d{2})$"


@dataclass(frozen=True)
class Derived:
    """A column a source computes itself instead of taking one field as it is."""

    value: pl.Expr
    reason: pl.Expr | None = None


def number(raw: pl.Expr, decimal_comma: bool) -> pl.Expr:
    """A decimal number; `1,5` means 1.5 where the source writes decimal commas."""
    text = raw.str.strip_chars().str.replace_all("\u00a0", "").str.replace_all(" ", "")
    if decimal_comma:
        text = text.str.replace(",", ".", literal=True)
    value = text.cast(pl.Float64, strict=False)
    return pl.when(value.is_finite()).then(value)


def whole_number(raw: pl.Expr) -> pl.Expr:
    """A whole number; `12.0` from a JSON encoder is 12, `12.5` is not a whole number.

    One beyond 64 bits becomes null (the row is rejected), not an error that fails the file.
    """
    value = raw.str.strip_chars().cast(pl.Float64, strict=False)
    whole = pl.when(value.is_finite() & (value == value.round(0))).then(value)
    return whole.cast(pl.Int64, strict=False)


def local_to_utc(naive: pl.Expr, occurrence: pl.Expr) -> pl.Expr:
    """Stockholm wall-clock time to UTC.

    The spring hour that does not exist becomes null (the row is rejected). The autumn
    hour that occurs twice is resolved by order: the first occurrence of a key in a
    file is summer time (CEST, +02:00), a second occurrence is winter time (CET, +01:00),
    which is the order in which the hours happened.
    """
    ambiguous = pl.when(occurrence == 0).then(pl.lit("earliest")).otherwise(pl.lit("latest"))
    return naive.dt.replace_time_zone(
        LOCAL_TIME_ZONE, ambiguous=ambiguous, non_existent="null"
    ).dt.convert_time_zone("UTC")


def timestamp(raw: pl.Expr, occurrence: pl.Expr, formats: tuple[str, ...] | None = None) -> pl.Expr:
    """ISO 8601 with an offset means what it says; without one it is Stockholm time.

    A contract may name the exact `formats` a source writes instead (strptime; a format
    without `%z` is local time), e.g. `YYYY-MM-DD HH:MM` without seconds.
    """
    if formats:
        text = raw.str.strip_chars()
        with_offset = [text.str.to_datetime(f, time_zone="UTC", strict=False) for f in formats if "%z" in f]
        naive = [text.str.to_datetime(f, strict=False) for f in formats if "%z" not in f]
        local = [local_to_utc(pl.coalesce(naive), occurrence)] if naive else []
        return pl.coalesce([*with_offset, *local])
    text = raw.str.strip_chars().str.replace(" ", "T").str.replace(r"Z$", "+00:00")
    with_offset = text.str.to_datetime(format="%Y-%m-%dT%H:%M:%S%.f%z", time_zone="UTC", strict=False)
    naive = text.str.to_datetime(format="%Y-%m-%dT%H:%M:%S%.f", strict=False)
    return (
        pl.when(text.str.contains(OFFSET_AT_END)).then(with_offset).otherwise(local_to_utc(naive, occurrence))
    )


def _parses_as_local_time(raw: pl.Expr, formats: tuple[str, ...] | None) -> pl.Expr:
    if formats:
        text = raw.str.strip_chars()
        naive = [text.str.to_datetime(f, strict=False) for f in formats if "%z" not in f]
        return pl.coalesce(naive).is_not_null() if naive else pl.lit(False)
    text = raw.str.strip_chars().str.replace(" ", "T")
    return text.str.to_datetime(format="%Y-%m-%dT%H:%M:%S%.f", strict=False).is_not_null()


def _readable(time_format: str) -> str:
    """`%Y-%m-%d %H:%M` as a person writes it: `YYYY-MM-DD HH:MM`."""
    for code, text in (("%Y", "YYYY"), ("%m", "MM"), ("%d", "DD"), ("%H", "HH"), ("%M", "MM")):
        time_format = time_format.replace(code, text)
    return time_format.replace("%S", "SS").replace("%.f", "").replace("%z", "+HH:MM")


def given(raw: pl.Expr) -> pl.Expr:
    """The source sent something: a blank text is missing, not a value of the wrong type."""
    return raw.str.strip_chars() != ""


def _quoted(message: str, value: pl.Expr, withhold: bool) -> pl.Expr:
    """`message: value`, or the message alone where values may identify a person."""
    return pl.lit(message) if withhold else pl.format(f"{message}: {{}}", value)


def timestamp_reason(
    name: str,
    raw: pl.Expr,
    value: pl.Expr,
    formats: tuple[str, ...] | None = None,
    withhold: bool = False,
) -> pl.Expr:
    """Tell a daylight-saving gap apart from text that is no time at all."""
    gap = (
        pl.lit(f"{name}: local time does not exist (daylight-saving gap)")
        if withhold
        else pl.format("{}: local time {} does not exist (daylight-saving gap)", pl.lit(name), raw)
    )
    expected = (
        "not a time in the form " + " or ".join(_readable(f) for f in formats)
        if formats
        else "not an ISO 8601 timestamp"
    )
    return (
        pl.when(given(raw) & value.is_null() & _parses_as_local_time(raw, formats))
        .then(gap)
        .when(given(raw) & value.is_null())
        .then(_quoted(f"{name}: {expected}", raw, withhold))
    )


def boolean(raw: pl.Expr) -> pl.Expr:
    text = raw.str.strip_chars().str.to_lowercase()
    return (
        pl.when(text.is_in(["true", "1", "ja", "yes"]))
        .then(True)
        .when(text.is_in(["false", "0", "nej", "no"]))
        .then(False)
        .otherwise(None)
    )


def label(column: Column) -> str:
    """A pseudonymised column is named in reasons as the sender knows it (`Personnummer`)."""
    return column.source if column.pseudonymise else column.name


def typed(column: Column, raw: pl.Expr, table: Table, occurrence: pl.Expr) -> pl.Expr:
    """The column's value in its contract type; null where the text does not fit.

    A pseudonymised identifier is its normalised form here; `ingestion.run` hashes it.
    """
    if column.pseudonymise and column.identifier == "personnummer":
        return personnummer_digits(raw)
    if column.type == "string":
        return raw.str.strip_chars().replace("", None)
    if column.type == "integer":
        return whole_number(raw)
    if column.type == "float":
        return number(raw, table.decimal_comma)
    if column.type == "boolean":
        return boolean(raw)
    if column.type == "date":
        return raw.str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    return timestamp(raw, occurrence, column.formats)


def type_reason(column: Column, raw: pl.Expr, value: pl.Expr, withhold: bool = False) -> pl.Expr:
    if column.pseudonymise and column.identifier == "personnummer":
        problem = personnummer_problem(raw)
        return pl.when(problem.is_not_null()).then(pl.format("{}: {}", pl.lit(label(column)), problem))
    if column.type == "timestamp":
        return timestamp_reason(column.name, raw, value, column.formats, withhold)
    return pl.when(given(raw) & value.is_null()).then(
        _quoted(f"{label(column)}: not a {column.type}", raw, withhold)
    )


def rule_reasons(column: Column, withhold: bool = False) -> list[pl.Expr]:
    """Reasons from the contract's rules for one typed column: required, allowed, range, pattern.

    With `withhold` (a table holding personal data) no reason quotes the value: a shifted
    column could put a personnummer where a district belongs.
    """
    value = pl.col(column.name)
    name = label(column)
    reasons = []
    if column.required:
        reasons.append(pl.when(value.is_null()).then(pl.lit(f"{name}: missing")))

    def broken(condition: pl.Expr, rule: str) -> pl.Expr:
        message = (
            pl.lit(f"{name}: value {rule}")
            if withhold
            else pl.format("{}: {} {}", pl.lit(name), value.cast(pl.String), pl.lit(rule))
        )
        return pl.when(condition).then(message)

    if column.allowed:
        outside = value.is_not_null() & ~value.cast(pl.String).is_in(column.allowed)
        reasons.append(broken(outside, f"is not one of {', '.join(column.allowed)}"))
    if column.min is not None:
        reasons.append(broken(value < column.min, f"is below {column.min}"))
    if column.max is not None:
        reasons.append(broken(value > column.max, f"is above {column.max}"))
    if column.pattern is not None:
        mismatch = value.is_not_null() & ~value.str.contains(column.pattern)
        reasons.append(broken(mismatch, f"does not match {column.pattern}"))
    return reasons


def apply_contract(
    raw: pl.DataFrame,
    table: Table,
    derived: dict[str, Derived] | None = None,
    occurrence_keys: list[str] | None = None,
) -> pl.DataFrame:
    """Typed contract columns plus `_row_number`, `_raw` and `_reject` (first reason, or null).

    `occurrence_keys` (raw field names) number the repeats of a key within the file, which
    decides the repeated autumn hour for local times; see `local_to_utc`.
    """
    if raw.is_empty():
        # Nothing to check; and Polars 2.1 panics (PanicException, not an Exception) in
        # `replace_time_zone` with a per-row `ambiguous` on zero rows, e.g. a header-only file.
        schema = {"_row_number": pl.Int64, "_raw": pl.String}
        schema |= {c.name: POLARS_TYPES[c.type] for c in table.columns}
        return pl.DataFrame(schema=schema | {"_reject": pl.String})
    derived = derived or {}
    keys = occurrence_keys or [c.source for c in table.columns if c.name in table.keys]
    occurrence = pl.int_range(pl.len()).over([pl.col(k) for k in keys])
    values, reasons = [], []
    for column in table.columns:
        if column.name in derived:
            values.append(derived[column.name].value.alias(column.name))
            if derived[column.name].reason is not None:
                reasons.append(derived[column.name].reason)
            continue
        raw_value = pl.col(column.source)
        value = typed(column, raw_value, table, occurrence)
        values.append(value.alias(column.name))
        reasons.append(type_reason(column, raw_value, value, table.pii))
    parse_reason = pl.coalesce(reasons) if reasons else pl.lit(None, pl.String)
    typed_rows = raw.select(
        "_row_number", "_raw", *values, parse_reason.cast(pl.String).alias("_reject")
    ).with_columns([pl.col(c.name).cast(POLARS_TYPES[c.type]) for c in table.columns])
    rules = [r for column in table.columns for r in rule_reasons(column, table.pii)]
    if rules:
        typed_rows = typed_rows.with_columns(pl.coalesce([pl.col("_reject"), *rules]).alias("_reject"))
    return typed_rows
