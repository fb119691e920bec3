"""Device registry: `shared_with` must name real owners, since it grants access."""

from __future__ import annotations

import polars as pl

from ingestion.columns import Derived
from ingestion.contracts import OWNERS, Table


def derived(table: Table) -> dict[str, Derived]:
    shared = pl.col("shared_with").str.strip_chars().replace("", None)
    unknown = shared.str.split("|").list.eval(
        pl.element().str.strip_chars().filter(~pl.element().str.strip_chars().is_in(OWNERS))
    )
    reason = pl.when(unknown.list.len() > 0).then(
        pl.format("shared_with: unknown owner code(s) {}", unknown.list.join("|"))
    )
    return {"shared_with": Derived(shared, reason)}
