"""A real `dbt build` on the bronze fixture, checked against the rules the models promise.

The expectations are computed here, in plain Python, from the fixture's landing files (latest
loaded file wins, only ok readings count, ...) and, for one hour of each mart, by hand; the dbt
project under test is the repository's own, built once for the module into a temporary
STADSDATA_HOME.
"""

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean

import duckdb
import pytest
import yaml
from bronze_fixtures import (
    AQ_HOUR,
    DBT_PROJECT_DIR,
    DEVICE_PLACES,
    LANDING_FILES,
    LandingFile,
    run_dbt,
    write_bronze_fixture,
)

pytestmark = pytest.mark.slow

OPEN_MODELS = ["open_air_quality_hourly", "open_traffic_hourly", "open_districts"]


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write the fixture lake, run `dbt build` once, and return the dbt work folder."""
    work_dir = tmp_path_factory.mktemp("dbt_build")
    home = work_dir / "home"
    write_bronze_fixture(home)
    result = run_dbt(["build"], home, work_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    return work_dir


@pytest.fixture()
def warehouse(build: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    path = build / "home" / "warehouse" / "stadsdata.duckdb"
    connection = duckdb.connect(str(path), read_only=True)
    connection.sql("set TimeZone = 'UTC'")
    yield connection
    connection.close()


def rows(connection: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    relation = connection.sql(sql)
    return [dict(zip(relation.columns, values, strict=True)) for values in relation.fetchall()]


# --- Expectations from the fixture, by the rules of docs/layout.md and sources.md -------------


def latest_rows(table: str, key: tuple[str, ...]) -> dict[tuple, dict]:
    """Per key, the row of the latest loaded file (ledger order), the later line within a file."""
    loaded = sorted(
        (f for f in LANDING_FILES if f.table == table and f.is_loaded),
        key=lambda f: f.ingested_at,
    )
    latest: dict[tuple, dict] = {}
    for landing_file in loaded:
        for row in landing_file.rows:
            latest[tuple(row[column] for column in key)] = row
    return latest


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def expected_air_quality_hourly() -> dict[tuple, dict]:
    readings = latest_rows("air_quality", ("device_id", "observed_at", "pollutant"))
    by_hour: dict[tuple, list[dict]] = defaultdict(list)
    for (device_id, observed_at, pollutant), reading in readings.items():
        by_hour[(device_id, pollutant, hour_of(observed_at))].append(reading)
    expected = {}
    for key, hour_readings in by_hour.items():
        usable = [r["value"] for r in hour_readings if r["status"] == "ok" and r["value"] is not None]
        expected[key] = {
            "mean_value_ugm3": mean(usable) if usable else None,
            "min_value_ugm3": min(usable, default=None),
            "max_value_ugm3": max(usable, default=None),
            "ok_reading_count": len(usable),
            "reading_count": len(hour_readings),
            "coverage": min(1.0, len(usable) / 6),
        }
    return expected


def expected_traffic_hourly() -> dict[tuple, dict]:
    counts = latest_rows("traffic_counts", ("site_id", "observed_at", "direction", "vehicle_class"))
    by_hour: dict[tuple, list[dict]] = defaultdict(list)
    for count in counts.values():
        by_hour[(count["site_id"], count["direction"], hour_of(count["observed_at"]))].append(count)
    columns = {
        "Personbil": "car_count",
        "Lastbil": "truck_count",
        "Buss": "bus_count",
        "MC": "motorcycle_count",
        "Cykel": "bicycle_count",
    }
    expected = {}
    for key, hour_counts in by_hour.items():
        measured = [c for c in hour_counts if c["mean_speed_kmh"] is not None]
        measured_vehicles = sum(c["vehicle_count"] for c in measured)
        row = {column: None for column in columns.values()}
        for count in hour_counts:
            row[columns[count["vehicle_class"]]] = count["vehicle_count"]
        row["total_vehicle_count"] = sum(c["vehicle_count"] for c in hour_counts)
        row["mean_speed_kmh"] = (
            sum(c["vehicle_count"] * c["mean_speed_kmh"] for c in measured) / measured_vehicles
            if measured_vehicles
            else None
        )
        expected[key] = row
    return expected


def unloaded_files() -> list[LandingFile]:
    return [f for f in LANDING_FILES if not f.is_loaded]


# --- Staging: the ledger decides what counts ----------------------------------------------------


def test_retransmission_resolves_to_the_later_file(warehouse: duckdb.DuckDBPyConnection) -> None:
    (row,) = rows(
        warehouse,
        "select value_ugm3, source_file from stg_air_quality where device_id = 'AQ-0001'"
        " and pollutant = 'NO2' and observed_at = '2026-03-02 10:20:00+00'",
    )
    later_file = max(
        (f for f in LANDING_FILES if f.table == "air_quality" and f.is_loaded),
        key=lambda f: f.ingested_at,
    )
    assert row == {"value_ugm3": 44.0, "source_file": later_file.name}


def test_later_line_of_one_file_wins(warehouse: duckdb.DuckDBPyConnection) -> None:
    (row,) = rows(
        warehouse,
        "select value_ugm3, source_row_number from stg_air_quality where device_id = 'AQ-0001'"
        " and pollutant = 'NO2' and observed_at = '2026-03-02 10:50:00+00'",
    )
    assert row == {"value_ugm3": 26.0, "source_row_number": 12}  # the file's last line


def test_rows_without_a_loaded_ledger_line_are_invisible(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    hidden = [f.sha256 for f in unloaded_files()]
    assert len(hidden) == 2  # one with no ledger line, one whose line says rejected
    for table in ["stg_air_quality", "stg_traffic_counts", "stg_iot_devices", "stg_districts"]:
        found = warehouse.execute(
            f"select count(*) from {table} where file_sha256 in (select unnest(?))", [hidden]
        ).fetchall()
        assert found == [(0,)], table
    values = {r["value_ugm3"] for r in rows(warehouse, "select value_ugm3 from stg_air_quality")}
    assert values.isdisjoint({999.0, 777.0})
    noon = rows(
        warehouse,
        "select * from fct_air_quality_hourly where hour_utc = '2026-03-02 12:00:00+00'",
    )
    assert noon == []


def test_staging_holds_exactly_the_latest_loaded_readings(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    expected = {
        key: (row["value"], row["status"])
        for key, row in latest_rows("air_quality", ("device_id", "observed_at", "pollutant")).items()
    }
    actual = {
        (r["device_id"], r["observed_at"], r["pollutant"]): (r["value_ugm3"], r["status"])
        for r in rows(warehouse, "select * from stg_air_quality")
    }
    assert actual == expected


# --- Devices and districts ------------------------------------------------------------------------


def test_devices_get_the_district_they_stand_in(warehouse: duckdb.DuckDBPyConnection) -> None:
    actual = {r["device_id"]: r["district"] for r in rows(warehouse, "select * from dim_devices")}
    assert actual == {device: place[2] for device, place in DEVICE_PLACES.items()}


def test_district_edges_cover_every_ring_including_holes(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    rings = rows(
        warehouse,
        "select district, polygon_index, ring_index, bool_or(is_hole) as is_hole,"
        " count(*) as edges from int_district_edges group by all order by all",
    )
    # Norrmalm: a MultiPolygon of two outer rings (7 and 4 edges); Södermalm: one polygon,
    # outer ring of 9 edges and a hole of 4 (closed rings: points - 1 edges).
    assert rings == [
        {"district": "Norrmalm", "polygon_index": 1, "ring_index": 1, "is_hole": False, "edges": 7},
        {"district": "Norrmalm", "polygon_index": 2, "ring_index": 1, "is_hole": False, "edges": 4},
        {"district": "Södermalm", "polygon_index": 1, "ring_index": 1, "is_hole": False, "edges": 9},
        {"district": "Södermalm", "polygon_index": 1, "ring_index": 2, "is_hole": True, "edges": 4},
    ]


def test_registry_keeps_dropped_devices_inactive(warehouse: duckdb.DuckDBPyConnection) -> None:
    devices = {r["device_id"]: r for r in rows(warehouse, "select * from dim_devices")}
    registries = sorted(
        (f for f in LANDING_FILES if f.table == "iot_devices" and f.is_loaded),
        key=lambda f: f.ingested_at,
    )
    listed_last = {
        row["owner"]: {r["device_id"] for r in registry.rows}
        for registry in registries
        for row in registry.rows
    }
    for device_id, device in devices.items():
        assert device["is_active"] == (device_id in listed_last[device["owner"]]), device_id
    assert devices["AQ-0004"]["is_active"] is False
    assert devices["AQ-0004"]["purpose"] == "luftkvalitet Norrmalm"
    assert devices["AQ-0001"]["purpose"] == "luftkvalitet Hornsgatan 2"
    assert devices["TC-0001"]["shared_with"] == ["miljo", "ks"]
    assert devices["TC-0002"]["shared_with"] == []
    assert devices["AQ-0004"]["shared_with"] == ["ks"]


# --- Marts ----------------------------------------------------------------------------------------


def test_air_quality_hour_by_hand(warehouse: duckdb.DuckDBPyConnection) -> None:
    (row,) = rows(
        warehouse,
        "select * from fct_air_quality_hourly where device_id = 'AQ-0001' and pollutant = 'NO2'"
        f" and hour_utc = '{AQ_HOUR}:00:00+00'",
    )
    # 10:00 20.0, 10:10 30.0, 10:20 44.0 (retransmitted; was 40.0), 10:30 maintenance (the
    # un-ledgered 999.0 is invisible), 10:40 null, 10:50 26.0 (later line; was 25.0).
    assert row["mean_value_ugm3"] == pytest.approx((20.0 + 30.0 + 44.0 + 26.0) / 4)
    assert (row["min_value_ugm3"], row["max_value_ugm3"]) == (20.0, 44.0)
    assert (row["ok_reading_count"], row["reading_count"]) == (4, 6)
    assert row["coverage"] == pytest.approx(4 / 6)


def test_air_quality_hourly_matches_the_readings(warehouse: duckdb.DuckDBPyConnection) -> None:
    actual = {
        (r.pop("device_id"), r.pop("pollutant"), r.pop("hour_utc")): r
        for r in rows(warehouse, "select * exclude (ingested_at) from fct_air_quality_hourly")
    }
    expected = expected_air_quality_hourly()
    assert actual.keys() == expected.keys()
    for key, row in expected.items():
        assert actual[key] == pytest.approx(row), key


def test_traffic_hour_by_hand(warehouse: duckdb.DuckDBPyConnection) -> None:
    (row,) = rows(
        warehouse,
        "select * from fct_traffic_hourly where site_id = 'TC-0001' and direction = 'N'"
        " and hour_utc = '2026-03-02 07:00:00+00'",
    )
    # Personbil 125 at 42.0 km/h (corrected from 120), Lastbil 10 at 38.0, Cykel 30 unmeasured.
    assert row["total_vehicle_count"] == 125 + 10 + 30
    assert (row["car_count"], row["truck_count"], row["bicycle_count"]) == (125, 10, 30)
    assert (row["bus_count"], row["motorcycle_count"]) == (None, None)
    assert row["mean_speed_kmh"] == pytest.approx((125 * 42.0 + 10 * 38.0) / 135)


def test_traffic_hourly_matches_the_counts(warehouse: duckdb.DuckDBPyConnection) -> None:
    actual = {
        (r.pop("site_id"), r.pop("direction"), r.pop("hour_utc")): r
        for r in rows(warehouse, "select * exclude (ingested_at) from fct_traffic_hourly")
    }
    expected = expected_traffic_hourly()
    assert actual.keys() == expected.keys()
    for key, row in expected.items():
        assert actual[key] == pytest.approx(row), key


# --- Open datasets --------------------------------------------------------------------------------


def test_open_models_are_built_under_enforced_contracts(
    build: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    manifest = json.loads((build / "target" / "manifest.json").read_text(encoding="utf-8"))
    results = json.loads((build / "target" / "run_results.json").read_text(encoding="utf-8"))
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    declared = yaml.safe_load((DBT_PROJECT_DIR / "models" / "open" / "_open.yml").read_text())
    for model in declared["models"]:
        node = manifest["nodes"][f"model.stadsdata.{model['name']}"]
        assert node["contract"]["enforced"] is True
        assert node["access"] == "public"
        assert statuses[node["unique_id"]] == "success"
        built = warehouse.execute(
            "select column_name, lower(data_type) from information_schema.columns"
            " where table_name = ? order by ordinal_position",
            [model["name"]],
        ).fetchall()
        assert built == [(c["name"], c["data_type"]) for c in model["columns"]], model["name"]
    assert sorted(m["name"] for m in declared["models"]) == sorted(OPEN_MODELS)


def test_open_air_quality_names_each_station_district(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    stations = rows(warehouse, "select distinct device_id, district from open_air_quality_hourly order by 1")
    assert stations == [
        {"device_id": device, "district": DEVICE_PLACES[device][2]}
        for device in sorted({key[0] for key in expected_air_quality_hourly()})
    ]


def test_open_districts_carry_the_latest_population(warehouse: duckdb.DuckDBPyConnection) -> None:
    population = latest_rows("district_population", ("district", "year"))
    latest = {}
    for (district, year), row in sorted(population.items()):
        latest[district] = {"year": year, "population": row["population"]}
    actual = {
        r["district"]: {"year": r["year"], "population": r["population"]}
        for r in rows(warehouse, "select district, year, population from open_districts")
    }
    assert actual == latest
    geometries = rows(warehouse, "select district, geometry from open_districts")
    for row in geometries:
        assert json.loads(row["geometry"])["type"] in {"Polygon", "MultiPolygon"}
