"""The small-count suppression a dataset declares in its dbt `config.meta`.

An open dataset built from personal data (care visits counted per district and month)
may leave the city only as counts in which no small group can be recognised. The model
declares how it does that, and the privacy gate checks the published files against the
declaration:

```yaml
meta:
  suppression:
    min_count: 5                          # every published count is 0 or at least this
    count_columns: [visits]               # the columns holding counts
    dimensions: [district, month, visit_type]  # together they name one cell (one row)
    totals: {visit_type: Alla}            # rows where visit_type is 'Alla' hold the sum over
                                          # visit_type of the other rows with the same
                                          # district and month
```

A suppressed cell is published as null (an empty CSV field). `totals` is optional: a
dataset without margins has only the small-count rule to meet. The declaration lives
beside the other governance metadata, so the model and its protection change together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KEYS = ("min_count", "count_columns", "dimensions", "totals")


@dataclass(frozen=True)
class Suppression:
    """How a dataset hides small counts (see the module docstring for the YAML)."""

    min_count: int
    count_columns: tuple[str, ...]
    dimensions: tuple[str, ...]
    totals: dict[str, str] = field(default_factory=dict)  # dimension -> value marking its total rows


def suppression_problems(declared: Any, columns: dict[str, str]) -> list[str]:
    """Why a `suppression` declaration cannot be checked, each reason a sentence; empty if it can.

    `columns` maps the model's declared columns to their Table Schema types. The release
    refuses a model whose declaration is wrong rather than publish counts it cannot vouch for.
    """
    if declared is None:
        return []
    if not isinstance(declared, dict):
        return ["config.meta.suppression must be a mapping (min_count, count_columns, dimensions, totals)"]
    problems = [
        f"suppression.{key} is not a known key ({', '.join(KEYS)})" for key in declared if key not in KEYS
    ]
    min_count = declared.get("min_count")
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 2:
        problems.append(f"suppression.min_count must be a whole number of at least 2, not {min_count!r}")
    counts = _names(declared.get("count_columns"))
    dimensions = _names(declared.get("dimensions"))
    for key, names in (("count_columns", counts), ("dimensions", dimensions)):
        if not names:
            problems.append(f"suppression.{key} must be a non-empty list of column names")
        problems.extend(f"suppression.{key}: {n} is not a declared column" for n in names if n not in columns)
    problems.extend(
        f"suppression.count_columns: {n} is {columns[n]}, not a count (integer or number)"
        for n in counts
        if columns.get(n) not in (None, "integer", "number")
    )
    problems.extend(
        f"suppression: {n} is both a count column and a dimension" for n in counts if n in dimensions
    )
    totals = declared.get("totals") or {}
    if not isinstance(totals, dict):
        problems.append("suppression.totals must map a dimension to the value that marks its total rows")
        totals = {}
    for dimension, marker in totals.items():
        if dimension not in dimensions:
            problems.append(f"suppression.totals: {dimension} is not one of the dimensions")
        if marker is None or isinstance(marker, dict | list):
            problems.append(f"suppression.totals.{dimension} must be a value such as 'Alla', not {marker!r}")
    return problems


def read_suppression(declared: Any) -> Suppression | None:
    """The declaration as a Suppression (None when absent); check it with suppression_problems first."""
    if declared is None:
        return None
    return Suppression(
        min_count=int(declared["min_count"]),
        count_columns=tuple(_names(declared["count_columns"])),
        dimensions=tuple(_names(declared["dimensions"])),
        totals={str(k): str(v) for k, v in (declared.get("totals") or {}).items()},
    )


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        return []
    return [str(v) for v in value]
