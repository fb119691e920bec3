"""Water levels: either measurement may be missing, but a reading must carry one of them."""

from __future__ import annotations

import polars as pl

from ingestion.contracts import Table


def checks(table: Table) -> list[pl.Expr]:
    """A reading with neither a water level nor rainfall says nothing: rejected, not loaded."""
    empty = pl.col("water_level_m").is_null() & pl.col("rainfall_mm").is_null()
    return [pl.when(empty).then(pl.lit("water_level_m and rainfall_mm: both missing"))]
