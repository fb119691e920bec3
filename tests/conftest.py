"""Shared builders for tests: a landing zone in a temporary STADSDATA_HOME, and source files.

The ingestion tests write real files into `landing/<source>/`, run the real driver and
read back what it left in the ledger, bronze and the quarantine; these fixtures keep
that short so each test shows only the input it is about and the outcome it pins.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The project is not installed into the venv: make `import ingestion` work under plain pytest.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ingestion.contracts import all_contracts  # noqa: E402
from ingestion.ledger import Ledger, LedgerEntry  # noqa: E402
from ingestion.run import LakePaths, ingest_source  # noqa: E402

# Devices the tests treat as registered (the registry itself is tested on its own).
DEVICES = frozenset({"AQ-0012", "AQ-0013", "TR-0101", "TR-0102"})
TRAFFIC_HEADER = "Mätplats;Datum;Timme;Riktning;Fordonsklass;Antal;Medelhastighet (km/h)"
IOT_HEADER = "device_id,owner,device_type,purpose,lat,lon,installed_at,decommissioned_at,shared_with"


class Landing:
    """A STADSDATA_HOME with a landing zone the tests drop files into, and ways to look inside."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.paths = LakePaths.under(home)
        self._clock = 1_700_000_000  # landing files are taken oldest first: give each its turn

    def write(self, source: str, name: str, content: bytes | str, encoding: str = "utf-8") -> Path:
        """Drop a file into `landing/<source>/`; text is encoded exactly as given (no newline
        translation), so tests control line ends and byte-order marks."""
        data = content.encode(encoding) if isinstance(content, str) else content
        path = self.paths.landing / source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self._clock += 10
        os.utime(path, (self._clock, self._clock))
        return path

    def ingest(self, source: str, registry: set[str] | frozenset[str] | None = DEVICES) -> list[LedgerEntry]:
        """Run the real driver over one source; the ledger entries it wrote this time."""
        registry = set(registry) if registry is not None else None
        report = ingest_source(all_contracts()[source], self.paths, registry, run_id="test-run")
        return report.entries

    def ledger(self, source: str) -> list[LedgerEntry]:
        return Ledger(self.paths.ledger, source).entries

    def bronze_path(self, table: str, sha256: str) -> Path:
        return self.paths.bronze / table / f"{sha256}.parquet"

    def bronze(self, entry: LedgerEntry, table: str | None = None) -> pl.DataFrame:
        """The bronze rows written for a ledger entry's file, in file order."""
        path = self.bronze_path(table or entry.source, entry.sha256)
        return pl.read_parquet(path).sort("_row_number")

    def rows_path(self, entry: LedgerEntry) -> Path:
        return self.paths.quarantine / entry.source / "rows" / f"{entry.sha256}.parquet"

    def rejections(self, entry: LedgerEntry) -> dict[int, str]:
        """Quarantined rows of a file: row number -> reason (empty when none were rejected)."""
        path = self.rows_path(entry)
        if not path.exists():
            return {}
        rows = pl.read_parquet(path)
        return dict(zip(rows["_row_number"].to_list(), rows["reason"].to_list(), strict=True))

    def quarantined_raw(self, entry: LedgerEntry) -> dict[int, str]:
        """Quarantined rows of a file: row number -> the row as it stood in the file."""
        rows = pl.read_parquet(self.rows_path(entry))
        return dict(zip(rows["_row_number"].to_list(), rows["raw"].to_list(), strict=True))

    def quarantine_folder(self, entry: LedgerEntry) -> Path:
        return self.paths.quarantine / entry.source / "files" / entry.sha256

    def quarantined_file(self, entry: LedgerEntry) -> Path:
        return self.quarantine_folder(entry) / Path(entry.file).name

    def outcome(self, entry: LedgerEntry) -> dict:
        """Everything a file's fate left behind, in one comparable value."""
        table = entry.tables[0] if entry.tables else entry.source
        bronze = self.bronze_path(table, entry.sha256)
        return {
            "status": entry.status,
            "rows_read": entry.rows_read,
            "rows_loaded": entry.rows_loaded,
            "rows_rejected": entry.rows_rejected,
            "bronze_rows": pl.read_parquet(bronze).height if bronze.exists() else None,
            "quarantined_rows": len(self.rejections(entry)),
            "file_quarantined": self.quarantined_file(entry).exists(),
        }

    def assert_file_rejected(self, entry: LedgerEntry, original: Path, reason: str) -> None:
        """A whole-file rejection: nothing in bronze, the bytes kept as they came, the reason
        in the ledger and beside the file."""
        assert self.outcome(entry) == {
            "status": "rejected",
            "rows_read": 0,
            "rows_loaded": 0,
            "rows_rejected": 0,
            "bronze_rows": None,
            "quarantined_rows": 0,
            "file_quarantined": True,
        }
        assert reason in entry.reason
        assert self.quarantined_file(entry).read_bytes() == original.read_bytes()
        kept = json.loads((self.quarantine_folder(entry) / "reason.json").read_text("utf-8"))
        assert kept == {"file": entry.file, "sha256": entry.sha256, "reason": entry.reason}


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    """An empty STADSDATA_HOME for one test."""
    return Landing(tmp_path / "home")


@pytest.fixture(scope="session")
def devices() -> frozenset[str]:
    """The device ids `Landing.ingest` treats as registered unless told otherwise."""
    return DEVICES


@pytest.fixture(scope="session")
def landing_at() -> Callable[[Path], Landing]:
    """A Landing at a given folder, for tests (hypothesis) that need a fresh one per example."""
    return Landing


def _air_quality_record(**fields) -> dict:
    record = {
        "device_id": "AQ-0012",
        "observed_at": "2026-03-01T12:00:00+01:00",
        "pollutant": "NO2",
        "value": 23.4,
        "unit": "ug/m3",
        "status": "ok",
    }
    return record | fields


@pytest.fixture(scope="session")
def air_quality_record() -> Callable[..., dict]:
    """One reading as the gateways send it; keyword arguments replace fields."""
    return _air_quality_record


@pytest.fixture(scope="session")
def air_quality_jsonl() -> Callable[..., str]:
    """JSON Lines text of readings (dicts) and raw lines (str, written as they are)."""

    def build(*lines: dict | str) -> str:
        return "".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines)

    return build


@pytest.fixture(scope="session")
def traffic_row() -> Callable[..., str]:
    """One traffic-count line (no line end); keyword arguments replace fields."""

    def build(
        site: str = "TR-0101",
        day: str = "2026-03-02",
        hour: str = "7",
        direction: str = "N",
        vehicle_class: str = "Personbil",
        count: str = "120",
        speed: str = "42,5",
    ) -> str:
        return ";".join((site, day, hour, direction, vehicle_class, count, speed))

    return build


@pytest.fixture(scope="session")
def traffic_csv() -> Callable[..., str]:
    """A traffic export: header, rows, and the closing summary line, CRLF like the exporter."""

    def build(*rows: str, newline: str = "\r\n", summary: bool = True) -> str:
        lines = [TRAFFIC_HEADER, *rows]
        if summary:
            lines.append(f"Summa;;;;;{len(rows)};")
        return newline.join(lines) + newline

    return build


@pytest.fixture(scope="session")
def iot_csv() -> Callable[..., str]:
    """A department's registry export from comma-joined device lines."""

    def build(*rows: str) -> str:
        return "\n".join([IOT_HEADER, *rows]) + "\n"

    return build
