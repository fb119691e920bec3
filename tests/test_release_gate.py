"""The release gate end to end: a corrupted batch holds back only the dataset built from it.

Two runs through the real Dagster graph (real ingestion, dbt, Great Expectations) on one
instance: the first publishes everything; then an air-quality sensor gets stuck at a NO2
value the contract still accepts (4000 µg/m³, within 0..5000) but no Stockholm air ever
had. The second run must publish traffic and districts afresh, keep the previous
release's air quality, and say why in the notes, the quality summary and the report.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

STUCK_NO2 = 4000.0


def _materialize(home: Path, instance):
    from dagster import materialize

    from orchestration.dbt_assets import dbt_models, dbt_resource
    from orchestration.ingestion_assets import ingestion_assets
    from orchestration.quality_checks import quality_checks
    from orchestration.release_assets import release_open_data
    from orchestration.resources import StadsdataHome

    return materialize(
        [*ingestion_assets, dbt_models, release_open_data, *quality_checks],
        resources={"stadsdata": StadsdataHome(path=str(home)), "dbt": dbt_resource()},
        instance=instance,
        raise_on_error=False,
    )


def _stuck_sensor_batch(landing: Path) -> Path:
    """A copy of the newest air-quality file with every NO2 reading stuck at 4000."""
    newest = max((landing / "air_quality").rglob("*.jsonl.gz"), key=lambda p: p.as_posix())
    lines = [json.loads(line) for line in gzip.decompress(newest.read_bytes()).splitlines() if line]
    stuck = [{**r, "value": STUCK_NO2, "status": "ok"} for r in lines if r["pollutant"] == "NO2"]
    assert stuck, f"{newest} has no NO2 readings to corrupt"
    target = newest.with_name("2359-stuck.jsonl")
    target.write_text("".join(json.dumps(r) + "\n" for r in stuck), encoding="utf-8")
    return target


def _release_folder(home: Path) -> Path:
    return (home / "releases" / "latest").resolve()


@pytest.mark.slow
def test_corrupted_batch_is_held_back_and_the_rest_goes_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance

    from simulation import generate_landing

    home = tmp_path / "home"
    generate_landing(home / "landing", days=1, seed=11)
    monkeypatch.setenv("STADSDATA_HOME", str(home))
    monkeypatch.setenv("STADSDATA_WAREHOUSE", str(home / "warehouse" / "stadsdata.duckdb"))
    monkeypatch.setenv("STADSDATA_PSEUDONYM_KEY", "test-only-key-" + "0" * 40)
    (home / "warehouse").mkdir(parents=True)

    with DagsterInstance.ephemeral() as instance:
        _materialize(home, instance)
        first_release = _release_folder(home)
        first_package = json.loads((first_release / "datapackage.json").read_text())
        first_names = {r["name"] for r in first_package["resources"]}
        assert {"open_air_quality_hourly", "open_traffic_hourly", "open_districts"} <= first_names
        quality = json.loads((first_release / "quality.json").read_text())
        assert not any(summary["held_back"] for summary in quality.values()), quality

        _stuck_sensor_batch(home / "landing")
        second = _materialize(home, instance)

    release = second.asset_materializations_for_node("release__open_data")
    assert release, "the release must run although a check failed"
    second_release = _release_folder(home)
    assert second_release != first_release
    held = release[0].metadata["held_back"].value
    assert set(held) == {"open_air_quality_hourly"}, held
    assert "open_air_quality_hourly_expectations" in held["open_air_quality_hourly"]
    assert "mean_value_ugm3" in held["open_air_quality_hourly"]

    package = json.loads((second_release / "datapackage.json").read_text())
    by_name = {r["name"]: r for r in package["resources"]}
    air = by_name["open_air_quality_hourly"]
    assert air["carried_forward_from"] == first_release.name
    assert (second_release / air["path"]).read_bytes() == (first_release / air["path"]).read_bytes()
    published = release[0].metadata["datasets"].value
    assert "open_traffic_hourly" in published and "open_districts" in published
    assert "carried_forward_from" not in by_name["open_traffic_hourly"]

    notes = (second_release / "RELEASE_NOTES.md").read_text()
    assert "open_air_quality_hourly" in notes and "blocking check" in notes
    report = (home / "quality" / "reports" / "latest.html").read_text()
    assert "held back" in report and "<script" not in report
    failing = [
        e
        for e in second.get_asset_check_evaluations()
        if e.check_name == "open_air_quality_hourly_expectations"
    ]
    assert failing and not failing[0].passed
