"""Shared builders for tests: a landing zone in a temporary STADSDATA_HOME, and source files.

The ingestion tests write real files into `landing/<source>/`, run the real driver and
read back what it left in the ledger, bronze and the quarantine; these fixtures keep
that short so each test shows only the input it is about and the outcome it pins.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The project is not installed into the venv: make `import ingestion` work under plain pytest.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ingestion.contracts import all_contracts  # noqa: E402
from ingestion.ledger import Ledger, LedgerEntry  # noqa: E402
from ingestion.pseudonyms import KEY_VARIABLE  # noqa: E402
from ingestion.run import LakePaths, ingest_source  # noqa: E402

# Devices the tests treat as registered (the registry itself is tested on its own).
DEVICES = frozenset(
    {"AQ-0012", "AQ-0013", "TR-0101", "TR-0102", "WF-0001", "WF-0002", "SL-0001", "SL-0002"}
    | {"SM-0001", "SM-0002", "WL-01", "WL-02"}
)
TRAFFIC_HEADER = "Mätplats;Datum;Timme;Riktning;Fordonsklass;Antal;Medelhastighet (km/h)"
IOT_HEADER = "device_id,owner,device_type,purpose,lat,lon,installed_at,decommissioned_at,shared_with"
WASTE_HEADER = "container_id,measured_at,fill_level_pct,battery_pct,temperature_c"
SMART_METER_HEADER = "MätarID;Period start;kWh"
CARE_HEADER = "Personnummer;Stadsdelsområde;Besökstid;Insatstyp;Varaktighet (min);Utförd"
LIGHTING_HEADER = ("Armatur-ID", "Datum", "Energi (kWh)", "Brinntid (h)", "Felkod")
# A key of the documented minimum length, and another one; never a real secret.
TEST_PSEUDONYM_KEY = "test-key-not-secret-0123456789abcdef"
OTHER_PSEUDONYM_KEY = "another-test-key-0123456789abcdefgh"


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

    def ingest(
        self,
        source: str,
        registry: set[str] | frozenset[str] | None = DEVICES,
        pseudonym_key: str | None = None,
    ) -> list[LedgerEntry]:
        """Run the real driver over one source; the ledger entries it wrote this time.

        Without `pseudonym_key` the driver reads STADSDATA_PSEUDONYM_KEY, as in production."""
        registry = set(registry) if registry is not None else None
        report = ingest_source(
            all_contracts()[source], self.paths, registry, run_id="test-run", pseudonym_key=pseudonym_key
        )
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


@pytest.fixture
def pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """STADSDATA_PSEUDONYM_KEY set to a test key for one test; the key."""
    monkeypatch.setenv(KEY_VARIABLE, TEST_PSEUDONYM_KEY)
    return TEST_PSEUDONYM_KEY


@pytest.fixture
def no_pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """STADSDATA_PSEUDONYM_KEY unset for one test, whatever the shell running pytest has."""
    monkeypatch.delenv(KEY_VARIABLE, raising=False)


def luhn_completed(first_eleven: str) -> str:
    """`YYYYMMDD-NNN` with its check digit appended: the Luhn sum over YYMMDDNNN.

    Written out here rather than taken from ingestion, so the tests check the rule itself.
    """
    digits = first_eleven.replace("-", "")[2:]
    total = 0
    for position, digit in enumerate(digits):
        product = int(digit) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return f"{first_eleven}{(10 - total % 10) % 10}"


@pytest.fixture(scope="session")
def personnummer() -> Callable[[str], str]:
    """A valid personnummer from its first eleven characters, e.g. `19450312-123`."""
    return luhn_completed


@pytest.fixture(scope="session")
def care_csv() -> Callable[..., str]:
    """A care-system export: header and `;`-joined rows, CRLF like the exporter."""

    def build(*rows: str, newline: str = "\r\n") -> str:
        return newline.join([CARE_HEADER, *rows]) + newline

    return build


@pytest.fixture(scope="session")
def care_row() -> Callable[..., str]:
    """One supervision visit (no line end); keyword arguments replace fields."""

    def build(
        person: str = "19121212-1212",
        district: str = "Bromma",
        visited: str = "2026-03-02 23:30",
        kind: str = "Kamera",
        minutes: str = "4",
        done: str = "Ja",
    ) -> str:
        return ";".join((person, district, visited, kind, minutes, done))

    return build


def _session(**fields) -> dict:
    record = {
        "service_id": "bygglov-ansokan",
        "service_name": "Ansök om bygglov",
        "started_at": "2026-03-02T10:15:00+01:00",
        "completed": True,
        "channel": "web",
        "district": "Bromma",
        "user_ref": "u-83b1c0ffee",
    }
    return record | fields


@pytest.fixture(scope="session")
def eservice_session() -> Callable[..., dict]:
    """One e-service session as the platform exports it; keyword arguments replace fields."""
    return _session


@pytest.fixture(scope="session")
def eservice_json() -> Callable[..., str]:
    """One export document: the sessions (dicts, or any JSON value) as a JSON array."""

    def build(*sessions: object) -> str:
        return json.dumps(list(sessions), ensure_ascii=False, indent=1)

    return build


@pytest.fixture(scope="session")
def waste_csv() -> Callable[..., str]:
    """A fill-level batch from comma-joined rows."""

    def build(*rows: str) -> str:
        return "\n".join([WASTE_HEADER, *rows]) + "\n"

    return build


@pytest.fixture(scope="session")
def smart_meter_csv() -> Callable[..., str]:
    """An hourly-readings export from `;`-joined rows, CRLF."""

    def build(*rows: str) -> str:
        return "\r\n".join([SMART_METER_HEADER, *rows]) + "\r\n"

    return build


Cell = str | float | int | date | datetime | None


def workbook(*sheets: list[list[Cell]], errors: dict[tuple[int, int], str] | None = None) -> bytes:
    """An .xlsx with one sheet per list of rows (row 1 first). Dates become date cells;
    `errors` puts a formula error (e.g. `#DIV/0!`) at (row, column), both 0-based."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    date_cell = book.add_format({"num_format": "yyyy-mm-dd"})
    for number, rows in enumerate(sheets, start=1):
        sheet = book.add_worksheet(f"Blad{number}")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, (date, datetime)):
                    sheet.write_datetime(r, c, value, date_cell)
                elif value is not None:
                    sheet.write(r, c, value)
        for (r, c), error in (errors or {}).items() if number == 1 else ():
            sheet.write_formula(r, c, "=1/0" if error == "#DIV/0!" else "=NA()", None, error)
    book.close()
    return buffer.getvalue()


@pytest.fixture(scope="session")
def lighting_xlsx() -> Callable[..., bytes]:
    """A lighting export: the header row, then the rows given, on the first sheet."""

    def build(*rows: list[Cell], errors: dict[tuple[int, int], str] | None = None) -> bytes:
        return workbook([list(LIGHTING_HEADER), *rows], errors=errors)

    return build
