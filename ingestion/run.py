"""Ingest one source's landing folder: every new file ends loaded, rejected or duplicate.

This is the one place a landing file's fate is decided, in this order: a file seen
before (same name, same bytes) is skipped; the same bytes under another name are a
`duplicate`; a file that cannot be read is quarantined whole; otherwise its good rows
go to bronze and its bad rows to the quarantine, and only then is the ledger line
written.

A source with pseudonymised columns (personal identifiers) is taken in only with the
pseudonym key; without it `ingest_source` raises `MissingPseudonymKey` before touching
anything, so its files wait, unrecorded, for a run that has the key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ingestion import lake
from ingestion.columns import apply_contract
from ingestion.contracts import Contract, Table
from ingestion.formats import UnreadableFile, read_raw
from ingestion.ledger import Ledger, LedgerEntry, read_entries
from ingestion.pseudonyms import MissingPseudonymKey, checked_key, key_from_environment, pseudonymise
from ingestion.sources import SOURCE_MODULES

IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload")
__all__ = [  # MissingPseudonymKey is raised from here, so callers may import it from here
    "IngestionReport",
    "LakePaths",
    "MissingPseudonymKey",
    "check_rows",
    "device_registry",
    "ingest_file",
    "ingest_source",
    "landing_files",
    "sha256_of",
]


@dataclass(frozen=True)
class LakePaths:
    """The folders ingestion reads and writes, all under STADSDATA_HOME."""

    landing: Path
    bronze: Path
    ledger: Path
    quarantine: Path

    @classmethod
    def under(cls, home: Path) -> LakePaths:
        return cls(
            landing=home / "landing",
            bronze=home / "lake" / "bronze",
            ledger=home / "lake" / "ledger",
            quarantine=home / "quarantine",
        )


@dataclass
class IngestionReport:
    source: str
    entries: list[LedgerEntry] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e.status == status)

    @property
    def rows_loaded(self) -> int:
        return sum(e.rows_loaded for e in self.entries)

    @property
    def rows_rejected(self) -> int:
        return sum(e.rows_rejected for e in self.entries)


def landing_files(landing: Path, source: str) -> list[Path]:
    """Files waiting in a source's folder, oldest first.

    Hidden files and the suffixes of unfinished uploads are left for a later run:
    senders write under such a name and rename when done.
    """
    folder = landing / source
    if not folder.is_dir():
        return []
    files = [
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and not p.name.endswith(IGNORED_SUFFIXES)
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.as_posix()))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as landing_file:
        for block in iter(lambda: landing_file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def check_rows(
    contract: Contract,
    table: Table,
    raw: pl.DataFrame,
    registry: set[str] | None,
    pseudonym_key: str | None = None,
) -> pl.DataFrame:
    """Typed rows with `_reject` set to the first reason a row breaks the contract.

    Identifiers the contract pseudonymises leave here as pseudonyms only.
    """
    module = SOURCE_MODULES.get(contract.source)
    derived = module.derived(table) if module and hasattr(module, "derived") else None
    keys = getattr(module, "OCCURRENCE_KEYS", None)
    rows = apply_contract(raw, table, derived, keys)
    checks = [pl.col("_reject"), *(module.checks(table) if hasattr(module, "checks") else [])]
    key = contract.device_key
    if key and registry is not None:
        unknown = pl.col(key).is_not_null() & ~pl.col(key).is_in(sorted(registry))
        message = (
            pl.lit(f"{key}: not in the device registry")
            if table.pii
            else pl.format("{}: {} is not in the device registry", pl.lit(key), pl.col(key))
        )
        checks.append(pl.when(unknown).then(message))
    if len(checks) > 1:
        rows = rows.with_columns(pl.coalesce(checks).alias("_reject"))
    if table.pseudonymised:
        secret = checked_key(pseudonym_key, contract.source)
        rows = rows.with_columns(pseudonymise(pl.col(c.name), secret) for c in table.pseudonymised)
    return rows


def _load_file(
    contract: Contract,
    table: Table,
    paths: LakePaths,
    path: Path,
    file: str,
    sha256: str,
    registry: set[str] | None,
    ingested_at: datetime,
    pseudonym_key: str | None,
) -> tuple[int, int, int]:
    """Bronze and quarantine for one readable file; returns rows read, loaded, rejected."""
    raw = read_raw(path.read_bytes(), path.name, table)
    rows = check_rows(contract, table, raw.rows, registry, pseudonym_key)
    lineage = [
        pl.lit(file).alias("_source_file"),
        pl.lit(sha256).alias("_file_sha256"),
        pl.lit(ingested_at).cast(pl.Datetime("us", "UTC")).alias("_ingested_at"),
    ]
    accepted = rows.filter(pl.col("_reject").is_null()).with_columns(lineage)
    rejected = (
        pl.concat(
            [
                rows.filter(pl.col("_reject").is_not_null()).select(
                    "_row_number", pl.col("_raw").alias("raw"), pl.col("_reject").alias("reason")
                ),
                raw.rejected.rename({"_raw": "raw"}),
            ]
        )
        .with_columns(lineage[:2])
        .sort("_row_number")
    )
    lake.write_bronze(paths.bronze, table, sha256, accepted)
    if rejected.height:
        lake.quarantine_rows(paths.quarantine, contract.source, sha256, rejected)
    return raw.rows_read, accepted.height, rejected.height


def ingest_file(
    contract: Contract,
    paths: LakePaths,
    ledger: Ledger,
    path: Path,
    registry: set[str] | None,
    run_id: str | None,
    pseudonym_key: str | None = None,
) -> LedgerEntry | None:
    """Decide one file's fate and record it; None when it was processed before."""
    file = path.relative_to(paths.landing).as_posix()
    sha256 = sha256_of(path)
    if ledger.seen(file, sha256):
        return None
    ingested_at = _now()
    entry = dict(
        source=contract.source,
        file=file,
        sha256=sha256,
        size_bytes=path.stat().st_size,
        ingested_at=ingested_at.isoformat(),
        run_id=run_id,
    )
    first = ledger.first_with_hash(sha256)
    if first is not None:
        result = LedgerEntry(
            **entry,
            status="duplicate",
            rows_read=0,
            rows_loaded=0,
            rows_rejected=0,
            reason=f"same content as {first.file} ({first.status})",
        )
        ledger.append(result)
        return result
    table = contract.table_for(path.name)
    try:
        if table is None:
            raise UnreadableFile(
                "file name matches none of the source's patterns "
                f"({', '.join(p for t in contract.tables for p in t.patterns)})"
            )
        read, loaded, rejected = _load_file(
            contract, table, paths, path, file, sha256, registry, ingested_at, pseudonym_key
        )
    except UnreadableFile as error:
        return _reject_file(contract, paths, ledger, path, entry, str(error))
    except (pl.exceptions.PolarsError, ValueError, OSError) as error:
        # The error's text may quote a value; for personal data the ledger must not.
        detail = "" if contract.pii else f": {error}"
        reason = f"could not be read ({type(error).__name__}){detail}"
        return _reject_file(contract, paths, ledger, path, entry, reason)
    result = LedgerEntry(
        **entry,
        status="loaded",
        rows_read=read,
        rows_loaded=loaded,
        rows_rejected=rejected,
        reason=f"{rejected} rows rejected" if rejected else None,
        tables=[table.name],
    )
    ledger.append(result)
    return result


def _reject_file(contract, paths, ledger, path, entry, reason) -> LedgerEntry:
    lake.quarantine_file(paths.quarantine, contract.source, entry["file"], entry["sha256"], path, reason)
    result = LedgerEntry(
        **entry, status="rejected", rows_read=0, rows_loaded=0, rows_rejected=0, reason=reason
    )
    ledger.append(result)
    return result


def ingest_source(
    contract: Contract,
    paths: LakePaths,
    registry: set[str] | None = None,
    run_id: str | None = None,
    files: Iterable[Path] | None = None,
    pseudonym_key: str | None = None,
) -> IngestionReport:
    """Take in every new file of one source; safe to run again at any time.

    A source with pseudonymised columns needs the key: `pseudonym_key`, else
    STADSDATA_PSEUDONYM_KEY. Without a usable one, and with files waiting, this raises
    MissingPseudonymKey before any file is read or recorded, so the caller can report it
    and go on; the files wait for a run with the key. Only the empty schema files are
    written, so that models reading the source still find its tables.
    """
    for table in contract.tables:
        lake.ensure_schema_file(paths.bronze, table)
    waiting = list(files) if files is not None else landing_files(paths.landing, contract.source)
    if contract.pseudonymised:
        try:
            pseudonym_key = (
                key_from_environment(contract.source)
                if pseudonym_key is None
                else checked_key(pseudonym_key, contract.source)
            )
        except MissingPseudonymKey:
            if _any_new(paths, contract.source, waiting):
                raise
            return IngestionReport(contract.source)  # nothing to take in: no key needed
    ledger = Ledger(paths.ledger, contract.source)
    report = IngestionReport(contract.source)
    for path in waiting:
        entry = ingest_file(contract, paths, ledger, path, registry, run_id, pseudonym_key)
        if entry is not None:
            report.entries.append(entry)
    return report


def _any_new(paths: LakePaths, source: str, files: list[Path]) -> bool:
    """Some file (name and content) is not in the source's ledger; reads without writing."""
    seen = {(e.file, e.sha256) for e in read_entries(paths.ledger / f"{source}.jsonl")}
    return any((p.relative_to(paths.landing).as_posix(), sha256_of(p)) not in seen for p in files)


def device_registry(paths: LakePaths) -> set[str]:
    """Every device id any loaded registry file has named (its history stays valid)."""
    folder = paths.bronze / "iot_devices"
    loaded = {e.sha256 for e in Ledger(paths.ledger, "iot_devices").entries if e.status == "loaded"}
    files = [folder / f"{sha}.parquet" for sha in sorted(loaded) if (folder / f"{sha}.parquet").exists()]
    if not files:
        return set()
    return set(pl.scan_parquet(files).select("device_id").unique().collect()["device_id"].to_list())
