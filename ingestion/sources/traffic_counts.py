"""Traffic counts: the hour counted is a local date plus an hour, turned into UTC."""

from __future__ import annotations

import polars as pl

from ingestion.columns import Derived, local_to_utc
from ingestion.contracts import Table

# One count per site, hour, direction and class; a second row for the same key on the
# autumn day is the repeated hour (see ingestion.columns.local_to_utc).
OCCURRENCE_KEYS = ["Mätplats", "Datum", "Timme", "Riktning", "Fordonsklass"]


def derived(table: Table) -> dict[str, Derived]:
    day = pl.col("Datum").str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    hour = pl.col("Timme").str.strip_chars().cast(pl.Int64, strict=False)
    valid_hour = hour.is_between(0, 23)
    naive = pl.when(valid_hour).then(day.cast(pl.Datetime("us")) + pl.duration(hours=hour))
    occurrence = pl.int_range(pl.len()).over(OCCURRENCE_KEYS)
    observed_at = local_to_utc(naive, occurrence)
    reason = (
        pl.when(day.is_not_null() & hour.is_not_null() & ~valid_hour)
        .then(pl.format("Timme: {} is not an hour 0-23", pl.col("Timme")))
        .when(day.is_not_null() & valid_hour & observed_at.is_null())
        .then(
            pl.format(
                "observed_at: local time {} {}:00 does not exist (daylight-saving gap)",
                pl.col("Datum"),
                pl.col("Timme"),
            )
        )
    )
    return {"observed_at": Derived(observed_at, reason)}
