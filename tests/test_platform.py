"""The whole platform on generated data, through the real Dagster graph and the real CLI.

Two end-to-end paths: `materialize()` over the definitions (what the UI runs), and the
`stadsdata` command in a subprocess, run twice, as a user runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
STADSDATA = [sys.executable, "-m", "orchestration.cli"]


TEST_KEY = "test-only-pseudonym-key-0123456789abcdef"


def _cli(args: list[str], home: Path, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STADSDATA_HOME": str(home), "STADSDATA_PSEUDONYM_KEY": TEST_KEY}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run(
        [*STADSDATA, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=900, **kwargs
    )


def _table_counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        tables = [r[0] for r in connection.sql("select table_name from information_schema.tables").fetchall()]
        return {t: connection.execute(f'select count(*) from "{t}"').fetchone()[0] for t in sorted(tables)}


def _bronze_counts(home: Path) -> dict[str, int]:
    import polars as pl

    return {
        folder.name: pl.scan_parquet(str(folder / "*.parquet")).select(pl.len()).collect().item()
        for folder in sorted((home / "lake" / "bronze").iterdir())
    }


@pytest.mark.slow
def test_cli_generate_run_twice_and_status(tmp_path: Path) -> None:
    home = tmp_path / "home"
    generated = _cli(["generate", "--out", str(home / "landing"), "--days", "2", "--seed", "7"], home)
    assert generated.returncode == 0, generated.stderr

    first = _cli(["run"], home)
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    assert "latest release:" in first.stdout
    status = json.loads(_cli(["status", "--json"], home).stdout)

    landing_files = sorted(
        p.relative_to(home / "landing").as_posix() for p in (home / "landing").rglob("*") if p.is_file()
    )
    assert sorted(f["file"] for f in status["files"]) == landing_files
    assert status["pending"] == []
    for entry in status["files"]:
        assert set(entry) >= {
            "source",
            "file",
            "sha256",
            "status",
            "rows_read",
            "rows_loaded",
            "rows_rejected",
        }
        assert entry["rows_read"] == entry["rows_loaded"] + entry["rows_rejected"], entry
    statuses = {f["status"] for f in status["files"]}
    assert statuses == {"loaded", "rejected", "duplicate"}
    rejected = [f for f in status["files"] if f["status"] == "rejected"]
    assert all(f["reason"] for f in rejected)
    for entry in rejected:  # kept byte for byte
        kept = home / "quarantine" / entry["source"] / "files" / entry["sha256"]
        original = home / "landing" / entry["file"]
        assert (kept / original.name).read_bytes() == original.read_bytes()
    latest = Path(status["latest_release"])
    assert latest.is_dir() and (latest / "datapackage.json").exists()
    for name in ("open_air_quality_hourly", "open_traffic_hourly", "open_districts"):
        assert (latest / f"{name}.csv").stat().st_size > 0
        assert (latest / f"{name}.parquet").stat().st_size > 0

    tables_before = _table_counts(home / "warehouse" / "stadsdata.duckdb")
    bronze_before = _bronze_counts(home)
    assert tables_before["fct_air_quality_hourly"] > 0 and tables_before["fct_traffic_hourly"] > 0

    second = _cli(["run"], home)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    status_after = json.loads(_cli(["status", "--json"], home).stdout)
    assert status_after["files"] == status["files"], "a second run must load nothing new"
    assert _table_counts(home / "warehouse" / "stadsdata.duckdb") == tables_before
    assert _bronze_counts(home) == bronze_before


@pytest.mark.slow
def test_definitions_materialize_whole_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster import AssetKey, DagsterInstance, materialize

    from orchestration.dbt_assets import dbt_resource
    from orchestration.definitions import defs
    from orchestration.resources import StadsdataHome
    from simulation import generate_landing

    home = tmp_path / "home"
    generate_landing(home / "landing", days=1, seed=11)
    monkeypatch.setenv("STADSDATA_HOME", str(home))
    monkeypatch.delenv("STADSDATA_PSEUDONYM_KEY", raising=False)  # personal data must wait, the rest goes on
    monkeypatch.setenv("STADSDATA_WAREHOUSE", str(home / "warehouse" / "stadsdata.duckdb"))
    (home / "warehouse").mkdir(parents=True)

    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [*defs.assets, *defs.asset_checks],
            resources={"stadsdata": StadsdataHome(path=str(home)), "dbt": dbt_resource()},
            instance=instance,
        )
    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    graph = defs.resolve_asset_graph()
    assert materialized == {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    checks = result.get_asset_check_evaluations()
    suite = [c for c in checks if c.check_name == "fct_air_quality_hourly_expectations"]
    assert len(suite) == 1, suite
    # Warnings may fail on one generated day (e.g. coverage); nothing blocking, nothing errored.
    assert suite[0].metadata["failed_blocking"].value == 0, suite[0].metadata
    assert suite[0].metadata["errors"].value == 0, suite[0].metadata
    assert suite[0].metadata["expectations"].value >= 20
    from orchestration.dbt_assets import dbt_models

    dbt_tests = [c for c in checks if c.asset_check_key in dbt_models.check_keys]
    assert dbt_tests and all(c.passed for c in dbt_tests)
    from orchestration.cli import status_document
    from orchestration.home import Home

    pending = status_document(Home(home))["pending"]
    assert pending and {p.split("/")[0] for p in pending} == {"care_supervision", "eservice_usage"}
    release = result.asset_materializations_for_node("release__open_data")[0]
    assert release.metadata["datasets"].value["open_air_quality_hourly"] > 0
    assert AssetKey(["release", "open_data"]) in materialized
