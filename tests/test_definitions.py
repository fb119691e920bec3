"""What the Dagster UI shows: every asset with the owner, group and classification its
contract or dbt model declares; the sensor and the schedule that drive runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, RunRequest, build_sensor_context

from ingestion.contracts import all_contracts
from orchestration.dbt_assets import MANIFEST
from orchestration.definitions import defs

GRAPH = defs.resolve_asset_graph()


def _models() -> dict[str, dict]:
    manifest = json.loads(MANIFEST.read_text())
    return {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}


def test_every_asset_has_owner_group_and_classification() -> None:
    materializable = [k for k in GRAPH.get_all_asset_keys() if GRAPH.get(k).is_materializable]
    assert materializable
    for key in materializable:
        node = GRAPH.get(key)
        assert node.owners and node.owners[0].startswith("team:"), key
        assert node.group_name == node.owners[0].removeprefix("team:"), key
        assert node.tags.get("classification") in {"open", "internal", "confidential", "sensitive"}, key


def test_dagster_resolved_the_dbt_owners_from_config_meta() -> None:
    """dbt >= 1.10 keeps meta under config:; a translator reading the old place sees nothing."""
    models = _models()
    assert len(models) >= 10
    for name, model in models.items():
        meta = model["config"]["meta"]
        node = GRAPH.get(AssetKey([model["fqn"][1], name]))
        assert node.owners == [f"team:{meta['owner']}"], name
        assert node.tags["classification"] == meta["classification"], name
    assert GRAPH.get(AssetKey(["open", "open_air_quality_hourly"])).owners == ["team:miljo"]
    assert GRAPH.get(AssetKey(["marts", "dim_devices"])).tags["classification"] == "internal"


def test_bronze_assets_follow_their_contracts() -> None:
    for contract in all_contracts().values():
        for table in contract.tables:
            node = GRAPH.get(AssetKey(["bronze", table.name]))
            assert node.owners == [f"team:{contract.owner}"]
            assert node.tags["classification"] == contract.classification
            schema = node.metadata["dagster/column_schema"]
            assert [c.name for c in schema.columns] == table.column_names


def test_staging_reads_bronze_and_release_reads_open_models() -> None:
    assert (
        AssetKey(["bronze", "air_quality"]) in GRAPH.get(AssetKey(["staging", "stg_air_quality"])).parent_keys
    )
    release = GRAPH.get(AssetKey(["release", "open_data"]))
    opens = {k for k in GRAPH.get_all_asset_keys() if k.path[0] == "open"}
    assert opens and opens <= release.parent_keys
    # The release reads this run's check results instead of depending on checked models
    # (a direct dependency would let one failed check stop every dataset).
    assert AssetKey(["marts", "fct_air_quality_hourly"]) not in release.parent_keys


def test_writers_of_the_warehouse_share_one_pool() -> None:
    pools = {}
    for assets_def in defs.assets:
        for key in assets_def.keys:
            pools[key] = assets_def.op.pool
    assert pools[AssetKey(["marts", "fct_air_quality_hourly"])] == "warehouse"
    assert pools[AssetKey(["release", "open_data"])] == "warehouse"
    assert pools[AssetKey(["bronze", "air_quality"])] == "ingest_air_quality"


def test_landing_sensor_requests_a_run_only_when_files_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STADSDATA_HOME", str(tmp_path))
    sensor = defs.resolve_sensor_def("landing_zone")
    with DagsterInstance.ephemeral() as instance:
        empty = sensor.evaluate_tick(build_sensor_context(instance=instance))
        assert not empty.run_requests
        landed = tmp_path / "landing" / "air_quality" / "batch.jsonl"
        landed.parent.mkdir(parents=True)
        landed.write_text('{"device_id": "AQ-0001"}\n')
        first = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=empty.cursor))
        assert len(first.run_requests) == 1 and isinstance(first.run_requests[0], RunRequest)
        again = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=first.cursor))
        assert not again.run_requests and isinstance(again.skip_message, str)
        (tmp_path / "landing" / "air_quality" / ".upload.jsonl.part").write_text("half")
        unfinished = sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=first.cursor))
        assert not unfinished.run_requests, "unfinished uploads must not start a run"


def test_release_schedule_is_nightly_in_stockholm_time() -> None:
    schedule = defs.resolve_schedule_def("nightly_release")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/Stockholm"
    assert schedule.job_name == "open_data_release"


def test_definitions_do_not_parse_dbt_when_the_manifest_is_fresh() -> None:
    from orchestration.dbt_assets import manifest_is_stale

    assert not manifest_is_stale()


def test_hourly_sources_are_released_every_hour() -> None:
    schedule = defs.resolve_schedule_def("hourly_open_data_release")
    assert schedule.cron_schedule == "5 * * * *"
    job = defs.resolve_job_def("hourly_open_data_release")
    keys = job.asset_layer.selected_asset_keys
    assert AssetKey(["bronze", "air_quality"]) in keys
    assert AssetKey(["release", "open_data"]) in keys
    assert AssetKey(["open", "open_air_quality_hourly"]) in keys
    assert AssetKey(["bronze", "traffic_counts"]) not in keys, "traffic is a daily source"
