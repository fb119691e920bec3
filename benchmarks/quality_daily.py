"""Benchmark: the daily bronze quality check costs the same after a year as after a day.

A city-scale day of air-quality readings (1,000 devices, one reading per pollutant every
5 minutes: 1.15 million rows) lands as 24 hourly files. The bronze check reads only the
files whose ledger line carries this run's id (`quality.scope`), so history should not
matter: this writes a ledger with one day of earlier files and one with a year of them
(8,760 hourly files; their bronze files are not written, since the check must never open
them), then times finding the run's files, reading them and validating them with the
real `air_quality` suite. It prints both times and their ratio (the target is about 1).

    python benchmarks/quality_daily.py [--devices 1000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingestion.ledger import Ledger, LedgerEntry  # noqa: E402
from quality.scope import new_bronze_files, read_bronze  # noqa: E402
from quality.suites import load_suite  # noqa: E402
from quality.validation import validate  # noqa: E402

POLLUTANTS = ("NO2", "PM10", "PM2_5", "O3")
DAY = datetime(2026, 3, 2, tzinfo=UTC)
RUN_ID = "run-today"


def hour_of_readings(devices: int, hour: datetime, sha: str) -> pl.DataFrame:
    """One hourly bronze file: every device, every pollutant, every 5 minutes."""
    times = [hour + timedelta(minutes=5 * step) for step in range(12)]
    frame = pl.DataFrame({"device_id": [f"AQ-{d:04d}" for d in range(devices)]})
    frame = frame.join(pl.DataFrame({"pollutant": list(POLLUTANTS)}), how="cross")
    frame = frame.join(pl.DataFrame({"observed_at": times}), how="cross")
    return frame.with_columns(
        pl.col("observed_at").cast(pl.Datetime("us", "UTC")),
        (10.0 + (pl.int_range(pl.len()) % 50)).cast(pl.Float64).alias("value"),
        pl.lit(sha).alias("_file_sha256"),
    )


def entry(sha: str, run_id: str, rows: int) -> LedgerEntry:
    return LedgerEntry(
        source="air_quality",
        file=f"air_quality/{sha}.jsonl",
        sha256=sha,
        size_bytes=rows * 60,
        status="loaded",
        rows_read=rows,
        rows_loaded=rows,
        rows_rejected=0,
        reason=None,
        ingested_at=DAY.isoformat(),
        run_id=run_id,
        tables=["air_quality"],
    )


def build_lake(root: Path, devices: int, history_files: int) -> tuple[Path, Path]:
    """A ledger with `history_files` earlier files, then today's 24 files (written)."""
    bronze, ledger_dir = root / "bronze", root / "ledger"
    (bronze / "air_quality").mkdir(parents=True)
    ledger = Ledger(ledger_dir, "air_quality")
    rows_per_file = devices * len(POLLUTANTS) * 12
    lines = [entry(f"old{n:06d}", f"run-{n}", rows_per_file) for n in range(history_files)]
    with ledger.path.open("a", encoding="utf-8") as handle:  # bulk: one fsync is enough here
        handle.writelines(json.dumps(dataclasses.asdict(e)) + "\n" for e in lines)
    for hour in range(24):
        sha = f"today{hour:02d}"
        frame = hour_of_readings(devices, DAY + timedelta(hours=hour), sha)
        if hour == 0:
            frame.head(0).write_parquet(bronze / "air_quality" / "_schema.parquet")
        frame.write_parquet(bronze / "air_quality" / f"{sha}.parquet")
        ledger.append(entry(sha, RUN_ID, frame.height))
    return bronze, ledger_dir


def daily_check(bronze: Path, ledger_dir: Path, devices: int) -> tuple[float, int, bool]:
    started = time.perf_counter()
    files = new_bronze_files(bronze, ledger_dir, "air_quality", RUN_ID)
    data = read_bronze(bronze, "air_quality", files)
    parameters = {
        "registered_devices": [f"AQ-{d:04d}" for d in range(devices)],
        "fresh_after_utc": DAY,
    }
    result = validate(load_suite("air_quality"), data, now=DAY + timedelta(days=1), parameters=parameters)
    return time.perf_counter() - started, result.rows, result.blocking_failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    validate(load_suite("air_quality"), hour_of_readings(2, DAY, "warm").head(1))  # import GE once
    times = {}
    for label, history in (("a day", 24), ("a year", 365 * 24)):
        with tempfile.TemporaryDirectory() as folder:
            bronze, ledger_dir = build_lake(Path(folder), args.devices, history)
            runs = [daily_check(bronze, ledger_dir, args.devices) for _ in range(args.repeat)]
        seconds = min(run[0] for run in runs)
        times[label] = seconds
        rows, blocked = runs[0][1], runs[0][2]
        print(
            f"history {label:7} ({history:5} earlier files): {rows} rows checked in {seconds:.1f} s"
            f" (blocking failure: {blocked})"
        )
    print(f"ratio year/day: {times['a year'] / times['a day']:.2f} (target about 1)")


if __name__ == "__main__":
    main()
