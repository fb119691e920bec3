"""Great Expectations suites as Dagster asset checks, gating the release per dataset.

One check per suite file in `quality/suites/`: on the dbt model of the same name, or on
`bronze/<table>` when the suite names a bronze table (then only the files this run
loaded are checked). Great Expectations is imported only when a check runs, so loading
the definitions stays fast. A suite that could not run is an error, like a failure.

The checks are not `blocking` in Dagster's sense on purpose: Dagster would then skip
every step downstream of a failed check, and as all dbt models build in one step, a
bad air-quality batch would stop the traffic and district releases too. Instead a
failed blocking expectation reports severity ERROR and the release asset holds back
only the open datasets built from the failed asset (`quality.gate`). The checks carry
a higher step priority than the release so they run first; a check that has not
reported when the release runs holds its datasets back, so nothing goes out unchecked.
"""

import json
from datetime import UTC, datetime
from typing import Any

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    MetadataValue,
    asset_check,
)

from ingestion.contracts import all_contracts
from orchestration.dbt_assets import MANIFEST, WAREHOUSE_POOL, translator
from orchestration.ingestion_assets import bronze_key
from orchestration.resources import StadsdataHome
from quality.suites import suite_datasets

# Checks before the release: Dagster starts ready steps of higher priority first.
CHECK_PRIORITY = {"dagster/priority": "10"}


def _models_by_name() -> dict[str, dict[str, Any]]:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}


def masked_columns(model: dict[str, Any]) -> set[str]:
    """Columns whose values never appear in check metadata: personal identifiers."""
    return {
        name
        for name, column in model.get("columns", {}).items()
        if column.get("meta", {}).get("pii") or column.get("config", {}).get("meta", {}).get("pii")
    }


def read_model(warehouse: str, relation: str):
    """The model's rows as Arrow, read-only; the warehouse pool keeps writers away."""
    with duckdb.connect(warehouse, read_only=True) as connection:
        return connection.sql(f"select * from {relation}").fetch_arrow_table()


def check_result(result: Any, extra: dict[str, Any] | None = None) -> AssetCheckResult:
    """A suite result as the check's result; a failed warning shows with WARN severity."""
    metadata = result.to_metadata()
    return AssetCheckResult(
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR if result.blocking_failed else AssetCheckSeverity.WARN,
        metadata={
            **{k: v for k, v in metadata.items() if k not in ("problems", "results")},
            "blocking_failed": result.blocking_failed,
            **(extra or {}),
            "problems": MetadataValue.json(metadata["problems"]),
            "results": MetadataValue.json(metadata["results"]),
        },
    )


def _run_suite(
    context: AssetCheckExecutionContext,
    stadsdata: StadsdataHome,
    dataset: str,
    data: Any,
    masked: set[str],
    update_frequency: str | None,
    extra: dict[str, Any] | None = None,
) -> AssetCheckResult:
    """Validate, keep the result in the history, and report it to Dagster."""
    from quality.history import append_history
    from quality.scope import fresh_after, min_rows, registered_devices
    from quality.suites import load_suite
    from quality.validation import validate

    home = stadsdata.home
    history = home.quality / "history"
    now = datetime.now(UTC)
    parameters = {
        "fresh_after_utc": fresh_after(update_frequency, now),
        "registered_devices": registered_devices(home.lake.bronze, home.lake.ledger),
        "min_rows": min_rows(history, dataset),
    }
    result = validate(
        load_suite(dataset),
        data,
        masked_columns=masked,
        run_id=context.run.run_id,
        now=now,
        parameters=parameters,
    )
    append_history(history, result)
    return check_result(result, extra)


def suite_check(dataset: str, model: dict[str, Any]) -> AssetChecksDefinition:
    """The suite on a dbt model: the whole model, read from the warehouse."""

    @asset_check(
        asset=translator.get_asset_key(model),
        name=f"{dataset}_expectations",
        blocking=False,
        pool=WAREHOUSE_POOL,
        op_tags=CHECK_PRIORITY,
        description=f"Great Expectations suite quality/suites/{dataset}.yaml",
    )
    def _check(context: AssetCheckExecutionContext, stadsdata: StadsdataHome) -> AssetCheckResult:
        data = read_model(str(stadsdata.home.warehouse), model["relation_name"])
        frequency = {**model.get("meta", {}), **model.get("config", {}).get("meta", {})}.get(
            "update_frequency"
        )
        return _run_suite(context, stadsdata, dataset, data, masked_columns(model), frequency)

    return _check


def bronze_check(table: str, pii: set[str], update_frequency: str) -> AssetChecksDefinition:
    """The suite on a bronze table, scoped to the files this run loaded (none: passes)."""

    @asset_check(
        asset=bronze_key(table),
        name=f"{table}_expectations",
        blocking=False,
        op_tags=CHECK_PRIORITY,
        description=f"Great Expectations suite quality/suites/{table}.yaml on this run's new files",
    )
    def _check(context: AssetCheckExecutionContext, stadsdata: StadsdataHome) -> AssetCheckResult:
        from quality.scope import new_bronze_files, read_bronze

        lake = stadsdata.home.lake
        files = new_bronze_files(lake.bronze, lake.ledger, table, context.run.run_id)
        if not files:
            return AssetCheckResult(passed=True, metadata={"rows": 0, "files": 0, "note": "no new files"})
        data = read_bronze(lake.bronze, table, files)
        return _run_suite(context, stadsdata, table, data, pii, update_frequency, {"files": len(files)})

    return _check


def bronze_tables() -> dict[str, tuple[set[str], str]]:
    """Every bronze table with its personal columns (masked in check metadata) and the
    source's update frequency (for freshness)."""
    return {
        table.name: ({column.name for column in table.columns if column.pii}, contract.update_frequency)
        for contract in all_contracts().values()
        for table in contract.tables
    }


def _quality_checks() -> list[AssetChecksDefinition]:
    models, tables = _models_by_name(), bronze_tables()
    missing = [d for d in suite_datasets() if d not in models and d not in tables]
    if missing:
        raise ValueError(
            "quality suites for datasets that are neither a dbt model nor a bronze table: "
            + ", ".join(missing)
        )
    return [
        suite_check(dataset, models[dataset])
        if dataset in models
        else bronze_check(dataset, *tables[dataset])
        for dataset in suite_datasets()
    ]


quality_checks = _quality_checks()
