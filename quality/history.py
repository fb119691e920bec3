"""Validation history: every expectation of every suite run, one JSON line each.

The history is a single JSON Lines file so that an analyst can ask DuckDB
`select * from read_json('<dir>/validations.jsonl')` how a dataset's quality developed.
An append is all or nothing: the lines of one suite run are written with one `write`
under an exclusive lock, and a write that fails half-way is cut back off. A line left
torn by a crash (no final newline) is cut off before the next append, so the file
always holds whole runs only.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from quality.validation import SuiteResult

try:
    import fcntl
except ImportError:  # Windows: appends from one process at a time only
    fcntl = None

HISTORY_FILE = "validations.jsonl"
log = logging.getLogger(__name__)


def history_path(directory: str | Path) -> Path:
    """Where the history of `directory` lives (the file may not exist yet)."""
    return Path(directory) / HISTORY_FILE


def append_history(directory: str | Path, result: SuiteResult) -> Path:
    """Append one line per expectation of `result`; returns the history file."""
    path = history_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = "".join(
        json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in result.to_record()
    ).encode("utf-8")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        size = _cut_torn_line(fd, path)
        try:
            _write_all(fd, payload)
            os.fsync(fd)
        except BaseException:
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)  # closing releases the lock
    return path


def _cut_torn_line(fd: int, path: Path) -> int:
    """Drop an unfinished last line (a crash mid-append); returns the file's size."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    end = size
    while end > 0:
        start = max(0, end - 65536)
        chunk = os.pread(fd, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    log.warning("%s: cutting off a torn last line of %d bytes", path, size - end)
    os.ftruncate(fd, end)
    return end


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]
