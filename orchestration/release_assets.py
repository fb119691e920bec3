"""The open-data release: every `open_*` model, published as one complete, checked folder."""

import json

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.dbt_assets import MANIFEST, WAREHOUSE_POOL, translator
from orchestration.resources import StadsdataHome
from publishing import open_datasets_from_manifest, publish_release

RELEASE_KEY = AssetKey(["release", "open_data"])


def _manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def open_model_keys(manifest: dict) -> list[AssetKey]:
    return [
        translator.get_asset_key(node)
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["name"].startswith("open_")
    ]


def checked_model_keys(manifest: dict) -> list[AssetKey]:
    """Models with a quality suite: the release depends on them directly, so that their
    blocking checks stop it (Dagster blocks only the direct downstream of a check)."""
    from quality.suites import suite_datasets

    names = set(suite_datasets())
    return [
        translator.get_asset_key(node)
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["name"] in names
    ]


@asset(
    key=RELEASE_KEY,
    deps=open_model_keys(_manifest()) + checked_model_keys(_manifest()),
    group_name="ks",
    owners=["team:ks"],
    kinds={"csv", "parquet", "duckdb"},
    tags={"classification": "open", "stage": "release"},
    pool=WAREHOUSE_POOL,
    description=(
        "Open-data release: CSV + Parquet per open_* dataset and datapackage.json in "
        "releases/<id>/; releases/latest moves only to a complete, verified release."
    ),
)
def release_open_data(context: AssetExecutionContext, stadsdata: StadsdataHome) -> MaterializeResult:
    home = stadsdata.home
    datasets = open_datasets_from_manifest(_manifest())
    release = publish_release(home.warehouse, datasets, home.releases)
    context.log.info(f"published release {release.id} at {release.path}")
    return MaterializeResult(
        metadata={
            "release_id": release.id,
            "path": MetadataValue.path(str(release.path)),
            "datasets": MetadataValue.json(release.datasets),
            "held_back": MetadataValue.json(release.held_back),
            "dagster/row_count": sum(release.datasets.values()),
        }
    )
