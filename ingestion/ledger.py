"""The ingestion ledger: what became of every landing file, in the order it arrived.

One append-only JSON Lines file per source under `lake/ledger/`. A line is written
only after the file's bronze data is in place, so a line saying `loaded` always has
its rows behind it, and bronze rows without a `loaded` line are invisible to staging.
A run that dies before writing the line leaves the file unrecorded, and the next run
does the work again. DuckDB reads the ledger directly (`read_json`); a torn last line
from a crash is skipped by both readers.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATUSES = ("loaded", "rejected", "duplicate")


@dataclass(frozen=True)
class LedgerEntry:
    source: str
    file: str  # relative to landing/
    sha256: str
    size_bytes: int
    status: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    reason: str | None
    ingested_at: str  # ISO 8601, UTC
    run_id: str | None = None
    tables: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown ledger status {self.status}")
        if self.rows_read != self.rows_loaded + self.rows_rejected:
            raise ValueError(
                f"{self.file}: rows_read {self.rows_read} != rows_loaded {self.rows_loaded}"
                f" + rows_rejected {self.rows_rejected}"
            )


class Ledger:
    """The ledger of one source."""

    def __init__(self, ledger_dir: Path, source: str) -> None:
        self.path = ledger_dir / f"{source}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch(exist_ok=True)
        _drop_torn_tail(self.path)
        self._entries = list(read_entries(self.path))
        self._seen = {(e.file, e.sha256) for e in self._entries}
        self._by_hash = {}
        for entry in self._entries:
            if entry.status != "duplicate":
                self._by_hash.setdefault(entry.sha256, entry)

    @property
    def entries(self) -> list[LedgerEntry]:
        return list(self._entries)

    def seen(self, file: str, sha256: str) -> bool:
        """This exact file (name and content) has been processed already."""
        return (file, sha256) in self._seen

    def first_with_hash(self, sha256: str) -> LedgerEntry | None:
        """The entry that took in this content first, under whatever name."""
        return self._by_hash.get(sha256)

    def append(self, entry: LedgerEntry) -> None:
        """Append durably: the line is on disk when this returns."""
        line = json.dumps(asdict(entry), ensure_ascii=False) + "\n"
        with self.path.open("a", encoding="utf-8") as ledger_file:
            ledger_file.write(line)
            ledger_file.flush()
            os.fsync(ledger_file.fileno())
        self._entries.append(entry)
        self._seen.add((entry.file, entry.sha256))
        if entry.status != "duplicate":
            self._by_hash.setdefault(entry.sha256, entry)


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line left half-written by a crash, so the next append starts clean."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as ledger_file:
            ledger_file.truncate(data.rfind(b"\n") + 1)


def read_entries(path: Path):
    """Entries of one ledger file; a torn last line (crash while appending) is skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as ledger_file:
        for line in ledger_file:
            try:
                yield LedgerEntry(**json.loads(line))
            except (json.JSONDecodeError, TypeError, ValueError):
                continue


def all_entries(ledger_dir: Path) -> list[LedgerEntry]:
    """Every source's entries, each source in arrival order."""
    return [e for path in sorted(ledger_dir.glob("*.jsonl")) for e in read_entries(path)]
