"""Great Expectations suites as blocking Dagster asset checks.

One check per suite file in `quality/suites/`, on the dbt model of the same name.
Great Expectations is imported only when a check runs, so loading the definitions
stays fast. A suite that could not run is an error and blocks, like a failure.
"""

import json
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

from orchestration.dbt_assets import MANIFEST, WAREHOUSE_POOL, translator
from orchestration.resources import StadsdataHome
from quality.suites import suite_datasets


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


def suite_check(dataset: str, model: dict[str, Any]) -> AssetChecksDefinition:
    @asset_check(
        asset=translator.get_asset_key(model),
        name=f"{dataset}_expectations",
        blocking=True,
        pool=WAREHOUSE_POOL,
        description=f"Great Expectations suite quality/suites/{dataset}.yaml",
    )
    def _check(context: AssetCheckExecutionContext, stadsdata: StadsdataHome) -> AssetCheckResult:
        from quality.history import append_history
        from quality.suites import load_suite
        from quality.validation import validate

        home = stadsdata.home
        suite = load_suite(dataset)
        data = read_model(str(home.warehouse), model["relation_name"])
        result = validate(suite, data, masked_columns=masked_columns(model), run_id=context.run.run_id)
        append_history(home.quality / "history", result)
        metadata = result.to_metadata()
        return AssetCheckResult(
            passed=result.passed,  # a failed warning shows, with WARN severity, and does not block
            severity=AssetCheckSeverity.ERROR if result.blocking_failed else AssetCheckSeverity.WARN,
            metadata={
                **{k: v for k, v in metadata.items() if k not in ("problems", "results")},
                "problems": MetadataValue.json(metadata["problems"]),
                "results": MetadataValue.json(metadata["results"]),
            },
        )

    return _check


def _quality_checks() -> list[AssetChecksDefinition]:
    models = _models_by_name()
    missing = [d for d in suite_datasets() if d not in models]
    if missing:
        raise ValueError(f"quality suites for datasets that are no dbt model: {', '.join(missing)}")
    return [suite_check(dataset, models[dataset]) for dataset in suite_datasets()]


quality_checks = _quality_checks()
