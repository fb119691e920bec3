"""iot_devices and districts: the reference data other sources are checked and joined against."""

import json
from datetime import date

import pytest

from ingestion.run import device_registry

GOOD_DEVICE = "AQ-0012,miljo,air_quality_sensor,Luftkvalitet Hornsgatan,59.317,18.034,2024-05-01,,"


def loaded(read: int, rejected: int = 0) -> dict:
    return {
        "status": "loaded",
        "rows_read": read,
        "rows_loaded": read - rejected,
        "rows_rejected": rejected,
        "bronze_rows": read - rejected,
        "quarantined_rows": rejected,
        "file_quarantined": False,
    }


def test_registry_export_loads_and_feeds_the_device_check(landing, iot_csv):
    text = iot_csv(
        GOOD_DEVICE,
        "TR-0101,trafik,traffic_counter,Cykelräkning Skanstull,59.307,18.076,2023-01-10,2026-01-31,ks|sbk",
        "SM-1,svbo,smart_meter,Elmätning,59.30,18.10,2022-02-02,, miljo ",
    )
    landing.write("iot_devices", "export_blandat.csv", text, encoding="windows-1252")
    [entry] = landing.ingest("iot_devices", registry=None)
    assert landing.outcome(entry) == loaded(3)
    rows = landing.bronze(entry)
    assert rows["device_id"].to_list() == ["AQ-0012", "TR-0101", "SM-1"]
    assert rows["purpose"].to_list()[1] == "Cykelräkning Skanstull"
    assert rows["installed_at"].to_list() == [date(2024, 5, 1), date(2023, 1, 10), date(2022, 2, 2)]
    assert rows["decommissioned_at"].to_list() == [None, date(2026, 1, 31), None]
    assert rows["shared_with"].to_list() == [None, "ks|sbk", "miljo"]
    assert rows["lat"].to_list() == [59.317, 59.307, 59.30]
    assert device_registry(landing.paths) == {"AQ-0012", "TR-0101", "SM-1"}


def test_registry_is_empty_before_any_export_and_ignores_rejected_files(landing, iot_csv):
    assert device_registry(landing.paths) == set()
    landing.write("iot_devices", "trasig.csv", "device_id;owner\nX-1;ks\n")
    [entry] = landing.ingest("iot_devices", registry=None)
    assert entry.status == "rejected"
    assert device_registry(landing.paths) == set()


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            "X-1,miljo,air_quality_sensor,Luft,59.3,18.0,2024-05-01,,ks|stadsdel",
            "shared_with: unknown owner code(s) stadsdel",
        ),
        (
            "X-1,miljo,air_quality_sensor,Luft,59.3,18.0,2024-05-01,,everyone",
            "shared_with: unknown owner code(s) everyone",
        ),
        ("X-1,miljo,air_quality_sensor,Luft,91.0,18.0,2024-05-01,,", "lat: 91.0 is above 70"),
        ("X-1,miljo,air_quality_sensor,Luft,18.0,59.3,2024-05-01,,", "lat: 18.0 is below 55"),
        ("X-1,miljo,air_quality_sensor,Luft,59.3,18.0,2024-13-01,,", "installed_at: not a date"),
        ("X-1,miljo,air_quality_sensor,Luft,59.3,18.0,01/05/2024,,", "installed_at: not a date"),
        ("X-1,miljo,air_quality_sensor,Luft,59.3,18.0,,,", "installed_at: missing"),
        (
            "X-1,miljo,air_quality_sensor,Luft,59.3,18.0,2024-05-01,snart,",
            "decommissioned_at: not a date: snart",
        ),
        ("X-1,stadsmiljo,air_quality_sensor,Luft,59.3,18.0,2024-05-01,,", "owner: stadsmiljo"),
        ("X-1,miljo,air_quality_sensor,Luft,59.3,18.0,2024-05-01,", "expected 9 fields, found 8"),
    ],
    ids=[
        "unknown-code-in-list",
        "unknown-code",
        "lat-too-high",
        "lat-lon-swapped",
        "month-13",
        "not-iso-date",
        "no-install-date",
        "decommissioned-text",
        "unknown-owner",
        "field-missing",
    ],
)
def test_registry_row_breaking_the_contract_is_quarantined(landing, iot_csv, row, reason):
    landing.write("iot_devices", "miljo.csv", iot_csv(GOOD_DEVICE, row))
    [entry] = landing.ingest("iot_devices", registry=None)
    assert landing.outcome(entry) == loaded(2, rejected=1)
    reasons = landing.rejections(entry)
    assert list(reasons) == [3]
    assert reasons[3].startswith(reason)
    assert device_registry(landing.paths) == {"AQ-0012"}


SODERMALM = {
    "type": "Polygon",
    "coordinates": [
        [[18.02, 59.30], [18.12, 59.30], [18.12, 59.325], [18.02, 59.325], [18.02, 59.30]],
        [[18.06, 59.31], [18.07, 59.31], [18.07, 59.315], [18.06, 59.31]],  # a hole
    ],
}
NORRMALM = {
    "type": "MultiPolygon",
    "coordinates": [
        [[[18.03, 59.33], [18.08, 59.33], [18.08, 59.35], [18.03, 59.33]]],
        [[[18.09, 59.34], [18.10, 59.34], [18.10, 59.345], [18.09, 59.34]]],
    ],
}


def feature(name, geometry, **properties) -> dict:
    return {"type": "Feature", "properties": {"name": name, **properties}, "geometry": geometry}


def test_district_polygons_and_multipolygons_load_with_bounding_boxes(landing):
    collection = {
        "type": "FeatureCollection",
        "features": [
            feature("Södermalm", SODERMALM),
            feature("Norrmalm", NORRMALM, area_km2=7.2),
            feature("Punkt", {"type": "Point", "coordinates": [18.0, 59.3]}),
            feature("Trasig", {"type": "Polygon", "coordinates": [[[18.0, 59.3], [18.1, 59.3]]]}),
            feature("Utan geometri", None),
            feature(None, SODERMALM),
            {"type": "Feature", "properties": ["name", "Lista"], "geometry": SODERMALM},
            "not a feature",
        ],
    }
    text = json.dumps(collection, ensure_ascii=False, indent=1)
    landing.write("districts", "districts.geojson", text)
    [entry] = landing.ingest("districts", registry=None)
    assert landing.outcome(entry) == loaded(8, rejected=6)
    assert entry.tables == ["districts"]
    assert landing.rejections(entry) == {
        3: "geometry is not a valid Polygon or MultiPolygon",
        4: "geometry is not a valid Polygon or MultiPolygon",
        5: "geometry is not a valid Polygon or MultiPolygon",
        6: "district: missing",
        7: "district: missing",
        8: "geometry is not a valid Polygon or MultiPolygon",
    }
    assert json.loads(landing.quarantined_raw(entry)[3])["properties"]["name"] == "Punkt"
    rows = landing.bronze(entry)
    assert rows["district"].to_list() == ["Södermalm", "Norrmalm"]
    assert [json.loads(g) for g in rows["geometry"]] == [SODERMALM, NORRMALM]
    boxes = rows.select("min_lon", "min_lat", "max_lon", "max_lat").rows()
    assert boxes == [(18.02, 59.30, 18.12, 59.325), (18.03, 59.33, 18.10, 59.35)]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"type": "Feature", "properties": {}, "geometry": null}', "not a GeoJSON FeatureCollection"),
        ("[1, 2, 3]", "not a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection"}', "FeatureCollection without a features list"),
        ('{"type": "FeatureCollection", "features": [', "invalid JSON"),
        ("[" * 100_000, "invalid JSON: nested too deeply"),
    ],
    ids=["a-feature", "an-array", "no-features", "cut-off", "nested-too-deep"],
)
def test_geojson_that_is_not_a_feature_collection_is_rejected(landing, text, reason):
    original = landing.write("districts", "districts.geojson", text)
    [entry] = landing.ingest("districts", registry=None)
    landing.assert_file_rejected(entry, original, reason)


def test_population_csv_loads_into_its_own_table(landing):
    text = (
        "district,year,population,households\n"
        "Södermalm,2025,131000,76000\n"
        "Norrmalm,2025,70000,40000\n"
        "Bromma,20x5,78000,33000\n"
        "Kista,2025,-5,1000\n"
    )
    landing.write("districts", "population.csv", text)
    [entry] = landing.ingest("districts", registry=None)
    assert entry.tables == ["district_population"]
    assert landing.outcome(entry) == loaded(4, rejected=2)
    assert landing.rejections(entry) == {
        4: "year: not a integer: 20x5",
        5: "population: -5 is below 0",
    }
    rows = landing.bronze(entry, table="district_population")
    assert rows.select("district", "year", "population", "households").rows() == [
        ("Södermalm", 2025, 131000, 76000),
        ("Norrmalm", 2025, 70000, 40000),
    ]


@pytest.mark.parametrize(
    ("source", "name", "patterns"),
    [
        ("districts", "stadsdelar.shp", "*.geojson, *.geo.json, population*.csv"),
        ("districts", "befolkning.csv", "*.geojson, *.geo.json, population*.csv"),
        ("air_quality", "batch.json", "*.jsonl, *.jsonl.gz"),
        ("traffic_counts", "export.xlsx", "*.csv"),
    ],
)
def test_file_name_matching_no_pattern_is_rejected_whole(landing, source, name, patterns):
    original = landing.write(source, name, "district,year,population,households\n")
    [entry] = landing.ingest(source, registry=None)
    landing.assert_file_rejected(
        entry, original, f"file name matches none of the source's patterns ({patterns})"
    )
