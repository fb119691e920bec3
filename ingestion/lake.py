"""Where ingested rows go: bronze Parquet for what was read, the quarantine for the rest.

Every write goes to a temporary name in the same folder and is renamed into place, so
a reader (or a run killed half-way) never sees half a file.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import polars as pl

from ingestion.columns import POLARS_TYPES
from ingestion.contracts import Table

LINEAGE_SCHEMA = {
    "_source_file": pl.String,
    "_file_sha256": pl.String,
    "_row_number": pl.Int64,
    "_ingested_at": pl.Datetime("us", "UTC"),
}
QUARANTINE_ROW_SCHEMA = {
    "_source_file": pl.String,
    "_file_sha256": pl.String,
    "_row_number": pl.Int64,
    "raw": pl.String,
    "reason": pl.String,
}


def bronze_schema(table: Table) -> dict[str, pl.DataType]:
    return {c.name: POLARS_TYPES[c.type] for c in table.columns} | LINEAGE_SCHEMA


def _replace_atomically(write, path: Path) -> None:
    """Call `write(temporary_path)`, fsync, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    _replace_atomically(lambda p: frame.write_parquet(p, compression="zstd", statistics=True), path)


def ensure_schema_file(bronze_root: Path, table: Table) -> Path:
    """An empty Parquet file with the table's schema, so globs never match nothing."""
    path = bronze_root / table.name / "_schema.parquet"
    expected = pl.DataFrame(schema=bronze_schema(table))
    if not path.exists() or pl.read_parquet_schema(path) != expected.schema:
        write_parquet(expected, path)
    return path


def write_bronze(bronze_root: Path, table: Table, sha256: str, rows: pl.DataFrame) -> Path:
    """One immutable file per landing file, named by its content hash."""
    path = bronze_root / table.name / f"{sha256}.parquet"
    write_parquet(rows.select(list(bronze_schema(table))).cast(bronze_schema(table)), path)
    return path


def _private_dir(path: Path) -> Path:
    """Quarantine folders hold raw input, personal data included: owner-only access."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def quarantine_root(quarantine: Path, source: str) -> Path:
    _private_dir(quarantine)
    return _private_dir(quarantine / source)


def quarantine_file(
    quarantine: Path, source: str, file: str, sha256: str, landing_path: Path, reason: str
) -> Path:
    """Keep the file byte for byte, with its reason beside it."""
    files = _private_dir(quarantine_root(quarantine, source) / "files")
    folder = _private_dir(files / sha256)
    target = folder / landing_path.name
    _replace_atomically(lambda p: shutil.copyfile(landing_path, p), target)
    target.chmod(0o600)
    reason_doc = {"file": file, "sha256": sha256, "reason": reason}
    reason_path = folder / "reason.json"
    _replace_atomically(
        lambda p: p.write_text(json.dumps(reason_doc, ensure_ascii=False, indent=2) + "\n"),
        reason_path,
    )
    reason_path.chmod(0o600)
    return target


def quarantine_rows(quarantine: Path, source: str, sha256: str, rows: pl.DataFrame) -> Path:
    """Rejected rows of one file, as they stood in it, each with its reason."""
    folder = _private_dir(quarantine_root(quarantine, source) / "rows")
    path = folder / f"{sha256}.parquet"
    write_parquet(rows.select(list(QUARANTINE_ROW_SCHEMA)).cast(QUARANTINE_ROW_SCHEMA), path)
    path.chmod(0o600)
    return path
