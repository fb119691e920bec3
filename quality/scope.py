"""What a check looks at: for bronze, only the files this run loaded; plus the values
its run-time parameters need (the device registry, the previous validation's rows).

Scoping bronze checks to the run's new files keeps their cost proportional to the new
data, not to the history: a year of readings is not re-validated every five minutes.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from ingestion.ledger import all_entries
from quality.history import history_path

SCHEMA_FILE = "_schema.parquet"
REGISTRY_TABLE = "iot_devices"
# How old the newest row may be, per declared update frequency: one period plus slack.
FRESHNESS = {
    "hourly": timedelta(hours=3),
    "daily": timedelta(days=2),
    "weekly": timedelta(days=8),
    "monthly": timedelta(days=32),
    "annual": timedelta(days=366),
}


def new_bronze_files(bronze_dir: Path, ledger_dir: Path, table: str, run_id: str) -> list[Path]:
    """Bronze files of `table` whose ledger line says this run loaded them."""
    return [
        bronze_dir / table / f"{entry.sha256}.parquet"
        for entry in all_entries(ledger_dir)
        if entry.run_id == run_id and entry.status == "loaded" and table in entry.tables
    ]


def read_bronze(bronze_dir: Path, table: str, files: list[Path]) -> pa.Table:
    """The rows of `files`, or none with the table's schema when the run loaded nothing."""
    paths = [str(path) for path in files] or [str(bronze_dir / table / SCHEMA_FILE)]
    with duckdb.connect() as connection:
        return connection.read_parquet(paths, union_by_name=True).to_arrow_table()


def registered_devices(bronze_dir: Path, ledger_dir: Path) -> list[str]:
    """Device ids in the registry, as loaded so far (the registry is ingested first)."""
    files = [
        bronze_dir / REGISTRY_TABLE / f"{entry.sha256}.parquet"
        for entry in all_entries(ledger_dir)
        if entry.status == "loaded" and REGISTRY_TABLE in entry.tables
    ]
    files = [path for path in files if path.is_file()]
    if not files:
        return []
    with duckdb.connect() as connection:
        rows = connection.execute(
            "select distinct device_id from read_parquet(?) where device_id is not null",
            [[str(path) for path in files]],
        ).fetchall()
    return sorted(row[0] for row in rows)


def previous_rows(history_dir: Path, dataset: str) -> int | None:
    """Rows of the dataset's last validation in the history, None before the first."""
    path = history_path(history_dir)
    if not path.is_file():
        return None
    last = None
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.endswith("\n") and f'"dataset": "{dataset}"' in line:
                last = json.loads(line).get("rows")
    return last


def min_rows(history_dir: Path, dataset: str) -> int:
    """Half the previous validation's rows: a drop of more than 50 % is blocking."""
    previous = previous_rows(history_dir, dataset)
    return 0 if not previous else (previous + 1) // 2


def fresh_after(update_frequency: str | None, now: datetime) -> datetime:
    """The oldest newest-timestamp a dataset may have; an unknown frequency allows a year."""
    return now - FRESHNESS.get(update_frequency or "", FRESHNESS["annual"])
