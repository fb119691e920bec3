"""Expectation suites: one reviewable YAML file per dataset in `quality/suites/`.

A suite is data, not code, so that an owner can read and change what is checked on
their dataset without touching Python. Each entry names a Great Expectations expectation,
its arguments, a severity (`blocking` stops the open-data release, `warning` is reported)
and an owner. A suite is checked completely when it is loaded — unknown expectation names,
misspelt arguments, bad severities or owners fail here, long before a run depends on them.

Arguments may hold a run-time parameter as a whole value, e.g. `max_value: ${now_utc}`;
it is filled in when the suite runs (see `RUN_TIME_PARAMETERS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ingestion.contracts import OWNERS

SUITES_DIR = Path(__file__).parent / "suites"
SEVERITIES = ("blocking", "warning")
RUN_TIME_PARAMETERS = ("now_utc", "registered_devices", "min_rows", "fresh_after_utc")
# Stand-ins used only to check a suite when it is loaded; a run fills in the real values.
_LOAD_TIME_VALUES = {
    "registered_devices": [],
    "min_rows": 0,
    "fresh_after_utc": datetime(1970, 1, 1, tzinfo=UTC),
}

_SUITE_KEYS = {"dataset", "owner", "description", "keys", "expectations"}
_ENTRY_KEYS = {"expectation", "kwargs", "severity", "owner", "why"}
# Arguments the runner sets itself; a suite that sets them would change how results read.
_RUNNER_KWARGS = {"result_format", "catch_exceptions", "severity", "id", "meta", "rendered_content"}
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


class SuiteError(ValueError):
    """A suite file is malformed; raised at load time so a bad suite never runs."""


@dataclass(frozen=True)
class ExpectationSpec:
    """One entry of a suite: what to expect, how bad a failure is, and whose it is."""

    expectation: str
    kwargs: dict[str, Any]
    severity: str
    owner: str
    why: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns this expectation looks at, for masking and examples."""
        names: list[str] = []
        for key in ("column", "column_A", "column_B"):
            if isinstance(self.kwargs.get(key), str):
                names.append(self.kwargs[key])
        names.extend(self.kwargs.get("column_list") or [])
        return tuple(names)


@dataclass(frozen=True)
class Suite:
    """The expectations on one dataset (a dbt model or a bronze table)."""

    dataset: str
    owner: str
    description: str
    keys: tuple[str, ...]
    expectations: tuple[ExpectationSpec, ...]
    path: Path | None = field(default=None, compare=False)


def load_suite(path_or_name: str | Path) -> Suite:
    """Parse and check a suite file; a bare name is looked up in `quality/suites/`."""
    path = _suite_path(path_or_name)
    if not path.is_file():
        raise SuiteError(f"no suite file at {path}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise SuiteError(f"{path}: not valid YAML: {error}") from error
    suite = _parse_suite(document, path)
    for number, spec in enumerate(suite.expectations, start=1):
        try:
            build_expectation(spec, run_time_values())
        except SuiteError as error:
            raise SuiteError(f"{path}: expectation {number}: {error}") from error
    return suite


def suite_for(dataset: str) -> Suite | None:
    """The suite for a dataset, or None when nobody has written one yet."""
    path = SUITES_DIR / f"{dataset}.yaml"
    return load_suite(path) if path.is_file() else None


def suite_datasets() -> list[str]:
    """Datasets that have a suite, without loading Great Expectations (cheap at import time)."""
    return sorted(path.stem for path in SUITES_DIR.glob("*.yaml"))


def run_time_values(now: datetime | None = None, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Values for the `${...}` parameters, computed when a suite runs.

    `now_utc` is always known; `registered_devices` (the device registry's ids),
    `min_rows` (half the rows of the previous validation) and `fresh_after_utc` (the
    oldest acceptable newest timestamp, from the update frequency) come from the caller,
    since they depend on the lake, the history and the contract; unknown names are refused.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone; the platform's times are UTC")
    unknown = sorted(set(parameters or {}) - set(RUN_TIME_PARAMETERS))
    if unknown:
        raise ValueError(f"unknown run-time parameters {unknown}; known: {RUN_TIME_PARAMETERS}")
    return {**_LOAD_TIME_VALUES, **(parameters or {}), "now_utc": now.astimezone(UTC)}


def resolve_kwargs(kwargs: Any, values: dict[str, Any]) -> Any:
    """Replace whole-value `${name}` placeholders, in nested lists and mappings too."""
    if isinstance(kwargs, dict):
        return {key: resolve_kwargs(value, values) for key, value in kwargs.items()}
    if isinstance(kwargs, list):
        return [resolve_kwargs(value, values) for value in kwargs]
    if isinstance(kwargs, str) and "${" in kwargs:
        match = _PLACEHOLDER.fullmatch(kwargs)
        if not match:
            raise SuiteError(f"{kwargs!r}: a parameter must be the whole value, like '${{now_utc}}'")
        if match.group(1) not in values:
            known = ", ".join(f"${{{name}}}" for name in RUN_TIME_PARAMETERS)
            raise SuiteError(f"unknown run-time parameter {kwargs!r}; known: {known}")
        return values[match.group(1)]
    return kwargs


def build_expectation(spec: ExpectationSpec, values: dict[str, Any]) -> Any:
    """The Great Expectations object for an entry (imports GE, which takes seconds)."""
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.registry import get_expectation_impl

    try:
        expectation_class = get_expectation_impl(spec.expectation)
    except ExpectationNotFoundError as error:
        raise SuiteError(
            f"unknown expectation {spec.expectation!r} "
            "(names as in https://greatexpectations.io/expectations)"
        ) from error
    kwargs = resolve_kwargs(spec.kwargs, values)
    try:
        return expectation_class(**kwargs)
    except Exception as error:  # pydantic names every bad argument; pass that on
        raise SuiteError(f"{spec.expectation}: invalid kwargs: {error}") from error


def _suite_path(path_or_name: str | Path) -> Path:
    text = str(path_or_name)
    if isinstance(path_or_name, Path) or "/" in text or text.endswith((".yaml", ".yml")):
        return Path(path_or_name)
    return SUITES_DIR / f"{text}.yaml"


def _parse_suite(document: Any, path: Path) -> Suite:
    if not isinstance(document, dict):
        raise SuiteError(f"{path}: a suite is a mapping with dataset, owner and expectations")
    _no_unknown_keys(document, _SUITE_KEYS, str(path))
    dataset = _required_text(document, "dataset", str(path))
    if path.stem != dataset:
        raise SuiteError(f"{path}: dataset {dataset!r} must be in a file named {dataset}.yaml")
    owner = _owner(document.get("owner"), str(path))
    keys = document.get("keys") or []
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise SuiteError(f"{path}: keys must be a list of column names")
    entries = document.get("expectations")
    if not isinstance(entries, list) or not entries:
        raise SuiteError(f"{path}: expectations must be a non-empty list")
    specs = tuple(
        _parse_entry(entry, owner, f"{path}: expectation {number}")
        for number, entry in enumerate(entries, start=1)
    )
    return Suite(
        dataset=dataset,
        owner=owner,
        description=str(document.get("description") or "").strip(),
        keys=tuple(keys),
        expectations=specs,
        path=path,
    )


def _parse_entry(entry: Any, suite_owner: str, where: str) -> ExpectationSpec:
    if not isinstance(entry, dict):
        raise SuiteError(f"{where}: an entry is a mapping with expectation, kwargs and severity")
    _no_unknown_keys(entry, _ENTRY_KEYS, where)
    name = _required_text(entry, "expectation", where)
    kwargs = entry.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise SuiteError(f"{where}: kwargs of {name} must be a mapping")
    reserved = sorted(_RUNNER_KWARGS & kwargs.keys())
    if reserved:
        raise SuiteError(f"{where}: {name} sets {reserved}; the runner sets these itself")
    severity = entry.get("severity")
    if severity not in SEVERITIES:
        raise SuiteError(f"{where}: severity of {name} is {severity!r}; use one of {SEVERITIES}")
    why = entry.get("why")
    return ExpectationSpec(
        expectation=name,
        kwargs=kwargs,
        severity=severity,
        owner=_owner(entry.get("owner", suite_owner), where),
        why=str(why).strip() if why is not None else None,
    )


def _owner(value: Any, where: str) -> str:
    if value not in OWNERS:
        raise SuiteError(f"{where}: owner {value!r} is not an owner code; use one of {OWNERS}")
    return value


def _required_text(mapping: dict, key: str, where: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SuiteError(f"{where}: {key} is required and must be text")
    return value.strip()


def _no_unknown_keys(mapping: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise SuiteError(f"{where}: unknown keys {unknown}; allowed: {sorted(allowed)}")
