"""SHA256SUMS: the release's list of checksums, in the format `sha256sum -c` reads.

A reader verifies a download with one standard command; the release itself verifies
the same file before `latest` moves, so a release that does not check out is never
the one people are pointed to.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

SUMS_FILE = "SHA256SUMS"
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks so large files need little memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_sums(folder: Path, digests: dict[str, str]) -> Path:
    """Write SHA256SUMS for the given {file name: hex digest}, sorted by name."""
    lines = [f"{digests[name]}  {name}\n" for name in sorted(digests)]
    path = folder / SUMS_FILE
    path.write_text("".join(lines), encoding="utf-8", newline="\n")
    return path


def verify_sums(folder: Path) -> list[str]:
    """Problems found checking every file in `folder` against SHA256SUMS; empty if it verifies.

    Files on disk that the list does not name count as problems too, so nothing
    unchecked can ride along in a release.
    """
    sums = folder / SUMS_FILE
    if not sums.is_file():
        return [f"{SUMS_FILE} is missing"]
    problems = []
    listed = set()
    for number, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), start=1):
        match = _LINE.match(line)
        if not match:
            problems.append(f"{SUMS_FILE} line {number} is not '<sha256>  <file>'")
            continue
        expected, name = match.groups()
        listed.add(name)
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is listed but missing")
        elif sha256_of(path) != expected:
            problems.append(f"{name} does not match its checksum")
    on_disk = {p.name for p in folder.iterdir() if p.name != SUMS_FILE}
    problems.extend(f"{name} is not listed in {SUMS_FILE}" for name in sorted(on_disk - listed))
    return problems
