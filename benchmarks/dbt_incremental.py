"""Benchmark: building one new day costs the same after a year of history as after a week.

For each history length (a week, a year) this writes a bronze lake the way ingestion does (one
Parquet file per landing file through `ingestion.lake`, and a ledger line per file): a daily
air-quality file (every device, 4 pollutants, every 10 minutes) and a daily traffic export (every
site, 2 directions, 5 vehicle classes, every hour), a device registry and a district. It builds
the warehouse once (`dbt build`), then lands one new day plus a gateway retransmitting part of a
day 5 days back (late readings), and times `dbt build` of that. It prints both times, their
ratio (the target is about 1), and how long a full refresh of the history takes for comparison.

    python benchmarks/dbt_incremental.py [--devices 10] [--sites 10] [--repeat 1]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingestion.contracts import all_contracts  # noqa: E402
from ingestion.lake import ensure_schema_file, write_bronze  # noqa: E402

DBT_PROJECT = REPO / "dbt_project"
DBT = Path(sys.executable).parent / "dbt"
FIRST_DAY = date(2025, 3, 1)
POLLUTANTS = ("NO2", "PM10", "PM2_5", "O3")
CLASSES = ("Personbil", "Lastbil", "Buss", "MC", "Cykel")
INCREMENTAL_MODELS = ("stg_air_quality", "stg_traffic_counts", "fct_air_quality_hourly", "fct_traffic_hourly")
DISTRICT = {
    "type": "Polygon",
    "coordinates": [[[17.9, 59.2], [18.2, 59.2], [18.2, 59.4], [17.9, 59.4], [17.9, 59.2]]],
}


class Lake:
    """A STADSDATA_HOME whose bronze and ledger are written as ingestion writes them."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.contracts = all_contracts()
        self.bronze = home / "lake" / "bronze"
        self.ledger = home / "lake" / "ledger"
        self.ledger.mkdir(parents=True, exist_ok=True)
        for source in ("air_quality", "traffic_counts", "iot_devices", "districts"):
            for table in self.contracts[source].tables:
                ensure_schema_file(self.bronze, table)

    def land(self, source: str, table_name: str, name: str, rows: pl.DataFrame, at: datetime) -> None:
        """Write one landing file's bronze rows and append its `loaded` ledger line."""
        sha256 = hashlib.sha256(f"{source}/{name}".encode()).hexdigest()
        (table,) = [t for t in self.contracts[source].tables if t.name == table_name]
        lineage = rows.with_columns(
            pl.lit(name).alias("_source_file"),
            pl.lit(sha256).alias("_file_sha256"),
            pl.int_range(1, rows.height + 1, dtype=pl.Int64).alias("_row_number"),
            pl.lit(at).dt.cast_time_unit("us").alias("_ingested_at"),
        )
        write_bronze(self.bronze, table, sha256, lineage)
        line = {
            "source": source,
            "file": name,
            "sha256": sha256,
            "size_bytes": rows.estimated_size(),
            "status": "loaded",
            "rows_read": rows.height,
            "rows_loaded": rows.height,
            "rows_rejected": 0,
            "reason": None,
            "tables": [table_name],
            "ingested_at": at.isoformat(),
            "run_id": "benchmark",
        }
        with (self.ledger / f"{source}.jsonl").open("a", encoding="utf-8") as ledger:
            ledger.write(json.dumps(line) + "\n")


def device_ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{n:04d}" for n in range(1, count + 1)]


def registry(devices: int, sites: int) -> pl.DataFrame:
    ids = device_ids("AQ", devices) + device_ids("TC", sites)
    return pl.DataFrame(
        {
            "device_id": ids,
            "owner": ["miljo"] * devices + ["trafik"] * sites,
            "device_type": ["air_quality_sensor"] * devices + ["traffic_counter"] * sites,
            "purpose": ["luftkvalitet"] * devices + ["trafikflöde"] * sites,
            "lat": [59.30 + 0.001 * n for n in range(len(ids))],
            "lon": [18.00 + 0.001 * n for n in range(len(ids))],
            "installed_at": [date(2020, 1, 1)] * len(ids),
            "decommissioned_at": [None] * len(ids),
            "shared_with": [""] * len(ids),
        },
        schema_overrides={"decommissioned_at": pl.Date},
    )


def air_quality_day(day: date, devices: int, every_minutes: int = 10) -> pl.DataFrame:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    times = pl.datetime_range(
        start, start + timedelta(days=1), f"{every_minutes}m", closed="left", eager=True
    )
    frame = (
        pl.DataFrame({"device_id": device_ids("AQ", devices)})
        .join(pl.DataFrame({"pollutant": POLLUTANTS}), how="cross")
        .join(pl.DataFrame({"observed_at": times}), how="cross")
    )
    value = pl.col("observed_at").dt.hour().cast(pl.Float64) * 1.5 + pl.col("device_id").str.slice(3).cast(
        pl.Float64
    )
    return frame.with_columns(
        value.alias("value"),
        value.alias("value_as_sent"),
        pl.lit("ug/m3").alias("unit_as_sent"),
        pl.lit("ok").alias("status"),
    )


def traffic_day(day: date, sites: int) -> pl.DataFrame:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    hours = pl.datetime_range(start, start + timedelta(days=1), "1h", closed="left", eager=True)
    frame = (
        pl.DataFrame({"site_id": device_ids("TC", sites)})
        .join(pl.DataFrame({"observed_at": hours}), how="cross")
        .join(pl.DataFrame({"direction": ["N", "S"]}), how="cross")
        .join(pl.DataFrame({"vehicle_class": CLASSES}), how="cross")
    )
    local = pl.col("observed_at").dt.convert_time_zone("Europe/Stockholm")
    return frame.with_columns(
        local.dt.date().alias("local_date"),
        local.dt.hour().cast(pl.Int64).alias("local_hour"),
        (pl.col("observed_at").dt.hour().cast(pl.Int64) * 7 + 3).alias("vehicle_count"),
        pl.lit(40.0).alias("mean_speed_kmh"),
    )


def land_day(lake: Lake, day: date, devices: int, sites: int) -> None:
    """One day's files, loaded the next morning."""
    loaded = datetime(day.year, day.month, day.day, 6, tzinfo=UTC) + timedelta(days=1)
    lake.land(
        "air_quality",
        "air_quality",
        f"air_quality/{day}/gateway-a.jsonl",
        air_quality_day(day, devices),
        loaded,
    )
    lake.land(
        "traffic_counts",
        "traffic_counts",
        f"traffic_counts/export_{day}.csv",
        traffic_day(day, sites),
        loaded,
    )


def land_history(lake: Lake, days: int, devices: int, sites: int) -> None:
    at = datetime(2020, 1, 1, tzinfo=UTC)
    lake.land("iot_devices", "iot_devices", "iot_devices/registry.csv", registry(devices, sites), at)
    district = pl.DataFrame(
        {"district": ["Innerstaden"], "geometry": [json.dumps(DISTRICT)]}
        | {"min_lon": [17.9], "min_lat": [59.2], "max_lon": [18.2], "max_lat": [59.4]}
    )
    lake.land("districts", "districts", "districts/districts.geojson", district, at)
    for offset in range(days):
        land_day(lake, FIRST_DAY + timedelta(days=offset), devices, sites)


def land_new_day(lake: Lake, history_days: int, devices: int, sites: int) -> None:
    """The next day, and a gateway retransmitting 6 hours of readings from 5 days back."""
    new_day = FIRST_DAY + timedelta(days=history_days)
    land_day(lake, new_day, devices, sites)
    late_day = new_day - timedelta(days=5)
    late = air_quality_day(late_day, devices).filter(pl.col("observed_at").dt.hour() < 6)
    late = late.with_columns((pl.col("value") + 1).alias("value"))
    loaded = datetime(new_day.year, new_day.month, new_day.day, 7, tzinfo=UTC) + timedelta(days=1)
    lake.land("air_quality", "air_quality", f"air_quality/{late_day}/gateway-a-resend.jsonl", late, loaded)


def dbt(args: list[str], home: Path, work: Path) -> tuple[float, dict[str, float]]:
    """Wall seconds of one dbt command, and the execution seconds of the incremental models."""
    env = os.environ | {
        "STADSDATA_HOME": str(home),
        "STADSDATA_WAREHOUSE": str(home / "warehouse" / "stadsdata.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    (home / "warehouse").mkdir(parents=True, exist_ok=True)
    command = [str(DBT), *args, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)]
    command += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    started = time.perf_counter()
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-2000:]}")
    results = json.loads((work / "target" / "run_results.json").read_text(encoding="utf-8"))
    models = {
        r["unique_id"].split(".")[-1]: r["execution_time"]
        for r in results["results"]
        if r["unique_id"].split(".")[-1] in INCREMENTAL_MODELS
    }
    return seconds, models


def measure(history_days: int, devices: int, sites: int, root: Path) -> dict[str, float]:
    home = root / f"history_{history_days}"
    lake = Lake(home)
    land_history(lake, history_days, devices, sites)
    full_seconds, _ = dbt(["build"], home, root / f"work_{history_days}_full")
    land_new_day(lake, history_days, devices, sites)
    day_seconds, models = dbt(["build"], home, root / f"work_{history_days}_day")
    return {
        "full_build": full_seconds,
        "new_day_build": day_seconds,
        "new_day_models": sum(models.values()),
    } | {f"model {name}": seconds for name, seconds in models.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10, help="air-quality sensors")
    parser.add_argument("--sites", type=int, default=10, help="traffic counting sites")
    parser.add_argument("--repeat", type=int, default=1, help="runs per history length (median)")
    options = parser.parse_args()
    figures: dict[int, dict[str, float]] = {}
    for days in (7, 365):
        runs = []
        for _ in range(options.repeat):
            with tempfile.TemporaryDirectory(prefix="stadsdata-bench-") as root:
                runs.append(measure(days, options.devices, options.sites, Path(root)))
        figures[days] = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    readings_per_day = options.devices * len(POLLUTANTS) * 144
    print(f"{options.devices} sensors ({readings_per_day} readings/day), {options.sites} traffic sites")
    for days, figure in figures.items():
        print(
            f"history {days:3d} days: full build {figure['full_build']:6.1f} s;"
            f" new day: dbt build {figure['new_day_build']:6.1f} s,"
            f" incremental models {figure['new_day_models']:5.2f} s"
        )
        print("  " + ", ".join(f"{k[6:]} {v:.2f} s" for k, v in figure.items() if k.startswith("model ")))
    week, year = figures[7], figures[365]
    print(f"new day, year / week: dbt build {year['new_day_build'] / week['new_day_build']:.2f},")
    print(f"  incremental models {year['new_day_models'] / week['new_day_models']:.2f}")


if __name__ == "__main__":
    main()
