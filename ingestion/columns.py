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


def timestamp(raw: pl.Expr, occurrence: pl.Expr) -> pl.Expr:
    """ISO 8601 with an offset means what it says; without one it is Stockholm time."""
    text = raw.str.strip_chars().str.replace(" ", "T").str.replace(r"Z$", "+00:00")
    with_offset = text.str.to_datetime(
        format="%Y-%m-%dT%H:%M:%S%.f%z", time_zone="UTC", strict=False
    )
    naive = text.str.to_datetime(format="%Y-%m-%dT%H:%M:%S%.f", strict=False)
    return (
        pl.when(text.str.contains(OFFSET_AT_END))
        .then(with_offset)
        .otherwise(local_to_utc(naive, occurrence))
    )


def timestamp_reason(name: str, raw: pl.Expr, value: pl.Expr) -> pl.Expr:
    """Tell a daylight-saving gap apart from text that is no time at all."""
    text = raw.str.strip_chars().str.replace(" ", "T")
    parses_naive = text.str.to_datetime(format="%Y-%m-%dT%H:%M:%S%.f", strict=False).is_not_null()
    return (
        pl.when(raw.is_not_null() & value.is_null() & parses_naive)
        .then(
            pl.format("{}: local time {} does not exist (daylight-saving gap)", pl.lit(name), raw)
        )
        .when(raw.is_not_null() & value.is_null())
        .then(pl.format("{}: not an ISO 8601 timestamp: {}", pl.lit(name), raw))
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


def typed(column: Column, raw: pl.Expr, table: Table, occurrence: pl.Expr) -> pl.Expr:
    """The column's value in its contract type; null where the text does not fit."""
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
    return timestamp(raw, occurrence)


def type_reason(column: Column, raw: pl.Expr, value: pl.Expr) -> pl.Expr:
    if column.type == "timestamp":
        return timestamp_reason(column.name, raw, value)
    return pl.when(raw.is_not_null() & value.is_null()).then(
        pl.format("{}: not a {}: {}", pl.lit(column.name), pl.lit(column.type), raw)
    )


def rule_reasons(column: Column) -> list[pl.Expr]:
    """Reasons from the contract's rules for one typed column: required, allowed, range."""
    value = pl.col(column.name)
    reasons = []
    if column.required:
        reasons.append(pl.when(value.is_null()).then(pl.lit(f"{column.name}: missing")))
    if column.allowed:
        reasons.append(
            pl.when(value.is_not_null() & ~value.cast(pl.String).is_in(column.allowed)).then(
                pl.format(
                    "{}: {} is not one of {}",
                    pl.lit(column.name),
                    value.cast(pl.String),
                    pl.lit(", ".join(column.allowed)),
                )
            )
        )
    if column.min is not None:
        reasons.append(
            pl.when(value < column.min).then(
                pl.format("{}: {} is below {}", pl.lit(column.name), value, pl.lit(column.min))
            )
        )
    if column.max is not None:
        reasons.append(
            pl.when(value > column.max).then(
                pl.format("{}: {} is above {}", pl.lit(column.name), value, pl.lit(column.max))
            )
        )
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
        reasons.append(type_reason(column, raw_value, value))
    parse_reason = pl.coalesce(reasons) if reasons else pl.lit(None, pl.String)
    typed_rows = raw.select(
        "_row_number", "_raw", *values, parse_reason.cast(pl.String).alias("_reject")
    ).with_columns([pl.col(c.name).cast(POLARS_TYPES[c.type]) for c in table.columns])
    rules = [r for column in table.columns for r in rule_reasons(column)]
    if rules:
        typed_rows = typed_rows.with_columns(
            pl.coalesce([pl.col("_reject"), *rules]).alias("_reject")
        )
    return typed_rows
