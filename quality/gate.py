"""The release gate: which open datasets may go out, decided from one run's check results.

A dataset is held back when a blocking check on it, or on any asset upstream of it,
failed or could not run in this run; every other dataset is published. The decision is
plain data in, plain data out (no Dagster here), so it can be tested on its own and the
release asset only has to collect the check results and the asset graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckOutcome:
    """One check evaluation of this run, as the gate needs it.

    `blocking_failed` is true for a failed check of severity ERROR (a GE suite with a
    failed blocking expectation or an expectation that could not run, or a dbt test with
    severity error); `warnings` are the descriptions of failed warning-level expectations.
    """

    check: str
    asset: str  # asset key as "layer/name", e.g. "bronze/air_quality"
    passed: bool
    blocking_failed: bool
    summary: str = ""
    warnings: tuple[str, ...] = ()
    rows: int | None = None
    expectations: int | None = None
    failed_expectations: int | None = None


@dataclass(frozen=True)
class GateDecision:
    """What the release does with each open dataset, and the quality summary it publishes."""

    held_back: dict[str, str]
    quality: dict[str, Any] = field(default_factory=dict)  # per dataset, for quality.json and notes
    checks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # per dataset, each check


def decide(
    upstream: Mapping[str, Iterable[str]],
    outcomes: Iterable[CheckOutcome],
    *,
    missing: Mapping[str, Iterable[str]] | None = None,
) -> GateDecision:
    """Hold back each dataset with a failed blocking check on itself or upstream.

    `upstream` maps each open dataset to the asset keys it is built from, itself
    included. `missing` maps a dataset to checks that were planned in the run on its
    assets but reported nothing (a crashed check step): unchecked data is held back too.
    """
    outcomes = list(outcomes)
    missing = missing or {}
    held_back: dict[str, str] = {}
    quality: dict[str, Any] = {}
    checks: dict[str, list[dict[str, Any]]] = {}
    for dataset, assets in sorted(upstream.items()):
        assets = set(assets)
        relevant = [o for o in outcomes if o.asset in assets]
        failures = [o for o in relevant if o.blocking_failed]
        unreported = sorted(missing.get(dataset, ()))
        if failures:
            held_back[dataset] = "; ".join(
                f"blocking check {o.check} on asset {o.asset} failed: {o.summary}" for o in failures
            )
        elif unreported:
            held_back[dataset] = "; ".join(
                f"check {name} was planned in this run but reported no result" for name in unreported
            )
        quality[dataset] = {
            "checks_run": len(relevant),
            "checks_passed": sum(o.passed for o in relevant),
            "blocking_failures": [f"{o.check} on {o.asset}: {o.summary}" for o in failures],
            "warnings": [f"{o.check} on {o.asset}: {w}" for o in relevant for w in o.warnings],
            "unreported_checks": unreported,
            "held_back": dataset in held_back,
        }
        checks[dataset] = [
            {
                "check": o.check,
                "asset": o.asset,
                "passed": o.passed,
                "blocking_failed": o.blocking_failed,
                "rows": o.rows,
                "expectations": o.expectations,
                "failed_expectations": o.failed_expectations,
            }
            for o in relevant
        ]
    return GateDecision(held_back=held_back, quality=quality, checks=checks)


def quality_rows(decision: GateDecision) -> list[dict[str, Any]]:
    """The gate's results as flat rows for the open dataset `quality_results`: one row per
    dataset and check, so anyone can follow a dataset's quality over releases. The
    publisher adds `release_id`, which is claimed only when the release is written."""
    rows = []
    for dataset, checks in sorted(decision.checks.items()):
        for check in checks:
            rows.append(
                {
                    "dataset": dataset,
                    "check": check["check"],
                    "asset": check["asset"],
                    "passed": check["passed"],
                    "blocking_failed": check["blocking_failed"],
                    "rows_checked": check["rows"],
                    "rules_checked": check["expectations"],
                    "rules_failed": check["failed_expectations"],
                    "held_back": dataset in decision.held_back,
                }
            )
    return rows
