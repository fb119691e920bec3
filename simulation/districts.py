"""Stadsbyggnadskontoret's reference data: district polygons and population per year.

`districts/districts.geojson` holds the 13 stadsdelsområden as MultiPolygons, each the
collection of its real stadsdelar's polygons (not dissolved: neighbouring parts share
edges), WGS 84 lon/lat rounded to 6 decimals. `districts/population.csv` holds
`district,year,population,households`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from simulation.city import City, District, Period, local_midnight
from simulation.landing_files import GeneratedFile, LandingFile

SOURCE = "districts"


def district_feature(district: District) -> dict:
    return {
        "type": "Feature",
        "properties": {"name": district.name},
        "geometry": {
            "type": "MultiPolygon",
            "coordinates": [
                [[list(point) for point in ring] for ring in polygon] for polygon in district.polygons
            ],
        },
    }


def geojson_bytes(districts: tuple[District, ...]) -> bytes:
    """One feature per line: small diffs, still a single valid JSON document."""
    features = ",\n".join(
        json.dumps(district_feature(d), ensure_ascii=False, separators=(",", ":")) for d in districts
    )
    return f'{{"type":"FeatureCollection","features":[\n{features}\n]}}\n'.encode()


def population_bytes(districts: tuple[District, ...]) -> bytes:
    lines = ["district,year,population,households"]
    for district in districts:
        for year, population in district.population:
            households = round(population / district.persons_per_household)
            lines.append(f"{district.name},{year},{population},{households}")
    return ("\n".join(lines) + "\n").encode()


def generate(city: City, period: Period) -> list[LandingFile]:
    """Both files, dropped ten days before the period starts (reference data comes early)."""
    arrived = local_midnight(period.start) - timedelta(days=10) + timedelta(hours=8)
    rows = sum(len(d.population) for d in city.districts)
    return [
        _file("districts/districts.geojson", geojson_bytes(city.districts), len(city.districts), arrived),
        _file("districts/population.csv", population_bytes(city.districts), rows, arrived),
    ]


def _file(path: str, data: bytes, rows: int, arrived: datetime) -> LandingFile:
    return LandingFile(GeneratedFile(SOURCE, path, rows, arrived), data)
