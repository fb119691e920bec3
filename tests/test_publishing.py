"""The open-data release: from a real DuckDB warehouse and a dbt-shaped manifest to
`releases/<id>/` and `releases/latest`, checked the way a reader of the release would."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import frictionless
import pyarrow.parquet as pq
import pytest

from publishing import (
    Column,
    NotPublishable,
    OpenDataset,
    ReleaseError,
    latest_release,
    open_datasets_from_manifest,
    publish_release,
)
from publishing.checksums import verify_sums

OFFSET_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")

AIR_QUALITY_ROWS = [
    # the October DST switch: 00:30Z and 01:30Z are both 02:30 local time
    ("AQ-0012", "2026-10-25 00:30:00+00", "NO2", 23.4, "ok"),
    ("AQ-0012", "2026-10-25 01:30:00+00", "NO2", None, "error"),
    ("AQ-0012", "2026-10-25 03:00:00+01", "PM10", 11.0, "ok"),
    ("AQ-0031", "2026-03-29 01:00:00+00", "O3", 64.25, "maintenance"),
]
DISTRICT_ROWS = [
    ("Södermalm", 'Söder om "Slussen", mest känd för Götgatan', 132_000, 71_500),
    ("Älvsjö-Hägersten", "Årsta, Västberga", 110_000, None),
    ("Östermalm", "", 77_000, 43_200),
]


def create_warehouse(path: Path) -> Path:
    """A small warehouse like dbt builds it: open_* tables in the main schema."""
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE open_air_quality (device_id VARCHAR, observed_at TIMESTAMPTZ, "
            "pollutant VARCHAR, value DOUBLE, status VARCHAR, _file_sha256 VARCHAR)"
        )
        con.executemany(
            "INSERT INTO open_air_quality VALUES (?, ?::TIMESTAMPTZ, ?, ?, ?, 'undeclared')",
            AIR_QUALITY_ROWS,
        )
        con.execute(
            "CREATE TABLE open_districts (district VARCHAR, description VARCHAR, "
            "population INTEGER, households INTEGER)"
        )
        con.executemany("INSERT INTO open_districts VALUES (?, ?, ?, ?)", DISTRICT_ROWS)
        con.execute("CREATE TABLE mart_care_visits (district VARCHAR, visits INTEGER)")
    return path


def column(name: str, data_type: str, description: str, **meta) -> dict:
    """A column entry as dbt 1.11 writes it into manifest.json."""
    return {
        "name": name,
        "description": description,
        "meta": meta,
        "data_type": data_type,
        "constraints": [],
        "quote": None,
        "config": {"meta": meta, "tags": []},
        "tags": [],
        "granularity": None,
        "doc_blocks": [],
    }


def model(name: str, description: str, columns: list[dict], meta: dict, **extra) -> dict:
    """A model node as dbt 1.11 writes it into manifest.json (the fields the release reads
    plus enough of the rest to look like the real thing)."""
    return {
        "database": "stadsdata",
        "schema": "main",
        "name": name,
        "resource_type": "model",
        "package_name": "stadsdata",
        "path": f"open/{name}.sql",
        "original_file_path": f"models/open/{name}.sql",
        "unique_id": f"model.stadsdata.{name}",
        "fqn": ["stadsdata", "open", name],
        "alias": name,
        "description": description,
        "columns": {c["name"]: c for c in columns},
        "meta": meta,
        "config": {
            "enabled": True,
            "alias": None,
            "schema": None,
            "materialized": "table",
            "meta": meta,
            "tags": [],
            "contract": {"enforced": True, "alias_types": True},
        },
        "constraints": [],
        "relation_name": f'"stadsdata"."main"."{name}"',
        "depends_on": {"macros": [], "nodes": []},
        "version": None,
        "latest_version": None,
        **extra,
    }


def stadsdata_manifest() -> dict:
    air_quality = model(
        "open_air_quality",
        "Hourly readings from the city's air-quality sensors, in µg/m³.",
        [
            column("device_id", "varchar", "Sensor id"),
            column("observed_at", "timestamp with time zone", "Time of the reading (UTC)"),
            column("pollutant", "varchar", "NO2, PM10, PM2_5 or O3"),
            column("value", "double", "Concentration; empty when the sensor failed", unit="µg/m³"),
            column("status", "varchar", "ok, maintenance or error"),
        ],
        {
            "owner": "miljo",
            "classification": "open",
            "pii": False,
            "license": "CC0-1.0",
            "update_frequency": "hourly",
            "title": "Luftkvalitet",
            "title_sv": "Luftkvalitet",
            "title_en": "Air quality",
            "description_sv": "Timvärden från stadens luftkvalitetssensorer, i µg/m³.",
            "themes": ["ENVI"],
            "hvd_category": "earth_observation_and_environment",
            "temporal_resolution": "PT1H",
        },
        constraints=[{"type": "primary_key", "columns": ["device_id", "observed_at", "pollutant"]}],
    )
    districts = model(
        "open_districts",
        "Stockholm's stadsdelsområden with population.",
        [
            column("district", "varchar", "Stadsdelsområde"),
            column("description", "varchar", "Free text"),
            column("population", "integer", "Residents", unit="persons"),
            column("households", "integer", "Households; empty when not reported"),
        ],
        {
            "owner": "sbk",
            "classification": "open",
            "pii": False,
            "license": "CC-BY-4.0",
            "update_frequency": "annual",
            "title_sv": "Stadsdelsområden",
            "title_en": "City districts",
            "description_sv": "Stockholms stadsdelsområden med folkmängd.",
            "themes": ["REGI", "GOVE"],
        },
    )
    districts["columns"]["district"]["constraints"] = [{"type": "primary_key"}]
    care = model(
        "mart_care_visits",
        "Care visits per district (internal).",
        [column("district", "varchar", ""), column("visits", "integer", "")],
        {"owner": "aldre", "classification": "sensitive", "pii": False},
    )
    seed = {"resource_type": "seed", "name": "open_seed_lookalike", "columns": {}, "config": {}}
    nodes = {n["unique_id"]: n for n in (air_quality, districts, care)}
    nodes["seed.stadsdata.open_seed_lookalike"] = seed
    return {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
        "nodes": nodes,
        "sources": {},
    }


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return create_warehouse(tmp_path / "stadsdata.duckdb")


@pytest.fixture
def datasets() -> list[OpenDataset]:
    return open_datasets_from_manifest(stadsdata_manifest())


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    return tmp_path / "releases"


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, strict=True))


def warehouse_rows(warehouse: Path, query: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(query).fetchall()


# --- the manifest guard --------------------------------------------------------------------


def test_manifest_gives_the_open_models_with_their_schema(datasets):
    by_name = {d.name: d for d in datasets}
    assert sorted(by_name) == ["open_air_quality", "open_districts"]
    air = by_name["open_air_quality"]
    assert air.title == "Luftkvalitet"
    assert (air.owner, air.license, air.update_frequency) == ("miljo", "CC0-1.0", "hourly")
    assert [(c.name, c.type) for c in air.columns] == [
        ("device_id", "string"),
        ("observed_at", "datetime"),
        ("pollutant", "string"),
        ("value", "number"),
        ("status", "string"),
    ]
    assert air.columns[3].unit == "µg/m³"
    assert air.primary_key == ["device_id", "observed_at", "pollutant"]
    assert by_name["open_districts"].primary_key == ["district"]
    assert by_name["open_districts"].title == "Districts"


def _set_model_meta(manifest: dict, name: str, **meta) -> None:
    node = manifest["nodes"][f"model.stadsdata.{name}"]
    for place in (node["meta"], node["config"]["meta"]):
        for key, value in meta.items():
            if value is None:
                place.pop(key, None)
            else:
                place[key] = value


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"classification": "internal"}, "classification is 'internal'"),
        ({"pii": True}, "pii"),
        ({"license": None}, "license is not declared"),
        ({"license": "All rights reserved"}, "not an open licence"),
        ({"owner": None}, "owner is not declared"),
    ],
)
def test_manifest_guard_refuses_a_model_by_name(change, expected):
    manifest = stadsdata_manifest()
    _set_model_meta(manifest, "open_districts", **change)
    with pytest.raises(NotPublishable) as raised:
        open_datasets_from_manifest(manifest)
    message = str(raised.value)
    assert "open_districts" in message and expected in message
    assert not any("open_air_quality" in p for p in raised.value.problems)


def test_manifest_guard_refuses_a_pii_column_and_reports_every_model():
    manifest = stadsdata_manifest()
    pii_column = column("reported_by", "varchar", "Who reported it", pii=True)
    manifest["nodes"]["model.stadsdata.open_air_quality"]["columns"]["reported_by"] = pii_column
    _set_model_meta(manifest, "open_districts", classification="confidential")
    with pytest.raises(NotPublishable) as raised:
        open_datasets_from_manifest(manifest)
    problems = raised.value.problems
    assert any(p.startswith("open_air_quality: column reported_by is marked pii") for p in problems)
    assert any(p.startswith("open_districts: classification is 'confidential'") for p in problems)


def test_manifest_guard_refuses_a_column_without_a_csv_form():
    manifest = stadsdata_manifest()
    node = manifest["nodes"]["model.stadsdata.open_districts"]
    node["columns"]["tags"] = column("tags", "varchar[]", "List of tags")
    with pytest.raises(NotPublishable, match="open_districts: column tags has type 'varchar"):
        open_datasets_from_manifest(manifest)


# --- what a release holds --------------------------------------------------------------------


def test_csv_is_rfc4180_utf8_and_matches_the_warehouse(warehouse, datasets, releases):
    release = publish_release(warehouse, datasets, releases)
    raw = (release.path / "open_districts.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == len(DISTRICT_ROWS) + 1 and b"\n" not in raw.replace(b"\r\n", b"")
    rows = read_csv(release.path / "open_districts.csv")
    assert rows[0] == ["district", "description", "population", "households"]
    expected = warehouse_rows(warehouse, "SELECT * FROM open_districts ORDER BY district")
    as_text = [["" if v is None else str(v) for v in row] for row in expected]
    assert rows[1:] == as_text
    # the quote in a text is doubled inside a quoted field, as RFC 4180 says
    assert b'"S\xc3\xb6der om ""Slussen"", mest k\xc3\xa4nd f\xc3\xb6r G\xc3\xb6tgatan"' in raw
    assert release.datasets == {"open_air_quality": 4, "open_districts": 3}


def test_csv_timestamps_carry_an_offset_and_nulls_are_empty(warehouse, datasets, releases):
    release = publish_release(warehouse, datasets, releases)
    header, *rows = read_csv(release.path / "open_air_quality.csv")
    assert header == ["device_id", "observed_at", "pollutant", "value", "status"]
    assert "_file_sha256" not in header  # only declared columns are published
    observed = [row[1] for row in rows]
    assert all(OFFSET_TIMESTAMP.match(value) for value in observed), observed
    expected = warehouse_rows(
        warehouse,
        "SELECT observed_at, value FROM open_air_quality ORDER BY device_id, observed_at, pollutant",
    )
    assert [datetime.fromisoformat(v) for v in observed] == [row[0] for row in expected]
    assert [row[3] for row in rows] == ["" if v is None else str(v) for _, v in expected]


def test_sub_second_timestamps_keep_their_digits(tmp_path, releases):
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "CREATE TABLE open_events AS SELECT * FROM (VALUES "
            "(1, TIMESTAMPTZ '2026-01-01 12:00:00.250+01'), "
            "(2, TIMESTAMPTZ '2026-01-01 12:00:01+00'), (3, NULL)) t(event_id, happened_at)"
        )
    columns = [Column("event_id", "integer"), Column("happened_at", "datetime")]
    events = OpenDataset("open_events", "Events", "", "ks", "open", "CC0-1.0", "daily", columns, ["event_id"])
    release = publish_release(warehouse, [events], releases)
    assert [r[1] for r in read_csv(release.path / "open_events.csv")[1:]] == [
        "2026-01-01T11:00:00.250000Z",
        "2026-01-01T12:00:01.000000Z",
        "",
    ]


def test_parquet_round_trips_with_zstd(warehouse, datasets, releases):
    release = publish_release(warehouse, datasets, releases)
    for dataset in datasets:
        path = release.path / f"{dataset.name}.parquet"
        assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
        columns = ", ".join(c.name for c in dataset.columns)
        published = warehouse_rows(warehouse, f"SELECT {columns} FROM read_parquet('{path}')")
        original = warehouse_rows(warehouse, f"SELECT {columns} FROM {dataset.name}")
        assert sorted(published, key=repr) == sorted(original, key=repr)
        assert pq.read_schema(path).names == [c.name for c in dataset.columns]


def test_data_package_validates_with_frictionless(warehouse, datasets, releases):
    release = publish_release(warehouse, datasets, releases)
    package_path = release.path / "datapackage.json"
    report = frictionless.validate(str(package_path))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = json.loads(package_path.read_text(encoding="utf-8"))
    assert package["profile"] == "data-package"
    assert {"name", "title", "id", "created", "licenses", "sources", "contributors"} <= set(package)
    assert {"title": "Kommunstyrelsen / Stadsledningskontoret", "role": "publisher"} in package[
        "contributors"
    ]
    names = {r["name"]: r for r in package["resources"]}
    assert set(names) == {
        "open_air_quality",
        "open_air_quality-parquet",
        "open_districts",
        "open_districts-parquet",
    }
    air = names["open_air_quality"]
    assert air["schema"]["primaryKey"] == ["device_id", "observed_at", "pollutant"]
    assert {
        "name": "value",
        "type": "number",
        "description": air["schema"]["fields"][3]["description"],
        "unit": "µg/m³",
    } == air["schema"]["fields"][3]
    assert air["bytes"] == (release.path / "open_air_quality.csv").stat().st_size
    assert (air["format"], air["mediatype"]) == ("csv", "text/csv")
    assert names["open_districts-parquet"]["format"] == "parquet"
    # the types frictionless reads back are the warehouse's, with time zones kept
    package = frictionless.Package(str(package_path))
    first = package.get_resource("open_air_quality").read_rows()[0]
    assert first["observed_at"].utcoffset().total_seconds() == 0


def test_frictionless_cli_accepts_the_release_and_catches_a_changed_file(
    warehouse, datasets, releases, tmp_path
):
    release = publish_release(warehouse, datasets, releases)
    command = [sys.executable, "-m", "frictionless", "validate"]
    ok = subprocess.run([*command, str(release.path / "datapackage.json")], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    tampered = tmp_path / "tampered"
    shutil.copytree(release.path, tampered)
    (tampered / "open_districts.csv").chmod(0o644)
    text = (tampered / "open_districts.csv").read_text(encoding="utf-8")
    (tampered / "open_districts.csv").write_text(
        text.replace("132000", "132001"), encoding="utf-8", newline=""
    )
    assert not frictionless.validate(str(tampered / "datapackage.json")).valid


def test_sha256sums_verifies_every_file(warehouse, datasets, releases):
    release = publish_release(warehouse, datasets, releases, quality={"open_districts": "passed"})
    listed = {
        line.split("  ", 1)[1] for line in (release.path / "SHA256SUMS").read_text().split("\n") if line
    }
    on_disk = {p.name for p in release.path.iterdir()} - {"SHA256SUMS"}
    assert listed == on_disk
    assert {"datapackage.json", "RELEASE_NOTES.md", "quality.json"} <= listed
    assert verify_sums(release.path) == []
    checked = subprocess.run(
        ["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=release.path, capture_output=True
    )
    assert checked.returncode == 0, checked.stdout


def test_published_files_are_read_only_and_warehouse_is_untouched(warehouse, datasets, releases):
    before = warehouse.read_bytes()
    release = publish_release(warehouse, datasets, releases)
    assert warehouse.read_bytes() == before
    assert not warehouse.with_suffix(".duckdb.wal").exists()
    assert all(p.stat().st_mode & 0o222 == 0 for p in release.path.iterdir())


# --- moving latest ---------------------------------------------------------------------------


def test_latest_is_a_relative_symlink_to_the_new_release(warehouse, datasets, releases):
    first = publish_release(warehouse, datasets, releases)
    second = publish_release(warehouse, datasets, releases)
    assert first.id != second.id and re.match(r"^\d{8}T\d{6}Z(-\d+)?$", second.id)
    assert os.readlink(releases / "latest") == second.id
    assert latest_release(releases) == second.path
    assert first.path.is_dir()  # earlier releases stay as they were


def _release_folders(releases: Path) -> list[str]:
    return sorted(p.name for p in releases.iterdir())


def test_missing_table_leaves_latest_and_no_temporary_folder(warehouse, datasets, releases):
    first = publish_release(warehouse, datasets, releases)
    before = _release_folders(releases)
    ghost = OpenDataset(
        "open_ghost", "Ghost", "", "ks", "open", "CC0-1.0", "daily", [Column("x", "string")], []
    )
    with pytest.raises(ReleaseError, match="open_ghost"):
        publish_release(warehouse, [*datasets, ghost], releases)
    assert os.readlink(releases / "latest") == first.id
    assert _release_folders(releases) == before


def test_failure_mid_export_leaves_latest_and_no_temporary_folder(warehouse, datasets, releases):
    first = publish_release(warehouse, datasets, releases)
    before = _release_folders(releases)
    with duckdb.connect(str(warehouse)) as con:  # fails only when its rows are read
        con.execute(
            "CREATE VIEW open_broken AS SELECT CAST(v AS INTEGER) AS n FROM (VALUES ('1'), ('x')) t(v)"
        )
    broken = OpenDataset(
        "open_broken", "Broken", "", "ks", "open", "CC0-1.0", "daily", [Column("n", "integer")], []
    )
    with pytest.raises(ReleaseError, match="exporting open_broken failed"):
        publish_release(warehouse, [*datasets, broken], releases)
    assert os.readlink(releases / "latest") == first.id
    assert _release_folders(releases) == before


def test_declared_type_must_match_the_warehouse(warehouse, datasets, releases):
    changed = [
        OpenDataset(**{**d.__dict__, "columns": [Column(c.name, "integer") for c in d.columns]})
        if d.name == "open_districts"
        else d
        for d in datasets
    ]
    with pytest.raises(ReleaseError, match="open_districts: column district is declared integer"):
        publish_release(warehouse, changed, releases)
    assert not (releases / "latest").exists()
    assert [p.name for p in releases.iterdir()] == [".lock"]


# --- held back, carried forward, pruned ------------------------------------------------------


def test_held_back_dataset_is_carried_forward_with_notes(warehouse, datasets, releases):
    first = publish_release(warehouse, datasets, releases)
    with duckdb.connect(str(warehouse)) as con:  # new data arrives, but fails its checks
        con.execute(
            "INSERT INTO open_air_quality VALUES "
            "('AQ-0099', TIMESTAMPTZ '2026-10-26 00:00:00+00', 'NO2', -5, 'ok', 'x')"
        )
        con.execute("UPDATE open_districts SET population = population + 1")
    reason = "blocking check value_not_negative failed"
    second = publish_release(warehouse, datasets, releases, held_back={"open_air_quality": reason})
    assert second.carried_forward == {"open_air_quality": first.id}
    assert second.datasets == {"open_districts": 3}
    for suffix in ("csv", "parquet"):
        name = f"open_air_quality.{suffix}"
        assert (second.path / name).read_bytes() == (first.path / name).read_bytes()
    assert (second.path / "open_districts.csv").read_bytes() != (
        first.path / "open_districts.csv"
    ).read_bytes()
    notes = (second.path / "RELEASE_NOTES.md").read_text(encoding="utf-8")
    assert reason in notes and f"release {first.id} stays available" in notes
    assert re.search(r"\| open_air_quality \| .* \| 4 \|", notes)
    assert frictionless.validate(str(second.path / "datapackage.json")).valid

    third = publish_release(warehouse, datasets, releases, held_back={"open_air_quality": reason})
    assert third.carried_forward == {"open_air_quality": first.id}  # the origin, not the hop


def test_held_back_without_earlier_version_is_absent_and_said_so(warehouse, datasets, releases):
    release = publish_release(
        warehouse, datasets, releases, held_back={"open_districts": "population not delivered"}
    )
    assert not (release.path / "open_districts.csv").exists()
    assert release.carried_forward == {}
    notes = (release.path / "RELEASE_NOTES.md").read_text(encoding="utf-8")
    assert "**open_districts**: population not delivered. No earlier version exists" in notes


def test_keep_prunes_the_oldest_releases(warehouse, datasets, releases):
    ids = [publish_release(warehouse, datasets, releases, keep=2).id for _ in range(4)]
    assert len(set(ids)) == 4
    remaining = sorted(p.name for p in releases.iterdir() if not p.name.startswith("."))
    assert remaining == sorted([*ids[-2:], "latest"])
    assert os.readlink(releases / "latest") == ids[-1]


def test_pruning_never_deletes_the_release_latest_points_to(warehouse, datasets, releases):
    releases.mkdir()
    future = releases / "29991231T000000Z"  # a newer-looking id, e.g. from a skewed clock
    future.mkdir()
    release = publish_release(warehouse, datasets, releases, keep=1)
    assert release.path.is_dir() and future.is_dir()
    assert os.readlink(releases / "latest") == release.id


def test_explicit_release_id_is_never_reused(warehouse, datasets, releases):
    publish_release(warehouse, datasets, releases, release_id="2026-w48")
    with pytest.raises(ReleaseError, match="already exists"):
        publish_release(warehouse, datasets, releases, release_id="2026-w48")
    with pytest.raises(ValueError):
        publish_release(warehouse, datasets, releases, release_id="../elsewhere")


def test_notes_and_quality_summary_are_in_the_release(warehouse, datasets, releases):
    quality = {"open_air_quality": {"checks": 5, "failed": 0}}
    release = publish_release(warehouse, datasets, releases, quality=quality)
    notes = (release.path / "RELEASE_NOTES.md").read_text(encoding="utf-8")
    for name, rows in release.datasets.items():
        assert re.search(rf"\| {name} \| .* \| {rows} \|", notes)
    assert json.loads((release.path / "quality.json").read_text(encoding="utf-8")) == quality
    assert '"checks": 5' in notes
