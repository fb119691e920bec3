"""A small, realistic bronze lake and ingestion ledger for testing the dbt project.

The dbt models read only bronze Parquet and the ledger, so tests can write those directly instead of
running ingestion: that keeps dbt tests independent of the readers and lets every quirk the models
must handle be placed on purpose. The schema comes from the source contracts
(`ingestion/contracts/*.yaml`) plus the lineage columns of docs/layout.md, so it follows the
contracts when they change.

The quirks placed here, each with the rule it tests:

- a retransmitted air-quality reading and a corrected traffic count in a later file (later file wins),
- the same reading twice inside one file (the later line wins),
- an air-quality file with no ledger line and one whose ledger line says `rejected` (both invisible),
- a device that the owner's later registry file drops (kept, `is_active` false),
- two districts as polygons: Södermalm with a hole, Norrmalm as a MultiPolygon whose bounding box
  also covers a device that lies in neither part,
- a truncated last ledger line (ignored).
"""

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_DIR = REPO_ROOT / "ingestion" / "contracts"
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"

LINEAGE_SCHEMA: dict[str, pl.DataType] = {
    "_source_file": pl.String(),
    "_file_sha256": pl.String(),
    "_row_number": pl.Int64(),
    "_ingested_at": pl.Datetime("us", "UTC"),
}

CONTRACT_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "timestamp": pl.Datetime("us", "UTC"),
    "float": pl.Float64(),
    "integer": pl.Int64(),
    "date": pl.Date(),
}


@dataclass(frozen=True)
class LandingFile:
    """One landing file as ingestion would have recorded it: its bronze rows and its ledger line.

    `ledger_status` None means the ledger holds no line for the file (a load that died after writing
    bronze); `first_row_number` is the physical line of the first data row (2 under a CSV header).
    """

    source: str
    table: str
    name: str
    ingested_at: datetime
    ledger_status: str | None
    rows: list[dict] = field(default_factory=list)
    first_row_number: int = 1

    @property
    def sha256(self) -> str:
        """A stable stand-in for the hash of the file's bytes (the bytes themselves are not needed)."""
        return hashlib.sha256(f"{self.source}/{self.name}".encode()).hexdigest()

    @property
    def is_loaded(self) -> bool:
        return self.ledger_status == "loaded"


def utc(text: str) -> datetime:
    """Parse an ISO time without offset as UTC (bronze stores UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- Districts: real-ish outlines around Stockholm's inner city (lon, lat; WGS 84). ---------------

SODERMALM_OUTER = [
    [18.0210, 59.3120],
    [18.0400, 59.3050],
    [18.0750, 59.3040],
    [18.1060, 59.3080],
    [18.1100, 59.3150],
    [18.0900, 59.3210],
    [18.0700, 59.3200],
    [18.0550, 59.3230],
    [18.0300, 59.3190],
    [18.0210, 59.3120],
]
SODERMALM_HOLE = [
    [18.0600, 59.3110],
    [18.0600, 59.3140],
    [18.0660, 59.3140],
    [18.0660, 59.3110],
    [18.0600, 59.3110],
]
NORRMALM_MAINLAND = [
    [18.0300, 59.3300],
    [18.0550, 59.3290],
    [18.0800, 59.3300],
    [18.0820, 59.3380],
    [18.0650, 59.3450],
    [18.0400, 59.3440],
    [18.0280, 59.3380],
    [18.0300, 59.3300],
]
NORRMALM_ISLAND = [
    [18.0830, 59.3230],
    [18.0900, 59.3230],
    [18.0920, 59.3260],
    [18.0860, 59.3280],
    [18.0830, 59.3230],
]

DISTRICT_GEOMETRIES: dict[str, dict] = {
    "Södermalm": {"type": "Polygon", "coordinates": [SODERMALM_OUTER, SODERMALM_HOLE]},
    "Norrmalm": {"type": "MultiPolygon", "coordinates": [[NORRMALM_MAINLAND], [NORRMALM_ISLAND]]},
}


def district_row(name: str, geometry: dict) -> dict:
    """A bronze districts row: the geometry as GeoJSON text and its bounding box."""
    points = [point for ring in all_rings(geometry) for point in ring]
    return {
        "district": name,
        "geometry": json.dumps(geometry),
        "min_lon": min(p[0] for p in points),
        "min_lat": min(p[1] for p in points),
        "max_lon": max(p[0] for p in points),
        "max_lat": max(p[1] for p in points),
    }


def all_rings(geometry: dict) -> list[list[list[float]]]:
    """Every ring (outer and holes) of a Polygon or MultiPolygon."""
    if geometry["type"] == "Polygon":
        return list(geometry["coordinates"])
    return [ring for polygon in geometry["coordinates"] for ring in polygon]


# --- Devices: where each one stands, and the district it must be placed in. ----------------------

# device_id -> (lon, lat, expected district or None when it lies in no district)
DEVICE_PLACES: dict[str, tuple[float, float, str | None]] = {
    "AQ-0001": (18.0450, 59.3150, "Södermalm"),  # inside the outer ring
    "AQ-0002": (18.0870, 59.3250, "Norrmalm"),  # on the island: inside Södermalm's box too
    "AQ-0003": (18.0630, 59.3125, None),  # in Södermalm's hole (a lake)
    "AQ-0004": (18.0550, 59.3380, "Norrmalm"),  # mainland; dropped by miljo's later registry
    "TC-0001": (18.0600, 59.3320, "Norrmalm"),
    "TC-0002": (18.0810, 59.3265, None),  # inside Norrmalm's box, between its two parts
}


def device_row(device_id: str, owner: str, device_type: str, purpose: str, shared: str | None) -> dict:
    lon, lat, _ = DEVICE_PLACES[device_id]
    return {
        "device_id": device_id,
        "owner": owner,
        "device_type": device_type,
        "purpose": purpose,
        "lat": lat,
        "lon": lon,
        "installed_at": date(2024, 5, 2),
        "decommissioned_at": None,
        "shared_with": shared,
    }


def reading(device_id: str, observed_at: str, pollutant: str, value: float | None, **extra) -> dict:
    """A bronze air-quality row; `value` is already in µg/m³ as ingestion stores it."""
    row = {
        "device_id": device_id,
        "observed_at": utc(observed_at),
        "pollutant": pollutant,
        "value": value,
        "value_as_sent": value,
        "unit_as_sent": "ug/m3",
        "status": "ok",
    }
    row.update(extra)
    return row


def traffic_count(
    site: str, observed_at: str, direction: str, vehicle_class: str, n: int, speed: float | None
) -> dict:
    """A bronze traffic row; local date and hour are Stockholm time (UTC+1 in early March)."""
    start = utc(observed_at)
    return {
        "site_id": site,
        "observed_at": start,
        "local_date": start.date(),
        "local_hour": start.hour + 1,
        "direction": direction,
        "vehicle_class": vehicle_class,
        "vehicle_count": n,
        "mean_speed_kmh": speed,
    }


AQ_HOUR = "2026-03-02T10"  # the hour test_dbt_models checks by hand

LANDING_FILES: tuple[LandingFile, ...] = (
    LandingFile(
        "iot_devices",
        "iot_devices",
        "iot_devices/miljo_2026-03-01.csv",
        utc("2026-03-01T06:00:00"),
        "loaded",
        [
            device_row("AQ-0001", "miljo", "air_quality_sensor", "luftkvalitet Hornsgatan", None),
            device_row("AQ-0002", "miljo", "air_quality_sensor", "luftkvalitet Skeppsholmen", None),
            device_row("AQ-0003", "miljo", "air_quality_sensor", "luftkvalitet Fatburen", None),
            device_row("AQ-0004", "miljo", "air_quality_sensor", "luftkvalitet Norrmalm", "ks"),
        ],
        first_row_number=2,
    ),
    LandingFile(
        "iot_devices",
        "iot_devices",
        "iot_devices/trafik_2026-03-01.csv",
        utc("2026-03-01T06:05:00"),
        "loaded",
        [
            device_row("TC-0001", "trafik", "traffic_counter", "trafikflöde Vasagatan", "miljo|ks"),
            device_row("TC-0002", "trafik", "traffic_counter", "trafikflöde Strömbron", ""),
        ],
        first_row_number=2,
    ),
    LandingFile(
        "iot_devices",
        "iot_devices",
        "iot_devices/miljo_2026-03-03.csv",
        utc("2026-03-03T06:00:00"),
        "loaded",
        [
            device_row("AQ-0001", "miljo", "air_quality_sensor", "luftkvalitet Hornsgatan 2", None),
            device_row("AQ-0002", "miljo", "air_quality_sensor", "luftkvalitet Skeppsholmen", None),
            device_row("AQ-0003", "miljo", "air_quality_sensor", "luftkvalitet Fatburen", None),
        ],
        first_row_number=2,
    ),
    LandingFile(
        "air_quality",
        "air_quality",
        "air_quality/2026-03-02/gateway-a-1100.jsonl",
        utc("2026-03-02T11:05:00"),
        "loaded",
        [
            reading("AQ-0001", "2026-03-02T10:00:00", "NO2", 20.0),
            reading("AQ-0001", "2026-03-02T10:10:00", "NO2", 30.0),
            reading("AQ-0001", "2026-03-02T10:20:00", "NO2", 40.0),  # retransmitted as 44.0
            reading("AQ-0001", "2026-03-02T10:30:00", "NO2", 100.0, status="maintenance"),
            reading("AQ-0001", "2026-03-02T10:40:00", "NO2", None),  # sensor fault: kept missing
            reading("AQ-0001", "2026-03-02T10:50:00", "NO2", 25.0),  # replaced by a later line
            reading("AQ-0001", "2026-03-02T10:00:00", "PM10", 12.0),
            reading("AQ-0001", "2026-03-02T10:30:00", "PM10", 18.0),
            reading(
                "AQ-0002",
                "2026-03-02T10:00:00",
                "NO2",
                18.8,
                value_as_sent=10.0,
                unit_as_sent="ppb",
            ),
            reading("AQ-0002", "2026-03-02T10:10:00", "NO2", 22.0, status="error"),
            reading("AQ-0003", "2026-03-02T10:00:00", "O3", 60.0),
            reading("AQ-0001", "2026-03-02T10:50:00", "NO2", 26.0),  # same key, later line
        ],
    ),
    LandingFile(
        "air_quality",
        "air_quality",
        "air_quality/2026-03-02/gateway-a-1200.jsonl",
        utc("2026-03-02T12:05:00"),
        "loaded",
        [
            reading("AQ-0001", "2026-03-02T10:20:00", "NO2", 44.0),  # retransmission, corrected
            reading("AQ-0001", "2026-03-02T11:00:00", "NO2", 31.0),
            reading("AQ-0001", "2026-03-02T11:10:00", "NO2", 33.0),
            reading("AQ-0002", "2026-03-02T11:00:00", "PM2_5", 7.5),
        ],
    ),
    LandingFile(
        "air_quality",
        "air_quality",
        "air_quality/2026-03-02/gateway-a-1300.jsonl",
        utc("2026-03-02T13:05:00"),
        None,  # bronze written, ledger line never appended: must stay invisible
        [
            reading("AQ-0001", "2026-03-02T10:30:00", "NO2", 999.0),
            reading("AQ-0002", "2026-03-02T12:00:00", "NO2", 5.0),
        ],
    ),
    LandingFile(
        "air_quality",
        "air_quality",
        "air_quality/2026-03-02/gateway-b-1300.jsonl",
        utc("2026-03-02T13:10:00"),
        "rejected",
        [reading("AQ-0001", "2026-03-02T10:00:00", "PM10", 777.0)],
    ),
    LandingFile(
        "traffic_counts",
        "traffic_counts",
        "traffic_counts/export_2026-03-02.csv",
        utc("2026-03-03T02:00:00"),
        "loaded",
        [
            traffic_count("TC-0001", "2026-03-02T07:00:00", "N", "Personbil", 120, 42.5),  # corrected later
            traffic_count("TC-0001", "2026-03-02T07:00:00", "N", "Lastbil", 10, 38.0),
            traffic_count("TC-0001", "2026-03-02T07:00:00", "N", "Cykel", 30, None),
            traffic_count("TC-0001", "2026-03-02T07:00:00", "S", "Personbil", 80, 45.0),
            traffic_count("TC-0001", "2026-03-02T07:00:00", "S", "MC", 0, None),
            traffic_count("TC-0001", "2026-03-02T08:00:00", "N", "Personbil", 95, 47.0),
            traffic_count("TC-0001", "2026-03-02T08:00:00", "N", "Buss", 6, 35.5),
            traffic_count("TC-0002", "2026-03-02T07:00:00", "Ö", "Personbil", 210, 31.0),
            traffic_count("TC-0002", "2026-03-02T07:00:00", "V", "Cykel", 44, 18.0),
        ],
        first_row_number=2,
    ),
    LandingFile(
        "traffic_counts",
        "traffic_counts",
        "traffic_counts/export_2026-03-02_rättad.csv",
        utc("2026-03-03T09:30:00"),
        "loaded",
        [traffic_count("TC-0001", "2026-03-02T07:00:00", "N", "Personbil", 125, 42.0)],
        first_row_number=2,
    ),
    LandingFile(
        "districts",
        "districts",
        "districts/districts.geojson",
        utc("2026-01-15T08:00:00"),
        "loaded",
        [district_row(name, geometry) for name, geometry in DISTRICT_GEOMETRIES.items()],
    ),
    LandingFile(
        "districts",
        "district_population",
        "districts/population.csv",
        utc("2026-01-15T08:00:01"),
        "loaded",
        [
            {"district": "Södermalm", "year": 2024, "population": 130_100, "households": 74_800},
            {"district": "Södermalm", "year": 2025, "population": 131_200, "households": 75_400},
            {"district": "Norrmalm", "year": 2024, "population": 73_900, "households": 43_100},
            {"district": "Norrmalm", "year": 2025, "population": 74_600, "households": 43_500},
        ],
        first_row_number=2,
    ),
)


def contract_schema(source: str, table: str) -> dict[str, pl.DataType]:
    """The bronze schema of a table: its contract columns in contract order, then lineage."""
    contract = yaml.safe_load((CONTRACTS_DIR / f"{source}.yaml").read_text(encoding="utf-8"))
    columns = contract["tables"][table]["columns"]
    schema = {column["name"]: CONTRACT_TYPES[column["type"]] for column in columns}
    return schema | LINEAGE_SCHEMA


def bronze_frame(landing_file: LandingFile) -> pl.DataFrame:
    """The bronze rows of one landing file, lineage columns filled in as ingestion does."""
    rows = [
        row
        | {
            "_source_file": landing_file.name,
            "_file_sha256": landing_file.sha256,
            "_row_number": landing_file.first_row_number + index,
            "_ingested_at": landing_file.ingested_at,
        }
        for index, row in enumerate(landing_file.rows)
    ]
    return pl.DataFrame(rows, schema=contract_schema(landing_file.source, landing_file.table))


def ledger_line(landing_file: LandingFile) -> dict:
    """The ledger line ingestion appends for a processed file (docs/layout.md)."""
    loaded = len(landing_file.rows) if landing_file.is_loaded else 0
    return {
        "source": landing_file.source,
        "file": landing_file.name,
        "sha256": landing_file.sha256,
        "size_bytes": 100 * len(landing_file.rows),
        "status": landing_file.ledger_status,
        "rows_read": len(landing_file.rows),
        "rows_loaded": loaded,
        "rows_rejected": len(landing_file.rows) - loaded,
        "reason": None if landing_file.is_loaded else "load interrupted",
        "tables": [landing_file.table],
        "ingested_at": landing_file.ingested_at.isoformat(),
        "run_id": "fixture-run",
    }


def write_bronze_fixture(home: Path) -> None:
    """Write the bronze lake and ledger of LANDING_FILES under `home` (a STADSDATA_HOME).

    Every bronze table folder gets its zero-row `_schema.parquet`; each ledger ends with a
    truncated line, as a crash while appending would leave it.
    """
    bronze = home / "lake" / "bronze"
    ledger = home / "lake" / "ledger"
    ledger.mkdir(parents=True, exist_ok=True)
    tables = {(f.source, f.table) for f in LANDING_FILES}
    for source, table in sorted(tables):
        folder = bronze / table
        folder.mkdir(parents=True, exist_ok=True)
        pl.DataFrame(schema=contract_schema(source, table)).write_parquet(folder / "_schema.parquet")
    for landing_file in LANDING_FILES:
        bronze_frame(landing_file).write_parquet(
            bronze / landing_file.table / f"{landing_file.sha256}.parquet"
        )
    for source in sorted({f.source for f in LANDING_FILES}):
        lines = [
            json.dumps(ledger_line(f), ensure_ascii=False)
            for f in sorted(LANDING_FILES, key=lambda f: f.ingested_at)
            if f.source == source and f.ledger_status is not None
        ]
        truncated = '{"source": "' + source + '", "file": "' + source + '/late.csv", "sha'
        (ledger / f"{source}.jsonl").write_text("\n".join([*lines, truncated]), encoding="utf-8")


def run_dbt(
    args: list[str], home: Path, work_dir: Path, project_dir: Path = DBT_PROJECT_DIR
) -> subprocess.CompletedProcess[str]:
    """Run the dbt CLI on `project_dir` against the lake under `home`.

    The warehouse goes to `home/warehouse/stadsdata.duckdb`; dbt's target and log folders go under
    `work_dir`, so a test run leaves nothing in the repository.
    """
    (home / "warehouse").mkdir(parents=True, exist_ok=True)
    env = os.environ | {
        "STADSDATA_HOME": str(home.resolve()),
        "STADSDATA_WAREHOUSE": str((home / "warehouse" / "stadsdata.duckdb").resolve()),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [
        str(DBT),
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)
