"""Run a suite on the data handed in, through Great Expectations' pandas engine.

GE 1.x has no Polars engine and its SQL path does not work on DuckDB, so the data is
validated as an Arrow-backed pandas frame: no copy into numpy types, nulls stay nulls
(timestamps become pandas datetime64 with their unit and time zone, see `_frame`).
Only the rows passed in are checked, so the caller decides the scope (a whole mart,
one day's partition).

Every expectation ends in one of three outcomes. `error` means the check did not run
(a missing column, an exception inside GE): it is neither a pass nor a data failure, and
it blocks like a failed blocking check, because nobody knows whether the data is good.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from quality.suites import (
    ExpectationSpec,
    Suite,
    build_expectation,
    resolve_kwargs,
    run_time_values,
)

if TYPE_CHECKING:
    import polars as pl

OUTCOMES = ("passed", "failed", "error")
MASK = "***"
MAX_EXAMPLES = 5
# SUMMARY keeps GE from listing every unexpected value; 20 leaves room to drop repeats.
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
# Expectations whose observed value is a type name, not data: nothing to mask.
_OBSERVES_SCHEMA = {"expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list"}
_ge_lock = threading.Lock()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExpectationResult:
    """What one expectation found, in plain JSON-ready values."""

    expectation: str
    kwargs: dict[str, Any]
    severity: str
    owner: str
    outcome: str
    why: str | None = None
    observed_value: Any = None
    unexpected_count: int | None = None
    element_count: int | None = None
    examples: tuple[Any, ...] = ()
    error: str | None = None

    @property
    def label(self) -> str:
        """Short name for people: the expectation and the columns it looks at."""
        columns = ExpectationSpec(self.expectation, self.kwargs, self.severity, self.owner).columns
        return f"{self.expectation}({', '.join(columns)})" if columns else self.expectation

    def describe(self) -> str:
        """One line for the Dagster UI and logs."""
        if self.outcome == "error":
            return f"{self.severity} {self.label}: did not run: {self.error}"
        if self.unexpected_count is not None and self.element_count is not None:
            found = f"{self.unexpected_count} of {self.element_count} rows unexpected"
        else:
            found = f"observed {json.dumps(self.observed_value, ensure_ascii=False)}"
        return f"{self.severity} {self.label}: {self.outcome}, {found}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "kwargs": self.kwargs,
            "severity": self.severity,
            "owner": self.owner,
            "outcome": self.outcome,
            "why": self.why,
            "observed_value": self.observed_value,
            "unexpected_count": self.unexpected_count,
            "element_count": self.element_count,
            "examples": list(self.examples),
            "error": self.error,
        }


@dataclass(frozen=True)
class SuiteResult:
    """A suite's run over one piece of data; `blocking_failed` is what gates a release."""

    dataset: str
    owner: str
    run_id: str
    validated_at: datetime
    rows: int
    seconds: float
    results: tuple[ExpectationResult, ...]

    @property
    def errors(self) -> list[ExpectationResult]:
        return [result for result in self.results if result.outcome == "error"]

    @property
    def failures(self) -> list[ExpectationResult]:
        return [result for result in self.results if result.outcome == "failed"]

    @property
    def warnings(self) -> list[ExpectationResult]:
        """Failed warning-level expectations: reported to the owner, release goes ahead."""
        return [result for result in self.failures if result.severity == "warning"]

    @property
    def blocking_failed(self) -> bool:
        """A blocking expectation failed, or any expectation could not run."""
        return bool(self.errors) or any(r.severity == "blocking" for r in self.failures)

    @property
    def passed(self) -> bool:
        """Every expectation passed: nothing to block, nothing to warn about."""
        return all(result.outcome == "passed" for result in self.results)

    def to_metadata(self) -> dict[str, Any]:
        """JSON-ready metadata for a Dagster asset check (lists and dicts become JSON)."""
        return {
            "dataset": self.dataset,
            "owner": self.owner,
            "run_id": self.run_id,
            "validated_at": self.validated_at.isoformat(),
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "expectations": len(self.results),
            "passed": sum(result.outcome == "passed" for result in self.results),
            "failed_blocking": sum(r.severity == "blocking" for r in self.failures),
            "failed_warning": len(self.warnings),
            "errors": len(self.errors),
            "problems": [r.describe() for r in self.results if r.outcome != "passed"],
            "results": [result.to_dict() for result in self.results],
        }

    def to_record(self) -> list[dict[str, Any]]:
        """One flat row per expectation for the validation history.

        Values whose shape differs between expectations (kwargs, observed value,
        examples) are JSON text, so every row has the same columns and types.
        """
        return [
            {
                "run_id": self.run_id,
                "dataset": self.dataset,
                "validated_at": self.validated_at.isoformat(),
                "rows": self.rows,
                "expectation": result.expectation,
                "kwargs": _json_text(result.kwargs),
                "severity": result.severity,
                "owner": result.owner,
                "outcome": result.outcome,
                "observed_value": _json_text(result.observed_value),
                "unexpected_count": result.unexpected_count,
                "element_count": result.element_count,
                "examples": _json_text(list(result.examples)),
                "error": result.error,
            }
            for result in self.results
        ]


def validate(
    suite: Suite,
    data: pa.Table | pl.DataFrame,
    *,
    masked_columns: set[str] | frozenset[str] = frozenset(),
    run_id: str | None = None,
    now: datetime | None = None,
    parameters: dict[str, Any] | None = None,
) -> SuiteResult:
    """Check `data` against every expectation of `suite`; never raises for bad data.

    `masked_columns` (personal or confidential values) appear as `***` in examples
    and observed values. `now` pins `${now_utc}` (tests, re-runs); it defaults to now.
    `parameters` fills the other run-time parameters (`registered_devices`, `min_rows`).
    """
    started = time.perf_counter()
    validated_at = datetime.now(UTC)
    table = _plain_arrow(data)
    values = run_time_values(now, parameters)
    ready, results = _build(suite, values, table)
    try:
        with _ge_lock:
            batch = _batch_definition().get_batch(batch_parameters={"dataframe": _frame(table)})
            outcomes = _run_together(batch, suite.dataset, ready)
    except Exception as error:  # the data could not even be handed to GE: nothing ran
        cause = f"data could not be validated: {type(error).__name__}: {error}"
        outcomes = {number: cause for number in ready}
    for number, outcome in outcomes.items():
        spec, kwargs = suite.expectations[number], ready[number][1]
        if isinstance(outcome, str):
            results[number] = _error_result(spec, kwargs, outcome)
        else:
            results[number] = _result(spec, kwargs, outcome, table, suite.keys, masked_columns)
    for number, spec in enumerate(suite.expectations):
        if number not in results:  # GE answered for fewer expectations than it was given
            results[number] = _error_result(spec, spec.kwargs, "Great Expectations gave no result")
    return SuiteResult(
        dataset=suite.dataset,
        owner=suite.owner,
        run_id=run_id or uuid.uuid4().hex,
        validated_at=validated_at,
        rows=table.num_rows,
        seconds=time.perf_counter() - started,
        results=tuple(results[number] for number in range(len(suite.expectations))),
    )


@cache
def _batch_definition() -> Any:
    """One ephemeral, in-memory GE context per process: nothing written to disk."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    asset = context.data_sources.add_pandas("stadsdata").add_dataframe_asset("data")
    return asset.add_batch_definition_whole_dataframe("whole")


def _plain_arrow(data: Any) -> pa.Table:
    """An Arrow table pandas can hold: view types (Polars, DuckDB) become plain strings."""
    if not isinstance(data, pa.Table):
        to_arrow = getattr(data, "to_arrow", None)
        if to_arrow is None:
            raise TypeError(f"validate takes a pyarrow.Table or polars.DataFrame, not {type(data)}")
        data = to_arrow()
    views = {pa.string_view(): pa.large_string(), pa.binary_view(): pa.large_binary()}
    if not any(field.type in views for field in data.schema):
        return data
    schema = pa.schema(
        [field.with_type(views.get(field.type, field.type)) for field in data.schema],
        metadata=data.schema.metadata,
    )
    return data.cast(schema)


def _frame(table: pa.Table) -> Any:
    """Arrow-backed columns, except timestamps: GE fingerprints every batch, and hashing
    Arrow-backed timestamps goes value by value (seconds per 100k rows); pandas'
    own datetime64 with the same unit and time zone hashes at once."""
    import pandas as pd

    def dtype(arrow_type: pa.DataType) -> Any:
        return None if pa.types.is_timestamp(arrow_type) else pd.ArrowDtype(arrow_type)

    return table.to_pandas(types_mapper=dtype)


def _build(
    suite: Suite, values: dict[str, Any], table: pa.Table
) -> tuple[dict[int, tuple[Any, dict[str, Any]]], dict[int, ExpectationResult]]:
    """GE expectations for the entries that can run; an error result for those that cannot."""
    ready: dict[int, tuple[Any, dict[str, Any]]] = {}
    errors: dict[int, ExpectationResult] = {}
    for number, spec in enumerate(suite.expectations):
        missing = [column for column in spec.columns if column not in table.column_names]
        if missing:  # checked here: GE's own message for some expectations is an IndexError
            errors[number] = _error_result(spec, spec.kwargs, _not_in_data(missing))
            continue
        try:
            kwargs = resolve_kwargs(spec.kwargs, values)
            expectation = build_expectation(spec, values)
        except Exception as error:
            errors[number] = _error_result(spec, spec.kwargs, f"{type(error).__name__}: {error}")
            continue
        expectation.meta = {"entry": number}  # GE reorders results; this maps them back
        ready[number] = (expectation, kwargs)
    return ready, errors


def _not_in_data(columns: list[str]) -> str:
    names = ", ".join(repr(column) for column in columns)
    return (
        f"column {names} is not in the data" if len(columns) == 1 else f"columns {names} are not in the data"
    )


def _run_together(
    batch: Any, name: str, ready: dict[int, tuple[Any, dict[str, Any]]]
) -> dict[int, dict[str, Any] | str]:
    """Validate as one GE suite, so metrics are shared and the batch is read once.

    Should GE fail on the suite as a whole, each expectation runs on its own, so one
    bad expectation cannot hide the results of the others. A str is an error's cause.
    """
    from great_expectations import ExpectationSuite

    if not ready:
        return {}
    try:
        together = ExpectationSuite(name=name, expectations=[e for e, _ in ready.values()])
        found = batch.validate(together, result_format=_RESULT_FORMAT)
        return {r.expectation_config.meta["entry"]: r.to_json_dict() for r in found.results}
    except Exception:
        log.warning("%s: GE failed on the suite as a whole; running each expectation", name)
    outcomes: dict[int, dict[str, Any] | str] = {}
    for number, (expectation, _) in ready.items():
        try:
            outcomes[number] = batch.validate(expectation, result_format=_RESULT_FORMAT).to_json_dict()
        except Exception as error:
            outcomes[number] = f"{type(error).__name__}: {error}"
    return outcomes


def _result(
    spec: ExpectationSpec,
    kwargs: dict[str, Any],
    outcome: dict[str, Any],
    table: pa.Table,
    keys: tuple[str, ...],
    masked: set[str] | frozenset[str],
) -> ExpectationResult:
    cause = _exception_message(outcome.get("exception_info"))
    if cause is not None:
        return _error_result(spec, kwargs, cause)
    found = outcome.get("result") or {}
    hidden = bool(masked & set(spec.columns)) and spec.expectation not in _OBSERVES_SCHEMA
    observed = found.get("observed_value")
    return ExpectationResult(
        expectation=spec.expectation,
        kwargs=_json_ready(kwargs),
        severity=spec.severity,
        owner=spec.owner,
        why=spec.why,
        outcome="passed" if outcome.get("success") else "failed",
        observed_value=MASK if hidden and observed is not None else _json_ready(observed),
        unexpected_count=found.get("unexpected_count"),
        element_count=found.get("element_count"),
        examples=_examples(found, spec, table, keys, masked),
    )


def _error_result(spec: ExpectationSpec, kwargs: dict[str, Any], cause: str) -> ExpectationResult:
    return ExpectationResult(
        expectation=spec.expectation,
        kwargs=_json_ready(kwargs),
        severity=spec.severity,
        owner=spec.owner,
        why=spec.why,
        outcome="error",
        error=cause,
    )


def _exception_message(info: Any) -> str | None:
    """GE reports exceptions flat, or keyed by the metric that raised; None if none did."""
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        if not info.get("raised_exception"):
            return None
        return str(info.get("exception_message") or "exception raised without a message")
    messages = [
        str(item.get("exception_message") or "exception raised without a message")
        for item in info.values()
        if isinstance(item, dict) and item.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) or None


def _examples(
    found: dict[str, Any],
    spec: ExpectationSpec,
    table: pa.Table,
    keys: tuple[str, ...],
    masked: set[str] | frozenset[str],
) -> tuple[Any, ...]:
    """Up to five offending rows (keys and checked columns), else the values GE lists."""
    indices = [i for i in found.get("partial_unexpected_index_list") or [] if isinstance(i, int)]
    if indices:
        wanted = [c for c in dict.fromkeys([*keys, *spec.columns]) if c in table.column_names]
        rows = table.select(wanted or table.column_names).take(indices).to_pylist()
        masked_rows = [{c: MASK if c in masked else _json_ready(v) for c, v in r.items()} for r in rows]
        return _distinct(masked_rows)
    hide = bool(masked & set(spec.columns))
    values = [MASK if hide else _json_ready(v) for v in found.get("partial_unexpected_list") or []]
    return _distinct(values)


def _distinct(items: list[Any]) -> tuple[Any, ...]:
    seen: dict[str, Any] = {}
    for item in items:
        seen.setdefault(json.dumps(item, sort_keys=True, ensure_ascii=False), item)
    return tuple(seen.values())[:MAX_EXAMPLES]


def _json_ready(value: Any) -> Any:
    """Plain JSON values: datetimes as ISO text, NaN and infinities as text, Decimal as float."""
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_ready(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return _json_ready(value.item())
    if hasattr(value, "dict"):  # GE row conditions (pydantic models)
        return _json_ready(value.dict())
    return str(value)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
