"""What a source generator hands back: landing files in memory, with what they hold.

Files are built in memory first so that a generation either writes a whole landing zone
or, when it would overwrite different bytes, writes nothing at all.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class GeneratedFile:
    """One landing file and what it deliberately holds (for tests and the summary).

    `rows` counts the data rows a reader meets (header and summary lines excluded), the
    deliberately broken ones included; a file that cannot be read at all (`broken` says
    why) counts 0 rows. `duplicate_of` names the file this one is a byte-identical copy of.
    """

    source: str
    path: str  # relative to the landing zone, with "/" separators
    rows: int
    arrived_at: datetime  # when the department dropped it: the file's mtime
    broken_rows: int = 0
    broken: str | None = None
    duplicate_of: str | None = None


@dataclass(frozen=True)
class LandingFile:
    record: GeneratedFile
    data: bytes


def gzip_bytes(data: bytes) -> bytes:
    """Gzip without a timestamp or file name in the header, so equal input gives equal bytes."""
    return gzip.compress(data, compresslevel=6, mtime=0)
