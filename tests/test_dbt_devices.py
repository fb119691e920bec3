"""ks's device marts on the fixture lake, plus a ks registry file placed around its devices;
and `dbt docs generate` on the built warehouse.

The ks registry places one device per case the overlap rule must get right: a pair 45 m due east
of a miljo sensor with the same purpose written in another case (flagged; a box of 50 m in both
degrees would miss it, since a degree of longitude is about half a degree of latitude's metres
here), the same purpose 80 m away (too far), a different purpose 5 m away, and a decommissioned
device with the same purpose 10 m from a trafik counter. Expected distances are computed here
with the haversine formula.
"""

import json
import math
from datetime import date
from pathlib import Path

import duckdb
import pytest
from bronze_fixtures import (
    DEVICE_PLACES,
    LANDING_FILES,
    LandingFile,
    bronze_frame,
    ledger_line,
    run_dbt,
    utc,
    write_bronze_fixture,
)

pytestmark = pytest.mark.slow

EARTH_RADIUS_M = 6_371_008.8


def moved(device_id: str, east_m: float, north_m: float) -> tuple[float, float]:
    """(lon, lat) of a point east_m / north_m from a fixture device."""
    lon, lat, _ = DEVICE_PLACES[device_id]
    new_lat = lat + math.degrees(north_m / EARTH_RADIUS_M)
    new_lon = lon + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return new_lon, new_lat


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lon1, lat1), (lon2, lat2) = a, b
    h = (
        math.sin(math.radians(lat2 - lat1) / 2) ** 2
        + math.cos(math.radians(lat1))
        * math.cos(math.radians(lat2))
        * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def ks_device(device_id: str, purpose: str, place: tuple[float, float], **extra) -> dict:
    lon, lat = place
    row = {
        "device_id": device_id,
        "owner": "ks",
        "device_type": "air_quality_sensor",
        "purpose": purpose,
        "lat": lat,
        "lon": lon,
        "installed_at": date(2025, 1, 10),
        "decommissioned_at": None,
        "shared_with": "miljo",
    }
    return row | extra


KS_PLACES = {
    "KS-0001": moved("AQ-0001", 45, 0),
    "KS-0002": moved("AQ-0001", 0, -80),
    "KS-0003": moved("AQ-0002", 3, 4),
    "KS-0004": moved("TC-0001", 6, 8),
}
KS_REGISTRY = LandingFile(
    "iot_devices",
    "iot_devices",
    "iot_devices/ks_2026-03-04.csv",
    utc("2026-03-04T06:00:00"),
    "loaded",
    [
        ks_device("KS-0001", "Luftkvalitet HORNSGATAN 2", KS_PLACES["KS-0001"]),
        ks_device("KS-0002", "luftkvalitet Hornsgatan 2", KS_PLACES["KS-0002"], shared_with=None),
        ks_device("KS-0003", "bullermätning", KS_PLACES["KS-0003"], shared_with=""),
        ks_device(
            "KS-0004",
            "trafikflöde Vasagatan",
            KS_PLACES["KS-0004"],
            decommissioned_at=date(2026, 2, 1),
            shared_with="trafik|miljo",
        ),
    ],
    first_row_number=2,
)


def write_lake_with_ks_registry(home: Path) -> None:
    write_bronze_fixture(home)
    bronze = home / "lake" / "bronze" / "iot_devices" / f"{KS_REGISTRY.sha256}.parquet"
    bronze_frame(KS_REGISTRY).write_parquet(bronze)
    ledger = home / "lake" / "ledger" / "iot_devices.jsonl"
    with ledger.open("a", encoding="utf-8") as lines:  # after the fixture's truncated line
        lines.write("\n" + json.dumps(ledger_line(KS_REGISTRY), ensure_ascii=False) + "\n")


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work_dir = tmp_path_factory.mktemp("dbt_devices")
    write_lake_with_ks_registry(work_dir / "home")
    result = run_dbt(["build"], work_dir / "home", work_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    return work_dir


@pytest.fixture()
def warehouse(build: Path):
    connection = duckdb.connect(str(build / "home" / "warehouse" / "stadsdata.duckdb"), read_only=True)
    yield connection
    connection.close()


def test_only_same_purpose_devices_of_different_owners_within_50_m_overlap(warehouse) -> None:
    pairs = warehouse.execute(
        "select first_device_id, first_owner, second_device_id, second_owner, distance_m"
        " from fct_device_overlaps order by all"
    ).fetchall()
    aq_0001 = DEVICE_PLACES["AQ-0001"][:2]
    assert [p[:4] for p in pairs] == [("AQ-0001", "miljo", "KS-0001", "ks")]
    assert pairs[0][4] == pytest.approx(haversine_m(aq_0001, KS_PLACES["KS-0001"]), abs=0.01)
    assert pairs[0][4] == pytest.approx(45, abs=0.5)
    assert haversine_m(aq_0001, KS_PLACES["KS-0002"]) > 50  # the near misses are real misses
    assert haversine_m(DEVICE_PLACES["AQ-0002"][:2], KS_PLACES["KS-0003"]) < 50
    assert haversine_m(DEVICE_PLACES["TC-0001"][:2], KS_PLACES["KS-0004"]) < 50


def test_shared_devices_are_those_with_other_owners_listed(warehouse) -> None:
    registries = sorted(
        [f for f in LANDING_FILES if f.table == "iot_devices" and f.is_loaded] + [KS_REGISTRY],
        key=lambda f: f.ingested_at,
    )
    latest = {row["device_id"]: row for registry in registries for row in registry.rows}
    expected = {
        device_id: [code.strip() for code in (row["shared_with"] or "").split("|") if code.strip()]
        for device_id, row in latest.items()
    }
    expected = {device_id: codes for device_id, codes in expected.items() if codes}
    actual = {
        device_id: (shared_with, count)
        for device_id, shared_with, count in warehouse.execute(
            "select device_id, shared_with, sharing_owner_count from dim_shared_devices"
        ).fetchall()
    }
    assert actual == {device_id: (codes, len(codes)) for device_id, codes in expected.items()}
    assert {"TC-0001", "AQ-0004", "KS-0001", "KS-0004"} <= actual.keys()


def test_docs_generate_writes_the_catalog(build: Path, tmp_path: Path) -> None:
    result = run_dbt(["docs", "generate"], build / "home", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text(encoding="utf-8"))
    overlaps = catalog["nodes"]["model.stadsdata.fct_device_overlaps"]
    assert "distance_m" in overlaps["columns"]
    assert (tmp_path / "target" / "index.html").exists()
