"""Air quality: units normalised to µg/m³, retransmissions left for staging to resolve."""

from __future__ import annotations

import polars as pl

from ingestion.columns import Derived, number
from ingestion.contracts import Table

# µg/m³ per ppb at 20 °C and 1013 hPa (sources.md).
UG_PER_PPB = {"NO2": 1.88, "O3": 2.00}


def derived(table: Table) -> dict[str, Derived]:
    sent = number(pl.col("value"), decimal_comma=False)
    unit, pollutant = pl.col("unit").str.strip_chars(), pl.col("pollutant").str.strip_chars()
    factor = pollutant.replace_strict(UG_PER_PPB, default=None, return_dtype=pl.Float64)
    value = pl.when(unit == "ppb").then(sent * factor).otherwise(sent)
    value_reason = (
        pl.when(pl.col("value").is_not_null() & sent.is_null())
        .then(pl.format("value: not a number: {}", pl.col("value")))
        .when((unit == "ppb") & factor.is_null() & pollutant.is_not_null())
        .then(pl.format("unit: ppb cannot be converted for {}", pollutant))
    )
    return {
        "value": Derived(value, value_reason),
        "value_as_sent": Derived(sent),
        "unit_as_sent": Derived(unit.replace("", None)),
    }
