"""What a release holds beyond CSV and Parquet: per-year files for a large history, GeoJSON for
datasets with a location, what changed since the previous release, and the portal page's links.

Each check reads the release the way its users would (csv, json, frictionless, the file
system) and compares it with what the warehouse held, computed here in plain Python.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import frictionless
import pytest

from publishing import Column, OpenDataset, ReleaseError, publish_release
from publishing.charts import chart_spec
from publishing.export import export_dataset
from publishing.geojson import Location, location_of
from publishing.portal import quality_status

START = datetime(2024, 12, 30, 20, 0, tzinfo=UTC)
SWEDISH_NEW_YEAR = datetime(2024, 12, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 Jan 2025 in Stockholm
POLYGON = {"type": "Polygon", "coordinates": [[[18.0, 59.3], [18.1, 59.3], [18.1, 59.35], [18.0, 59.3]]]}
MULTI = {
    "type": "MultiPolygon",
    "coordinates": [
        [[[17.9, 59.3], [17.95, 59.3], [17.95, 59.32], [17.9, 59.3]]],
        [[[17.96, 59.3], [17.99, 59.3], [17.99, 59.31], [17.96, 59.3]]],
    ],
}
DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def dataset(name: str, columns: list[tuple[str, str]], key: list[str], **extra) -> OpenDataset:
    return OpenDataset(
        name=name,
        title=name.removeprefix("open_").capitalize(),
        description=f"Test dataset {name}.",
        owner="miljo",
        classification="open",
        license="CC0-1.0",
        update_frequency="hourly",
        columns=[Column(n, t) for n, t in columns],
        primary_key=key,
        **extra,
    )


READINGS = dataset(
    "open_readings",
    [("reading_id", "integer"), ("measured_at", "datetime"), ("value", "number")],
    ["reading_id"],
)
DISTRICTS = dataset(
    "open_districts",
    [("district", "string"), ("population", "integer"), ("geometry", "string")],
    ["district"],
)
STATIONS = dataset(
    "open_stations",
    [("station_id", "string"), ("latitude", "number"), ("longitude", "number"), ("opened_at", "datetime")],
    ["station_id"],
)
COUNTS = dataset("open_counts", [("site", "string"), ("vehicles", "integer")], [])


def reading_rows() -> list[tuple]:
    """Readings over three calendar years (UTC), one at Swedish but not UTC new year, and two
    without a time."""
    rows = [(i, START + timedelta(days=37 * i), round(10 + i * 1.5, 2)) for i in range(30)]
    rows.append((100, SWEDISH_NEW_YEAR, 7.25))
    rows += [(101, None, 1.0), (102, None, None)]
    return rows


def build_warehouse(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE open_readings (reading_id INTEGER, measured_at TIMESTAMPTZ, value DOUBLE)")
        con.executemany("INSERT INTO open_readings VALUES (?, ?, ?)", reading_rows())
        con.execute("CREATE TABLE open_districts (district VARCHAR, population BIGINT, geometry VARCHAR)")
        con.executemany(
            "INSERT INTO open_districts VALUES (?, ?, ?)",
            [("Södermalm", 131_000, json.dumps(POLYGON)), ("Bromma", 81_600, json.dumps(MULTI))],
        )
        con.execute(
            "CREATE TABLE open_stations (station_id VARCHAR, latitude DOUBLE, longitude DOUBLE, "
            "opened_at TIMESTAMPTZ)"
        )
        con.executemany(
            "INSERT INTO open_stations VALUES (?, ?, ?, ?)",
            [
                ("AQ-1", 59.3326, 18.0649, SWEDISH_NEW_YEAR),
                ("AQ-2", 59.2901, 17.9952, None),
                ("AQ-3", None, None, START),  # not yet placed: a feature without geometry
            ],
        )
        con.execute("CREATE TABLE open_counts (site VARCHAR, vehicles BIGINT)")
        con.executemany("INSERT INTO open_counts VALUES (?, ?)", [("A", 5), ("A", 5), ("B", 7)])
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def package_of(release: Path) -> dict:
    return json.loads((release / "datapackage.json").read_text(encoding="utf-8"))


def table(warehouse: Path, name: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"SELECT * FROM {name}").fetchall()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One release of four datasets, readings split per year (more than 5 rows)."""
    root = tmp_path_factory.mktemp("content")
    warehouse = build_warehouse(root / "w.duckdb")
    datasets = [READINGS, DISTRICTS, STATIONS, COUNTS]
    release = publish_release(warehouse, datasets, root / "releases", year_split_rows=5)
    return {"warehouse": warehouse, "release": release, "datasets": datasets, "root": root}


# --- one file per year ----------------------------------------------------------------------


def test_a_large_history_is_split_per_utc_year_and_loses_no_row(published):
    folder = published["release"].path
    expected: dict[str, set[int]] = {}
    for reading_id, at, _ in reading_rows():
        part = "undated" if at is None else str(at.astimezone(UTC).year)
        expected.setdefault(part, set()).add(reading_id)
    assert len(expected) >= 4  # several years and the undated rows
    assert not (folder / "open_readings.csv").exists()
    for part, ids in expected.items():
        rows = read_csv(folder / f"open_readings-{part}.csv")
        assert {int(r["reading_id"]) for r in rows} == ids, part
        assert len(rows) == len(ids)
        with duckdb.connect() as con:
            parquet = con.execute(
                f"SELECT reading_id FROM '{folder}/open_readings-{part}.parquet'"
            ).fetchall()
        assert sorted(r[0] for r in parquet) == sorted(ids)
    assert published["release"].datasets["open_readings"] == len(reading_rows())
    split_files = sorted(p.name for p in folder.glob("open_readings*"))
    assert split_files == sorted(f"open_readings-{p}.{s}" for p in expected for s in ("csv", "parquet"))


def test_the_row_at_swedish_new_year_belongs_to_the_utc_year(published):
    rows = read_csv(published["release"].path / "open_readings-2024.csv")
    assert {"reading_id": "100", "measured_at": "2024-12-31T23:30:00Z", "value": "7.25"} in rows


def test_each_year_is_a_resource_and_the_package_validates(published):
    folder = published["release"].path
    resources = {r["name"]: r for r in package_of(folder)["resources"]}
    years = sorted(p.stem.removeprefix("open_readings-") for p in folder.glob("open_readings-*.csv"))
    for year in years:
        table_resource = resources[f"open_readings-{year}"]
        assert table_resource["dataset"] == "open_readings" and table_resource["part"] == year
        assert table_resource["schema"]["primaryKey"] == ["reading_id"]
        assert resources[f"open_readings-{year}-parquet"]["path"] == f"open_readings-{year}.parquet"
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_a_dataset_at_or_below_the_limit_stays_one_file(tmp_path):
    warehouse = build_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        exported = export_dataset(con, READINGS, tmp_path, year_split_rows=len(reading_rows()))
    assert [part.part for part in exported.parts] == [None]
    assert exported.rows == len(reading_rows())
    assert sorted(p.name for p in tmp_path.glob("open_readings*")) == [
        "open_readings.csv",
        "open_readings.parquet",
    ]


def test_year_split_rows_must_be_positive(tmp_path):
    warehouse = build_warehouse(tmp_path / "w.duckdb")
    with pytest.raises(ValueError, match="year_split_rows"):
        publish_release(warehouse, [READINGS], tmp_path / "releases", year_split_rows=0)
    assert not (tmp_path / "releases" / "latest").exists()


# --- GeoJSON -------------------------------------------------------------------------------


def positions(coordinates, depth: int) -> list[list[float]]:
    if depth == 0:
        return [coordinates]
    return [p for item in coordinates for p in positions(item, depth - 1)]


def assert_valid_geometry(geometry: dict) -> None:
    """RFC 7946: a known type, nesting that fits it, WGS 84 positions, closed polygon rings."""
    if geometry["type"] == "GeometryCollection":
        for member in geometry["geometries"]:
            assert_valid_geometry(member)
        return
    assert set(geometry) == {"type", "coordinates"}
    depth = DEPTH[geometry["type"]]
    for position in positions(geometry["coordinates"], depth):
        assert len(position) in (2, 3) and all(isinstance(v, int | float) for v in position)
        longitude, latitude = position[:2]
        assert -180 <= longitude <= 180 and -90 <= latitude <= 90
    rings = {"Polygon": geometry["coordinates"], "MultiPolygon": []}.get(geometry["type"], [])
    if geometry["type"] == "MultiPolygon":
        rings = [ring for polygon in geometry["coordinates"] for ring in polygon]
    for ring in rings:
        assert len(ring) >= 4 and ring[0] == ring[-1]


def read_features(path: Path) -> list[dict]:
    collection = json.loads(path.read_text(encoding="utf-8"))
    assert set(collection) == {"type", "features"} and collection["type"] == "FeatureCollection"
    for feature in collection["features"]:
        assert feature["type"] == "Feature" and set(feature) == {"type", "geometry", "properties"}
        if feature["geometry"] is not None:
            assert_valid_geometry(feature["geometry"])
    return collection["features"]


def as_csv_text(value) -> str:
    return "" if value is None else str(value)


def test_polygons_from_a_geometry_column_match_the_csv(published):
    folder = published["release"].path
    features = read_features(folder / "open_districts.geojson")
    by_name = {f["properties"]["district"]: f for f in features}
    warehouse = {row[0]: row for row in table(published["warehouse"], "open_districts")}
    assert set(by_name) == set(warehouse)
    for name, (_, population, geometry) in warehouse.items():
        assert by_name[name]["geometry"] == json.loads(geometry)
        assert by_name[name]["properties"] == {"district": name, "population": population}
    rows = read_csv(folder / "open_districts.csv")
    assert {r["district"]: r["population"] for r in rows} == {
        n: as_csv_text(f["properties"]["population"]) for n, f in by_name.items()
    }


def test_points_from_latitude_and_longitude_keep_every_row(published):
    folder = published["release"].path
    features = read_features(folder / "open_stations.geojson")
    csv_rows = {r["station_id"]: r for r in read_csv(folder / "open_stations.csv")}
    assert len(features) == len(csv_rows) == len(table(published["warehouse"], "open_stations"))
    for feature in features:
        row = csv_rows[feature["properties"]["station_id"]]
        if row["latitude"]:
            assert feature["geometry"] == {
                "type": "Point",
                "coordinates": [float(row["longitude"]), float(row["latitude"])],
            }
        else:
            assert feature["geometry"] is None
        # the other columns are properties, timestamps written exactly as in the CSV
        assert {k: as_csv_text(v) for k, v in feature["properties"].items()} == {
            "station_id": row["station_id"],
            "opened_at": row["opened_at"],
        }


def test_geojson_files_are_file_resources_with_size_and_hash(published):
    folder = published["release"].path
    geo = [r for r in package_of(folder)["resources"] if r.get("format") == "geojson"]
    assert sorted(r["path"] for r in geo) == ["open_districts.geojson", "open_stations.geojson"]
    for resource in geo:
        data = (folder / resource["path"]).read_bytes()
        assert resource["mediatype"] == "application/geo+json"
        assert resource["bytes"] == len(data)
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()
        assert resource["profile"] == "data-resource" and resource["type"] == "file"
    assert not (folder / "open_readings-2025.geojson").exists()  # no location, no GeoJSON
    digest = hashlib.sha256((folder / "open_stations.geojson").read_bytes()).hexdigest()
    assert f"{digest}  open_stations.geojson" in (folder / "SHA256SUMS").read_text()


def test_a_split_dataset_with_a_location_has_geojson_per_year(tmp_path):
    warehouse = build_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        exported = export_dataset(con, STATIONS, tmp_path, year_split_rows=1)
    stations = table(warehouse, "open_stations")
    years = {"undated" if row[3] is None else str(row[3].astimezone(UTC).year) for row in stations}
    assert {part.part for part in exported.parts} == years
    features = []
    for part in exported.parts:
        assert part.geojson == tmp_path / f"open_stations-{part.part}.geojson"
        part_features = read_features(part.geojson)
        assert len(part_features) == part.rows == len(read_csv(part.csv))
        features += part_features
    assert sorted(f["properties"]["station_id"] for f in features) == sorted(row[0] for row in stations)


def test_location_columns_are_found_by_name():
    assert location_of(DISTRICTS) == Location(geometry="geometry")
    assert location_of(STATIONS) == Location(latitude="latitude", longitude="longitude")
    short = dataset("open_x", [("id", "string"), ("lat", "number"), ("lon", "number")], ["id"])
    assert location_of(short) == Location(latitude="lat", longitude="lon")
    assert location_of(READINGS) is None
    text_lat = dataset("open_y", [("lat", "string"), ("lon", "string")], [])
    assert location_of(text_lat) is None  # text columns are not coordinates


BAD_GEOMETRIES = {
    "POLYGON((18 59, 18.1 59, 18 59))": "is not GeoJSON geometry text",
    '{"type": "Feature", "properties": {}}': "is not GeoJSON geometry text",
    # SWEREF 99 TM metres, not WGS 84 degrees
    '{"type": "Point", "coordinates": [674032, 6580821]}': "has a longitude outside -180..180",
}


def test_a_geometry_a_map_would_misplace_stops_the_release(tmp_path):
    warehouse = build_warehouse(tmp_path / "w.duckdb")
    releases = tmp_path / "releases"
    first = publish_release(warehouse, [DISTRICTS], releases)
    for geometry, problem in BAD_GEOMETRIES.items():
        with duckdb.connect(str(warehouse)) as con:
            con.execute("UPDATE open_districts SET geometry = ? WHERE district = 'Bromma'", [geometry])
        with pytest.raises(ReleaseError, match=f"open_districts: column geometry {re.escape(problem)}"):
            publish_release(warehouse, [DISTRICTS], releases)
        assert (releases / "latest").resolve() == first.path.resolve()
        assert sorted(p.name for p in releases.iterdir() if not p.name.startswith(".")) == [
            first.id,
            "latest",
        ]


def test_a_latitude_out_of_range_stops_the_release(tmp_path):
    warehouse = build_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE open_stations SET latitude = 95 WHERE station_id = 'AQ-2'")
    with pytest.raises(ReleaseError, match="open_stations: column latitude/longitude has a latitude outside"):
        publish_release(warehouse, [STATIONS], tmp_path / "releases")
    assert not (tmp_path / "releases" / "latest").exists()


# --- what changed since the previous release -------------------------------------------------


def keyed(rows: list[tuple]) -> dict:
    return {row[0]: row[1:] for row in rows}


def expected_changes(before: list[tuple], after: list[tuple]) -> dict:
    old, new = keyed(before), keyed(after)
    return {
        "added": len(new.keys() - old.keys()),
        "changed": sum(1 for k in new.keys() & old.keys() if new[k] != old[k]),
        "removed": len(old.keys() - new.keys()),
    }


def change_the_warehouse(warehouse: Path) -> None:
    """A day's worth of change: new readings, corrected ones, one withdrawn, one set to null."""
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "INSERT INTO open_readings VALUES (200, TIMESTAMPTZ '2026-06-01 12:00:00+00', 3.5), "
            "(201, TIMESTAMPTZ '2026-06-01 13:00:00+00', 4.5), (202, NULL, 9.0)"
        )
        con.execute("UPDATE open_readings SET value = value + 1 WHERE reading_id IN (3, 17)")
        con.execute("UPDATE open_readings SET value = NULL WHERE reading_id = 20")
        con.execute("UPDATE open_readings SET value = value WHERE reading_id = 21")  # not a change
        con.execute("DELETE FROM open_readings WHERE reading_id IN (5, 101)")
        con.execute("UPDATE open_districts SET population = population + 250 WHERE district = 'Bromma'")
        con.execute("INSERT INTO open_counts VALUES ('C', 1)")
        # one of two identical rows goes: only a whole-row count can tell
        con.execute(
            "DELETE FROM open_counts WHERE rowid = (SELECT min(rowid) FROM open_counts WHERE site = 'A')"
        )


@pytest.fixture(scope="module")
def second(published) -> dict:
    warehouse = published["warehouse"]
    before = {name: table(warehouse, name) for name in ("open_readings", "open_districts", "open_counts")}
    change_the_warehouse(warehouse)
    after = {name: table(warehouse, name) for name in before}
    release = publish_release(
        warehouse,
        published["datasets"],
        published["root"] / "releases",
        year_split_rows=5,
        held_back={"open_stations": "a blocking check failed"},
    )
    return {"release": release, "before": before, "after": after}


def test_rows_added_changed_and_removed_are_counted_by_primary_key(published, second):
    changes = package_of(second["release"].path)["changes"]
    assert changes["previous_release"] == published["release"].id
    for name in ("open_readings", "open_districts"):
        counted = changes["datasets"][name]
        expected = expected_changes(second["before"][name], second["after"][name])
        assert {k: counted[k] for k in expected} == expected, name
        assert counted["rows"] == len(second["after"][name])
    assert changes["datasets"]["open_readings"]["compared_by"] == ["reading_id"]
    assert changes["datasets"]["open_districts"]["compared_by"] == ["district"]


def test_without_a_key_whole_rows_are_compared(second):
    counted = package_of(second["release"].path)["changes"]["datasets"]["open_counts"]
    old, new = Counter(second["before"]["open_counts"]), Counter(second["after"]["open_counts"])
    assert counted["added"] == sum((new - old).values())
    assert counted["removed"] == sum((old - new).values())
    assert counted["changed"] is None and counted["compared_by"] == "whole rows"


def test_a_carried_forward_dataset_is_unchanged(published, second):
    counted = package_of(second["release"].path)["changes"]["datasets"]["open_stations"]
    assert counted["carried_forward_from"] == published["release"].id
    assert (counted["added"], counted["changed"], counted["removed"]) == (0, 0, 0)


def test_the_notes_show_the_same_counts(second):
    notes = (second["release"].path / "RELEASE_NOTES.md").read_text(encoding="utf-8")
    changes = package_of(second["release"].path)["changes"]["datasets"]
    for name, counted in changes.items():
        shown = [counted["rows"], counted["added"], counted["changed"], counted["removed"]]
        cells = " | ".join("—" if v is None else str(v) for v in shown)
        assert f"| {name} | {cells} |" in notes, name
    assert "## Changes since the previous release" in notes


def test_an_unchanged_warehouse_gives_no_changes(tmp_path):
    warehouse = build_warehouse(tmp_path / "w.duckdb")
    publish_release(warehouse, [READINGS, COUNTS], tmp_path / "releases", year_split_rows=5)
    again = publish_release(warehouse, [READINGS, COUNTS], tmp_path / "releases")  # now one file
    for counted in package_of(again.path)["changes"]["datasets"].values():
        assert (counted["added"], counted["removed"]) == (0, 0)
        assert counted["changed"] in (0, None)


# --- the portal page -----------------------------------------------------------------------


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self.sources: list[str] = []
        self.sections: list[str] = []
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(found["id"])
        if tag == "a" and found.get("href"):
            self.hrefs.append(found["href"])
        if tag in ("script", "img", "iframe", "object", "embed") or (
            tag == "link" and found.get("rel") != "icon"
        ):
            self.sources.append(tag)
        if tag == "section":
            self.sections.append(found.get("id"))
        if tag == "svg":
            self.svgs += 1


def test_the_page_links_only_files_of_the_release(published, second):
    for release in (published["release"], second["release"]):
        page = Links()
        page.feed((release.path / "index.html").read_text(encoding="utf-8"))
        assert sorted(page.sections) == sorted(d.name for d in published["datasets"])
        assert page.sources == []  # nothing is loaded from anywhere
        files = {p.name for p in release.path.iterdir()}
        for href in page.hrefs:
            if href.startswith("#"):
                assert href[1:] in page.ids, href
            else:
                assert href in files, href
        data_files = {f for f in files if re.match(r"open_\w+(-\w+)?\.(csv|parquet|geojson)$", f)}
        assert data_files <= set(page.hrefs)
        charted = [d for d in published["datasets"] if chart_spec(d) is not None]
        assert page.svgs == len(charted) == 3  # by time (2) and the bars of open_data.yaml (1)
        assert "Inget diagram för denna datamängd" in (release.path / "index.html").read_text("utf-8")


def test_quality_status_reads_words_and_suite_summaries():
    suite = {"expectations": 6, "passed": 5, "failed_blocking": 0, "failed_warning": 1, "errors": 0}
    assert quality_status("a", {"a": suite}, {}, {})[:3] == (
        "warnings",
        "Godkänd med varningar",
        "Passed with warnings",
    )
    assert "5 av 6" in quality_status("a", {"a": suite}, {}, {})[3]
    assert quality_status("a", {"a": "passed"}, {}, {})[0] == "passed"
    assert quality_status("a", {"a": {"checks": 4, "failed": 1}}, {}, {})[0] == "failed"
    assert quality_status("a", {}, {}, {})[0] == "unchecked"
    held = quality_status("a", {"a": "passed"}, {"a": "null values in key"}, {"a": "R1"})
    assert held[0] == "held" and "null values in key" in held[3] and "R1" in held[3]


def test_quality_status_reads_the_release_gates_summary():
    from quality.gate import CheckOutcome, decide

    upstream = {
        "open_air": ["open/open_air", "bronze/air"],
        "open_traffic": ["open/open_traffic"],
        "open_districts": ["open/open_districts"],
        "open_unchecked": ["open/open_unchecked"],
    }
    outcomes = [
        CheckOutcome("air_expectations", "bronze/air", True, False, warnings=("3 readings above 500",)),
        CheckOutcome("open_air_expectations", "open/open_air", True, False),
        CheckOutcome("traffic_expectations", "open/open_traffic", False, True, summary="negative counts"),
        CheckOutcome("districts_expectations", "open/open_districts", True, False),
    ]
    decision = decide(upstream, outcomes)
    status = {n: quality_status(n, decision.quality, decision.held_back, {}) for n in upstream}
    assert status["open_air"][0] == "warnings"
    assert (
        "2 av 2 kontroller godkända" in status["open_air"][3]
        and "3 readings above 500" in status["open_air"][3]
    )
    assert status["open_traffic"][0] == "held" and "negative counts" in status["open_traffic"][3]
    assert status["open_districts"][:2] == ("passed", "Godkänd")
    assert status["open_unchecked"][0] == "unchecked"  # no check ran on it
