"""Read-only warehouse snapshots for analysts, one DuckDB file per access level.

DuckDB lets one process write a database file at a time, and a reader cannot open the file
while that process holds it: analysts who opened the warehouse itself would lock out the next
build, or be locked out by it. So after every build this asset copies the models an access level
may see into its own file, `warehouse/analyst/<level>.duckdb`, built under a temporary name and
renamed over the old one. A reader that has the old file open keeps reading the old build (the
rename does not touch its open file); the next connection sees the new build. Tables above the
level's classification are not in the file at all, so file permissions are the access control.
"""

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from orchestration.dbt_assets import MANIFEST, WAREHOUSE_POOL, translator
from orchestration.resources import StadsdataHome

SNAPSHOTS_KEY = AssetKey(["analyst", "snapshots"])

# Access level -> the classifications its file holds (DESIGN.md: open < internal < confidential
# < sensitive). Confidential and sensitive models get no analyst file.
ACCESS_LEVELS: dict[str, tuple[str, ...]] = {
    "open": ("open",),
    "internal": ("open", "internal"),
}


def snapshot_path(home_root: Path, level: str) -> Path:
    """`STADSDATA_HOME/warehouse/analyst/<level>.duckdb`."""
    return home_root / "warehouse" / "analyst" / f"{level}.duckdb"


def model_classifications(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Model name -> the classification its config.meta declares (missing counts as sensitive,
    so an unclassified model never reaches an analyst file)."""
    classifications = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        meta = {**node.get("meta", {}), **node.get("config", {}).get("meta", {})}
        classifications[node["name"]] = str(meta.get("classification", "sensitive"))
    return classifications


def models_for_level(manifest: Mapping[str, Any], level: str) -> list[str]:
    """The models an access level may read, by name."""
    allowed = ACCESS_LEVELS[level]
    return sorted(name for name, c in model_classifications(manifest).items() if c in allowed)


def write_snapshot(warehouse: Path, tables: list[str], target: Path) -> list[str]:
    """Copy `tables` (those the warehouse holds) into a new DuckDB file and move it to `target`.

    The copy is written to a temporary file in the same folder, checkpointed, flushed to disk
    and only then renamed over `target`, so `target` is always a complete snapshot. Returns the
    tables copied. The warehouse is opened read-only; no build may be writing it meanwhile (the
    asset runs in the `warehouse` pool).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
        leftover.unlink(missing_ok=True)
    connection = duckdb.connect(str(temporary))
    try:
        escaped = str(warehouse).replace("'", "''")
        connection.execute(f"attach '{escaped}' as warehouse (read_only)")
        built = {
            row[0]
            for row in connection.execute(
                "select table_name from information_schema.tables"
                " where table_catalog = 'warehouse' and table_schema = 'main'"
            ).fetchall()
        }
        copied = [name for name in tables if name in built]
        for name in copied:
            quoted = '"' + name.replace('"', '""') + '"'
            connection.execute(f"create table main.{quoted} as select * from warehouse.main.{quoted}")
        connection.execute("detach warehouse")
        connection.execute("checkpoint")
    finally:
        connection.close()
    with open(temporary, "rb") as written:
        os.fsync(written.fileno())
    os.replace(temporary, target)
    return copied


def write_snapshots(warehouse: Path, manifest: Mapping[str, Any], home_root: Path) -> dict[str, list[str]]:
    """Write every access level's snapshot; returns level -> tables it holds."""
    return {
        level: write_snapshot(warehouse, models_for_level(manifest, level), snapshot_path(home_root, level))
        for level in ACCESS_LEVELS
    }


def _manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def model_keys(manifest: Mapping[str, Any]) -> list[AssetKey]:
    return [
        translator.get_asset_key(node)
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    ]


@asset(
    key=SNAPSHOTS_KEY,
    deps=model_keys(_manifest()),
    group_name="ks",
    owners=["team:ks"],
    kinds={"duckdb"},
    tags={"classification": "internal", "stage": "analyst"},
    pool=WAREHOUSE_POOL,
    description=(
        "Read-only DuckDB files for analysts, one per access level: warehouse/analyst/open.duckdb "
        "(open models) and internal.duckdb (open + internal), replaced atomically after each build."
    ),
)
def analyst_snapshots(context: AssetExecutionContext, stadsdata: StadsdataHome) -> MaterializeResult:
    home = stadsdata.home
    written = write_snapshots(home.warehouse, _manifest(), home.root)
    for level, tables in written.items():
        context.log.info(f"{level}: {len(tables)} tables -> {snapshot_path(home.root, level)}")
    return MaterializeResult(
        metadata={
            "tables": MetadataValue.json(written),
            "folder": MetadataValue.path(str(snapshot_path(home.root, "open").parent)),
        }
    )
