"""GeoJSON (RFC 7946) for every open dataset with a location: one FeatureCollection per file.

A map application, or a resident with a GIS tool, can open the dataset without knowing
which columns hold its place. A dataset has a location when it has a `geometry` text
column holding GeoJSON geometries (like the districts' outlines), or latitude/longitude
columns (points); other column names are declared in open_data.yaml `locations`.

Every feature is built by DuckDB from the Parquet file just written (so the GeoJSON holds
exactly the CSV's rows, with the same text for timestamps) and written out in batches, so
a large dataset never sits in memory. Coordinates are WGS 84 longitude, latitude as RFC 7946
requires; a value out of range or a geometry that is not GeoJSON stops the release with the
dataset and column named, rather than publishing a file a map would misplace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from publishing.datasets import OpenDataset, open_data_settings, quote_identifier

GEOMETRY_COLUMN = "geometry"
LATITUDE_NAMES = ("latitude", "lat")
LONGITUDE_NAMES = ("longitude", "lon", "lng")
GEOMETRY_TYPES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)
# The first two numbers of every position ("[lon, lat" or "[lon, lat, height"): the only
# arrays in a geometry that start with a number.
POSITION = r"\[\s*(-?[0-9][0-9.eE+-]*)\s*,\s*(-?[0-9][0-9.eE+-]*)"
FLOATING = ("DOUBLE", "FLOAT", "REAL")
BATCH_ROWS = 10_000
MEDIA_TYPE = "application/geo+json"


class LocationError(ValueError):
    """A dataset's location columns are missing or hold values that are not WGS 84 places."""


@dataclass(frozen=True)
class Location:
    """Where a dataset's rows are: a GeoJSON geometry column, or latitude and longitude."""

    geometry: str | None = None
    latitude: str | None = None
    longitude: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for c in (self.geometry, self.latitude, self.longitude) if c)


def location_of(dataset: OpenDataset) -> Location | None:
    """The dataset's location columns: declared in open_data.yaml, else found by their names."""
    columns = {c.name: c.type for c in dataset.columns}
    declared = (open_data_settings().get("locations") or {}).get(dataset.name)
    if declared:
        return _declared_location(dataset.name, declared, columns)
    if columns.get(GEOMETRY_COLUMN) == "string":
        return Location(geometry=GEOMETRY_COLUMN)
    latitude = next((n for n in LATITUDE_NAMES if columns.get(n) == "number"), None)
    longitude = next((n for n in LONGITUDE_NAMES if columns.get(n) == "number"), None)
    if latitude and longitude:
        return Location(latitude=latitude, longitude=longitude)
    return None


def _declared_location(name: str, declared: dict, columns: dict[str, str]) -> Location:
    if set(declared) not in ({"geometry"}, {"latitude", "longitude"}):
        raise LocationError(
            f"{name}: open_data.yaml locations must be {{geometry: col}} or "
            f"{{latitude: col, longitude: col}}, not {declared}"
        )
    location = Location(**declared)
    wanted = {location.geometry: "string", location.latitude: "number", location.longitude: "number"}
    for column, kind in wanted.items():
        if column is not None and columns.get(column) != kind:
            raise LocationError(f"{name}: location column {column} is not a declared {kind} column")
    return location


def write_geojson(
    con: duckdb.DuckDBPyConnection,
    name: str,
    source: str,
    text_forms: dict[str, str],
    location: Location,
    target: Path,
) -> int:
    """Write the rows of `source` (SQL: a relation) as a FeatureCollection; return the features.

    `text_forms` gives each column's published SQL form (the CSV's); the location columns
    become the geometry and every other column a property. A row without a location
    becomes a feature with a null geometry, as RFC 7946 allows, so no row is left out.
    """
    types = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    _check_location(con, name, source, location)
    properties = ", ".join(
        f"'{column.replace(chr(39), chr(39) * 2)}', {_json_value(form, types[column])}"
        for column, form in text_forms.items()
        if column not in location.columns
    )
    feature = (
        f"json_object('type', 'Feature', 'geometry', {_geometry(location)}, "
        f"'properties', json_object({properties}))::VARCHAR"
    )
    cursor = con.execute(f"SELECT {feature} FROM {source}")
    count = 0
    with target.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write('{"type":"FeatureCollection","features":[')
        while batch := cursor.fetchmany(BATCH_ROWS):
            for (text,) in batch:
                handle.write(("\n" if count == 0 else ",\n") + text)
                count += 1
        handle.write("\n]}\n")
    return count


def _json_value(form: str, kind: str) -> str:
    """NaN and infinity have no JSON form; they become null like a missing value."""
    if kind.upper() in FLOATING:
        return f"CASE WHEN isfinite({form}) THEN {form} END"
    return form


def _geometry(location: Location) -> str:
    if location.geometry:
        return f"json({quote_identifier(location.geometry)})"
    latitude, longitude = quote_identifier(location.latitude), quote_identifier(location.longitude)
    return (
        f"CASE WHEN {latitude} IS NULL OR {longitude} IS NULL THEN NULL ELSE json_object("
        f"'type', 'Point', 'coordinates', [{longitude}::DOUBLE, {latitude}::DOUBLE]) END"
    )


def _check_location(con: duckdb.DuckDBPyConnection, name: str, source: str, location: Location) -> None:
    """Refuse values a map would misplace, naming the dataset, column and an example."""
    if location.geometry:
        column = quote_identifier(location.geometry)
        kinds = ", ".join(f"'{kind}'" for kind in GEOMETRY_TYPES)
        kind = f"coalesce(json_extract_string({column}, '$.type'), '')"
        outside = (
            f"len(list_filter(regexp_extract_all({column}, '{POSITION}', 1), "
            f"lambda v: NOT abs(TRY_CAST(v AS DOUBLE)) <= 180)) > 0 OR "
            f"len(list_filter(regexp_extract_all({column}, '{POSITION}', 2), "
            f"lambda v: NOT abs(TRY_CAST(v AS DOUBLE)) <= 90)) > 0"
        )
        checks = {
            "is not GeoJSON geometry text": (
                f"{column} IS NOT NULL AND CASE WHEN json_valid({column}) "
                f"THEN {kind} NOT IN ({kinds}) ELSE true END"
            ),
            "has a longitude outside -180..180 or a latitude outside -90..90 (not WGS 84?)": (
                f"{column} IS NOT NULL AND CASE WHEN json_valid({column}) THEN {outside} ELSE false END"
            ),
        }
        shown = location.geometry
    else:
        latitude, longitude = quote_identifier(location.latitude), quote_identifier(location.longitude)
        checks = {
            "has a latitude outside -90..90 or a longitude outside -180..180 (not WGS 84?)": (
                f"NOT ({latitude}::DOUBLE BETWEEN -90 AND 90) "
                f"OR NOT ({longitude}::DOUBLE BETWEEN -180 AND 180)"
            )
        }
        column = f"concat_ws(', ', {latitude}, {longitude})"
        shown = f"{location.latitude}/{location.longitude}"
    for problem, condition in checks.items():
        count, example = con.execute(
            f"SELECT count(*), any_value(left({column}::VARCHAR, 80)) FROM {source} WHERE {condition}"
        ).fetchone()
        if count:
            raise LocationError(f"{name}: column {shown} {problem} in {count} row(s), e.g. {example!r}")
