"""The dbt models as Dagster assets, with the governance meta each model declares.

The translator is deliberately small: the asset key is the model's layer and name,
bronze sources map onto the ingestion assets that write them, and owner, group and
classification come straight from the model's `config.meta`, so the UI shows what the
dbt project declares and nothing else.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from ingestion.contracts import all_contracts
from orchestration.home import Home
from orchestration.resources import StadsdataHome

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
WAREHOUSE_POOL = "warehouse"


def dbt_executable() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else (shutil.which("dbt") or "dbt")


def _project_files() -> list[Path]:
    return [
        p
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.suffix in {".sql", ".yml", ".yaml", ".csv", ".md"}
        and "target" not in p.relative_to(DBT_PROJECT_DIR).parts
        and "logs" not in p.relative_to(DBT_PROJECT_DIR).parts
    ]


def manifest_is_stale() -> bool:
    if not MANIFEST.exists():
        return True
    built = MANIFEST.stat().st_mtime
    return any(p.stat().st_mtime > built for p in _project_files())


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than its files.

    This is the build step (`stadsdata prepare` runs it too): a code-location load
    with a fresh manifest costs only a look at file times.
    """
    if manifest_is_stale():
        Home.from_env().export()
        result = subprocess.run(
            [
                dbt_executable(),
                "parse",
                "--quiet",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
            ],
            cwd=DBT_PROJECT_DIR,
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )
        if result.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{result.stdout}\n{result.stderr}")
    return MANIFEST


def layer(props: Mapping[str, Any]) -> str:
    """staging, intermediate, marts or open: the model's folder under models/."""
    fqn = props.get("fqn", [])
    return fqn[1] if len(fqn) > 2 else "models"


def bronze_asset_key(source: str, table: str) -> AssetKey:
    """A dbt source table is the bronze asset that ingestion writes.

    The ledger a source's staging models consult is written by the same ingestion
    asset, so it maps onto that source's (first) bronze table.
    """
    if table == "ledger":
        table = all_contracts()[source].tables[0].name
    return AssetKey(["bronze", table])


class CityTranslator(DagsterDbtTranslator):
    def get_asset_key(self, props: Mapping[str, Any]) -> AssetKey:
        if props["resource_type"] == "source":
            return bronze_asset_key(props["source_name"], props["name"])
        return AssetKey([layer(props), props["name"]])

    def get_group_name(self, props: Mapping[str, Any]) -> str | None:
        owner = _meta(props).get("owner")
        return owner or super().get_group_name(props)

    def get_owners(self, props: Mapping[str, Any]):
        owner = _meta(props).get("owner")
        return [f"team:{owner}"] if owner else None

    def get_tags(self, props: Mapping[str, Any]) -> Mapping[str, str]:
        meta = _meta(props)
        tags = {"stage": layer(props)}
        if meta.get("classification"):
            tags["classification"] = str(meta["classification"])
        return tags

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        """dbt tests report to the release gate instead of blocking Dagster steps: a
        failed blocking test would otherwise skip every model built in the same step."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        return spec._replace(blocking=False) if spec is not None else None

    def get_metadata(self, props: Mapping[str, Any]) -> Mapping[str, Any]:
        meta = _meta(props)
        extra = {
            k: str(meta[k]) for k in ("owner", "classification", "license", "update_frequency") if k in meta
        }
        return {**super().get_metadata(props), **extra}


def _meta(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return {**props.get("meta", {}), **props.get("config", {}).get("meta", {})}


translator = CityTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_duplicate_source_asset_keys=True)
)


@dbt_assets(
    manifest=ensure_manifest(),
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
    name="dbt_models",
)
def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, stadsdata: StadsdataHome):
    """Build (run and test) the selected models into the warehouse."""
    home = stadsdata.home
    home.export()
    target = home.dbt_runs / context.run_id
    # A failed test must not fail the step: the release gate reads the test results and
    # holds back only the datasets downstream of it (quality/gate.py).
    yield from dbt.cli(["build"], context=context, target_path=target, raise_on_error=False).stream()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable()
    )
