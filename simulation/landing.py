"""Write a whole demo landing zone: every source's files, deterministic for a seed.

The same arguments give byte-identical files (and the same modification times: each
file's mtime is when its department would have dropped it). A generation writes into
an existing landing zone only where it adds files or finds identical ones; it refuses,
before writing anything, to overwrite a file with different bytes.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from simulation import (
    air_quality,
    care_supervision,
    districts,
    eservice_usage,
    iot_devices,
    smart_meters,
    street_lighting,
    traffic_counts,
    waste_fill_levels,
    water_levels,
)
from simulation.city import LAST_INSTALL, Period, build_city, plan_registry_update
from simulation.landing_files import GeneratedFile, LandingFile

DEFAULT_START = date(2026, 10, 19)  # the default week crosses the DST switch of 2026-10-25
EARLIEST_START = LAST_INSTALL + timedelta(days=1)
SOURCES = (
    "air_quality",
    "care_supervision",
    "districts",
    "eservice_usage",
    "iot_devices",
    "smart_meters",
    "street_lighting",
    "traffic_counts",
    "waste_fill_levels",
    "water_levels",
)


@dataclass(frozen=True)
class GenerationSummary:
    """What was generated, for the CLI's report and for tests."""

    out: Path
    files: tuple[GeneratedFile, ...]

    @property
    def file_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(f.source for f in self.files).items()))

    @property
    def row_counts(self) -> dict[str, int]:
        """Data rows a reader meets per source; unreadable files and duplicates count 0."""
        counts = dict.fromkeys(self.file_counts, 0)
        for file in self.files:
            if file.duplicate_of is None:
                counts[file.source] += file.rows
        return counts

    @property
    def broken_row_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(self.file_counts, 0)
        for file in self.files:
            if file.duplicate_of is None:
                counts[file.source] += file.broken_rows
        return counts

    @property
    def broken_files(self) -> list[str]:
        return [f.path for f in self.files if f.broken]

    @property
    def duplicate_files(self) -> list[str]:
        return [f.path for f in self.files if f.duplicate_of]

    def describe(self) -> str:
        """A few lines for a person: what went where, and what is broken on purpose."""
        lines = [f"landing zone {self.out}"]
        for source, count in self.file_counts.items():
            lines.append(
                f"  {source}: {count} files, {self.row_counts[source]} rows"
                f" ({self.broken_row_counts[source]} broken on purpose)"
            )
        lines += [f"  broken file: {path}" for path in self.broken_files]
        lines += [f"  duplicate file: {path}" for path in self.duplicate_files]
        return "\n".join(lines)


def generate_landing(
    out: Path,
    *,
    days: int = 7,
    scale: float = 1.0,
    seed: int = 42,
    start: date | None = None,
) -> GenerationSummary:
    """Generate `days` local days from `start` into the landing zone `out/<source>/...`."""
    if not isinstance(days, int) or not 1 <= days <= 366:
        raise ValueError(f"days must be a whole number from 1 to 366, not {days!r}")
    if not (isinstance(scale, int | float) and math.isfinite(scale) and 0 < scale <= 100):
        raise ValueError(f"scale must be a number above 0 and at most 100, not {scale!r}")
    start = start or DEFAULT_START
    if start < EARLIEST_START:
        raise ValueError(
            f"start must be on or after {EARLIEST_START} (the simulated city's devices are "
            f"installed up to the end of {EARLIEST_START.year - 1}), not {start}"
        )
    period = Period(start, days)
    city = build_city(int(seed), float(scale))
    update = plan_registry_update(city, period)
    files = (
        air_quality.generate(city, period, update)
        + districts.generate(city, period)
        + iot_devices.generate(city, period, update)
        + traffic_counts.generate(city, period)
        + waste_fill_levels.generate(city, period)
        + street_lighting.generate(city, period)
        + smart_meters.generate(city, period)
        + water_levels.generate(city, period)
        + care_supervision.generate(city, period)
        + eservice_usage.generate(city, period)
    )
    files.sort(key=lambda f: f.record.path)
    write_files(Path(out), files)
    return GenerationSummary(Path(out), tuple(f.record for f in files))


def write_files(out: Path, files: list[LandingFile]) -> None:
    """Check every target first, then write each file under a temporary name and rename it,
    so that a sensor watching the landing zone never sees half a file."""
    conflicts = [
        f.record.path
        for f in files
        if (out / f.record.path).exists() and (out / f.record.path).read_bytes() != f.data
    ]
    if conflicts:
        raise FileExistsError(
            f"{len(conflicts)} files in {out} already exist with different content "
            f"(e.g. {conflicts[0]}); generate into an empty directory"
        )
    for file in files:
        target = out / file.record.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            temporary = target.with_name(f".{target.name}.tmp")
            temporary.write_bytes(file.data)
            os.replace(temporary, target)
        mtime = file.record.arrived_at.timestamp()
        os.utime(target, (mtime, mtime))
