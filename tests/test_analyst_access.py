"""Analyst snapshots: per access level, only the tables it may see, readable while a build holds
the warehouse, and replaced without disturbing a reader of the previous one."""

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from bronze_fixtures import run_dbt, write_bronze_fixture

from orchestration.analyst_access import (
    ACCESS_LEVELS,
    model_classifications,
    snapshot_path,
    write_snapshots,
)

pytestmark = pytest.mark.slow

HOLD_WAREHOUSE = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
connection.execute("create or replace table main._build_in_progress as select 1 as step")
print("holding", flush=True)
time.sleep(60)
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A fixture lake built by dbt: (STADSDATA_HOME, manifest)."""
    work_dir = tmp_path_factory.mktemp("analyst")
    home = work_dir / "home"
    write_bronze_fixture(home)
    result = run_dbt(["build"], home, work_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((work_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    return home, manifest


def warehouse_of(home: Path) -> Path:
    return home / "warehouse" / "stadsdata.duckdb"


def count_in_another_process(path: Path, table: str) -> int:
    """Rows of a table as a new analyst sees them. (Within one process DuckDB hands every
    connection to an open file the same database, so a new reader must be another process.)"""
    code = (
        "import sys, duckdb; print(duckdb.connect(sys.argv[1], read_only=True)"
        ".execute(f'select count(*) from {sys.argv[2]}').fetchone()[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path), table], capture_output=True, text=True, check=True
    )
    return int(result.stdout)


def tables_in(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return {row[0] for row in connection.execute("show tables").fetchall()}


def test_each_level_holds_exactly_the_models_it_may_see(built: tuple[Path, dict], tmp_path: Path) -> None:
    home, manifest = built
    # Declare one internal model confidential, as a department might: it must leave both files.
    confidential = json.loads(json.dumps(manifest))
    dim_devices = confidential["nodes"]["model.stadsdata.dim_devices"]
    dim_devices["config"]["meta"]["classification"] = "confidential"
    written = write_snapshots(warehouse_of(home), confidential, tmp_path)
    classifications = model_classifications(confidential)
    for level, allowed in ACCESS_LEVELS.items():
        tables = tables_in(snapshot_path(tmp_path, level))
        assert tables == set(written[level]), level
        assert tables == {name for name, c in classifications.items() if c in allowed}, level
    open_tables = tables_in(snapshot_path(tmp_path, "open"))
    internal_tables = tables_in(snapshot_path(tmp_path, "internal"))
    assert "open_air_quality_hourly" in open_tables
    assert {"int_device_districts", "stg_iot_devices"}.isdisjoint(open_tables)
    assert {"int_device_districts", "stg_iot_devices"} <= internal_tables
    assert "dim_devices" not in open_tables | internal_tables


def test_analysts_read_the_snapshot_while_a_build_holds_the_warehouse(
    built: tuple[Path, dict],
) -> None:
    home, manifest = built
    write_snapshots(warehouse_of(home), manifest, home)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WAREHOUSE, str(warehouse_of(home))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(duckdb.IOException):  # the warehouse itself is locked...
            duckdb.connect(str(warehouse_of(home)), read_only=True)
        for level in ACCESS_LEVELS:  # ...its snapshots are not
            with duckdb.connect(str(snapshot_path(home, level)), read_only=True) as analyst:
                count = analyst.execute("select count(*) from open_air_quality_hourly").fetchone()[0]
                assert count > 0, level
    finally:
        holder.kill()
        holder.wait()


def test_a_new_snapshot_replaces_the_old_without_disturbing_its_readers(
    built: tuple[Path, dict], tmp_path: Path
) -> None:
    home, manifest = built
    target = snapshot_path(tmp_path, "open")
    write_snapshots(warehouse_of(home), manifest, tmp_path)
    old_reader = duckdb.connect(str(target), read_only=True)
    before = old_reader.execute("select count(*) from open_traffic_hourly").fetchone()[0]
    assert before > 1
    with duckdb.connect(str(warehouse_of(home))) as build:  # the next build changes a table
        build.execute(
            "create table _kept as select * from open_traffic_hourly;"
            " delete from open_traffic_hourly where rowid > 0"
        )
    try:
        written_at = time.time()
        write_snapshots(warehouse_of(home), manifest, tmp_path)
        assert target.stat().st_mtime >= written_at - 1
        assert old_reader.execute("select count(*) from open_traffic_hourly").fetchone()[0] == before
        assert count_in_another_process(target, "open_traffic_hourly") == 1
        assert sorted(p.name for p in target.parent.iterdir()) == ["internal.duckdb", "open.duckdb"]
    finally:
        old_reader.close()
        with duckdb.connect(str(warehouse_of(home))) as build:
            build.execute(
                "delete from open_traffic_hourly; insert into open_traffic_hourly select * from _kept;"
                " drop table _kept"
            )
