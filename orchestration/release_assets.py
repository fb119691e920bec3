"""The open-data release: every `open_*` model, published as one complete folder, gated
per dataset by the checks of this run.

The release depends on the open models only, never on a check: a failed check holds
back the datasets built from the checked asset and nothing else (see `quality.gate`),
so a bad air-quality batch does not stop the traffic counts from going out. A held-back
dataset keeps the previous release's version and the release notes say why.
"""

import json

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    DagsterEventType,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.dbt_assets import MANIFEST, WAREHOUSE_POOL, translator
from orchestration.resources import StadsdataHome
from publishing import open_datasets_from_manifest, publish_release
from publishing.storage import release_target
from quality.gate import CheckOutcome, decide
from quality.report import write_report

RELEASE_KEY = AssetKey(["release", "open_data"])
# Lower than the checks' priority: when both are ready, the checks start first.
RELEASE_PRIORITY = {"dagster/priority": "-10"}


def _manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def open_model_keys(manifest: dict) -> list[AssetKey]:
    return [
        translator.get_asset_key(node)
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["name"].startswith("open_")
    ]


def outcome(evaluation: AssetCheckEvaluation) -> CheckOutcome:
    """A check evaluation as the gate reads it: a failure of severity ERROR blocks."""
    metadata = {key: getattr(value, "value", value) for key, value in evaluation.metadata.items()}
    problems = metadata.get("problems") or []
    failed_blocking = metadata.get("failed_blocking")
    errors = metadata.get("errors")
    blocking_failed = not evaluation.passed and evaluation.severity == AssetCheckSeverity.ERROR
    summary = "; ".join(p for p in problems if not str(p).startswith("warning")) or (
        evaluation.description or "failed"
    )
    return CheckOutcome(
        check=evaluation.check_name,
        asset=evaluation.asset_key.to_user_string(),
        passed=evaluation.passed,
        blocking_failed=blocking_failed,
        summary=summary,
        warnings=tuple(str(p) for p in problems if str(p).startswith("warning")),
        rows=metadata.get("rows"),
        expectations=metadata.get("expectations"),
        failed_expectations=(
            None
            if failed_blocking is None
            else failed_blocking + (metadata.get("failed_warning") or 0) + (errors or 0)
        ),
    )


def run_check_outcomes(context: AssetExecutionContext) -> tuple[list[CheckOutcome], set[AssetCheckKey]]:
    """Check results of this run from the event log, and the checks planned but silent.

    A check is expected when its asset was planned to materialize in this run and the
    run selects the check; an expected check without a result (not run yet, crashed)
    is reported as missing so that its datasets are held back, never published unchecked.
    """
    run = context.run
    logs = context.instance.all_logs(
        run.run_id,
        of_type={DagsterEventType.ASSET_CHECK_EVALUATION, DagsterEventType.ASSET_MATERIALIZATION_PLANNED},
    )
    evaluations: dict[AssetCheckKey, AssetCheckEvaluation] = {}
    planned_assets: set[AssetKey] = set()
    for entry in logs:
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            evaluations[evaluation.asset_check_key] = evaluation  # the last one counts (retries)
        elif event.asset_key is not None:
            planned_assets.add(event.asset_key)
    graph = context.job_def.asset_layer.asset_graph
    selected = run.asset_check_selection
    expected = {
        key
        for key in graph.asset_check_keys
        if key.asset_key in planned_assets and (selected is None or key in selected)
    }
    return [outcome(e) for e in evaluations.values()], expected - set(evaluations)


def upstream_assets(context: AssetExecutionContext, keys: list[AssetKey]) -> dict[str, set[str]]:
    """Each open model's name with the asset keys it is built from, itself included."""
    graph = context.job_def.asset_layer.asset_graph
    return {
        key.path[-1]: {k.to_user_string() for k in graph.get_ancestor_asset_keys(key, include_self=True)}
        for key in keys
    }


@asset(
    key=RELEASE_KEY,
    deps=open_model_keys(_manifest()),
    group_name="ks",
    owners=["team:ks"],
    kinds={"csv", "parquet", "duckdb"},
    tags={"classification": "open", "stage": "release"},
    op_tags=RELEASE_PRIORITY,
    pool=WAREHOUSE_POOL,
    description=(
        "Open-data release: CSV + Parquet per open_* dataset and datapackage.json in "
        "releases/<id>/; a dataset whose blocking checks (or its upstream's) failed in this "
        "run keeps its previous version. releases/latest moves only to a complete, verified release."
    ),
)
def release_open_data(context: AssetExecutionContext, stadsdata: StadsdataHome) -> MaterializeResult:
    home = stadsdata.home
    manifest = _manifest()
    datasets = open_datasets_from_manifest(manifest)
    outcomes, silent = run_check_outcomes(context)
    upstream = upstream_assets(context, open_model_keys(manifest))
    missing = {
        name: [key.to_user_string() for key in silent if key.asset_key.to_user_string() in assets]
        for name, assets in upstream.items()
    }
    decision = decide(upstream, outcomes, missing=missing)
    for name, reason in decision.held_back.items():
        context.log.warning(f"holding back {name}: {reason}")
    release = publish_release(
        home.warehouse,
        datasets,
        release_target(home.releases),  # STADSDATA_RELEASE_TARGET: a folder or s3://bucket/prefix
        held_back=decision.held_back,
        quality=decision.quality,
    )
    report = write_report(home.quality / "reports", context.run.run_id, release.id, decision)
    context.log.info(f"published release {release.id} at {release.path}; quality report {report}")
    return MaterializeResult(
        metadata={
            "release_id": release.id,
            "path": MetadataValue.path(str(release.path)),
            "datasets": MetadataValue.json(release.datasets),
            "held_back": MetadataValue.json(release.held_back),
            "carried_forward": MetadataValue.json(release.carried_forward),
            "quality_report": MetadataValue.path(str(report)),
            "dagster/row_count": sum(release.datasets.values()),
        }
    )
