"""Is each source still sending? One freshness check per bronze asset.

A source contract promises an `update_frequency`. The check `<source>_freshness` compares
that promise with what the platform actually received: the newest file the ledger records
as loaded for the table (its `ingested_at`), and the newest observation in that data (read
from the Parquet footers of the latest files, so no data is scanned). When either is older
than the frequency allows plus a grace period, the check fails with severity WARN (it
never blocks a run: late data is a reason to tell the owner, not to stop publishing what
is there) and the owner is notified once per late episode.

The checks run with every `stadsdata_run`, and on their own every hour through the job
`source_freshness` and its schedule, because a source that stopped sending starts no run.
"""

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetSelection,
    MetadataValue,
    RunRequest,
    asset_check,
    define_asset_job,
    schedule,
)

from ingestion.contracts import Contract, Table, all_contracts
from ingestion.ledger import read_entries
from ingestion.run import LakePaths
from orchestration.automation import SCHEDULE_STATUS
from orchestration.ingestion_assets import bronze_key
from orchestration.notifications import WEBHOOK_ENV, notify
from orchestration.resources import StadsdataHome

# update_frequency -> (how often a delivery is due, how late it may be before anyone is told)
ALLOWANCE: dict[str, tuple[timedelta, timedelta]] = {
    "hourly": (timedelta(hours=1), timedelta(hours=2)),
    "daily": (timedelta(days=1), timedelta(hours=6)),
    "weekly": (timedelta(weeks=1), timedelta(days=1)),
    "monthly": (timedelta(days=31), timedelta(days=3)),
    "annual": (timedelta(days=366), timedelta(days=30)),
}
# Observations are read from the footers of this many of the latest loaded files: the
# newest reading is in the latest deliveries, and footers cost a few kilobytes each.
RECENT_FILES = 24
FRESHNESS_JOB = "source_freshness"


@dataclass(frozen=True)
class Freshness:
    """What one bronze table last received, judged against its contract at `checked_at`."""

    source: str
    table: str
    owner: str
    update_frequency: str
    checked_at: datetime
    last_file: str | None
    last_received: datetime | None
    newest_observation: datetime | None

    @property
    def interval(self) -> timedelta:
        return ALLOWANCE[self.update_frequency][0]

    @property
    def allowed_age(self) -> timedelta:
        """How old the newest delivery may be: one interval plus the grace period."""
        interval, grace = ALLOWANCE[self.update_frequency]
        return interval + grace

    @property
    def overdue_by(self) -> timedelta | None:
        """How far past its allowance the table is (zero when fresh); None when nothing
        was ever received, because then there is nothing to measure from.

        A delivery describes the period before it arrives, so the newest observation may
        be one interval older than the delivery itself.
        """
        if self.last_received is None:
            return None
        late = [self.checked_at - self.last_received - self.allowed_age]
        if self.newest_observation is not None:
            late.append(self.checked_at - self.newest_observation - self.allowed_age - self.interval)
        return max(max(late), timedelta(0))

    @property
    def fresh(self) -> bool:
        return self.overdue_by == timedelta(0)

    def summary(self) -> str:
        if self.last_received is None:
            return f"{self.source}: nothing received yet for {self.table} ({self.update_frequency} source)"
        if self.fresh:
            return f"{self.source}: {self.table} is fresh (last file {self.last_file})"
        return (
            f"{self.source}: {self.table} is overdue by {iso_duration(self.overdue_by)} "
            f"({self.update_frequency} source, owner {self.owner}, last file {self.last_file})"
        )

    def message(self) -> dict[str, Any]:
        """The notification: who owns the late data and what came last."""
        return {
            "source": self.source,
            "table": self.table,
            "owner": self.owner,
            "update_frequency": self.update_frequency,
            "last_file": self.last_file,
            "last_received": _iso(self.last_received),
            "newest_observation": _iso(self.newest_observation),
            "overdue_by": iso_duration(self.overdue_by) if self.overdue_by is not None else None,
            "checked_at": _iso(self.checked_at),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def iso_duration(span: timedelta) -> str:
    """An ISO 8601 duration such as P1DT2H5M, to the second."""
    seconds = int(span.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    if not days and not clock:
        return "PT0S"
    return "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")


def observation_column(table: Table) -> str | None:
    """The time a reading describes: a timestamp column among the table's keys."""
    for name in table.keys:
        if table.column(name).type == "timestamp":
            return name
    return None


def newest_observation(bronze_files: list[Path], column: str) -> datetime | None:
    """The largest value of `column` according to the files' Parquet statistics. A file
    that is gone or unreadable is passed over: the check warns, it must not fail the run."""
    newest = None
    for path in bronze_files:
        try:
            metadata = pq.read_metadata(path)
        except (OSError, ValueError):
            continue
        if column not in metadata.schema.names:
            continue
        index = metadata.schema.names.index(column)
        for group in range(metadata.num_row_groups):
            stats = metadata.row_group(group).column(index).statistics
            if stats is not None and stats.has_min_max and isinstance(stats.max, datetime):
                value = stats.max if stats.max.tzinfo else stats.max.replace(tzinfo=UTC)
                newest = value if newest is None else max(newest, value)
    return newest


def assess(contract: Contract, table: Table, lake: LakePaths, now: datetime) -> Freshness:
    """How fresh one bronze table is at `now`. Only `loaded` files count: a rejected or
    duplicate delivery brings no new data. The ledger is only read (never `Ledger`, which
    repairs a torn tail and could cut a line an ingestion is writing at that moment)."""
    loaded = [
        e
        for e in read_entries(lake.ledger / f"{contract.source}.jsonl")
        if e.status == "loaded" and table.name in e.tables
    ]
    loaded.sort(key=lambda e: e.ingested_at)
    last = loaded[-1] if loaded else None
    column = observation_column(table)
    recent = [lake.bronze / table.name / f"{e.sha256}.parquet" for e in loaded[-RECENT_FILES:]]
    return Freshness(
        source=contract.source,
        table=table.name,
        owner=contract.owner,
        update_frequency=contract.update_frequency,
        checked_at=now,
        last_file=last.file if last else None,
        last_received=datetime.fromisoformat(last.ingested_at) if last else None,
        newest_observation=newest_observation(recent, column) if column else None,
    )


def notify_once(state: Freshness, record_dir: Path, logger: Any) -> str:
    """Notify about a late table once per late episode (one last delivery), not at every
    check: the check itself stays failed in the UI for as long as the data is late.

    A message that only reached the log because the webhook failed is sent again next time.
    Two runs checking at the same moment may both send it: a rare second notice is better
    than a lost one.
    """
    record = record_dir / f"{state.table}.json"
    episode = {"last_file": state.last_file, "last_received": _iso(state.last_received)}
    if _recorded_episode(record) == episode:
        return "already notified"
    via = notify(state.message(), logger)
    if via == "webhook" or not os.environ.get(WEBHOOK_ENV, "").strip():
        record_dir.mkdir(parents=True, exist_ok=True)
        temporary = record.with_name(f".{record.name}.{os.getpid()}")
        temporary.write_text(json.dumps({"episode": episode, "via": via}), encoding="utf-8")
        temporary.replace(record)  # whole or not at all, also with another run beside us
    return via


def _recorded_episode(record: Path) -> dict | None:
    try:
        return json.loads(record.read_text(encoding="utf-8")).get("episode")
    except (OSError, ValueError, AttributeError):  # none yet, or unreadable: notify again
        return None


def freshness_metadata(state: Freshness, notified: str) -> dict[str, Any]:
    def moment(value: datetime | None):
        return MetadataValue.timestamp(value) if value else MetadataValue.text("never")

    return {
        "owner": state.owner,
        "update_frequency": state.update_frequency,
        "allowed_age": iso_duration(state.allowed_age),
        "last_file": MetadataValue.text(state.last_file or "none"),
        "last_received": moment(state.last_received),
        "newest_observation": moment(state.newest_observation),
        "overdue_by": iso_duration(state.overdue_by) if state.overdue_by is not None else "unknown",
        "notified": notified,
    }


def freshness_check(contract: Contract, table: Table) -> AssetChecksDefinition:
    interval, grace = ALLOWANCE[contract.update_frequency]

    @asset_check(
        asset=bronze_key(table.name),
        name=f"{contract.source}_freshness",
        blocking=False,
        description=(
            f"{contract.title}: a {contract.update_frequency} source; warns {contract.owner} when the "
            f"newest delivery is older than {iso_duration(interval + grace)}."
        ),
        metadata={"owner": contract.owner, "update_frequency": contract.update_frequency},
    )
    def _check(context: AssetCheckExecutionContext, stadsdata: StadsdataHome) -> AssetCheckResult:
        home = stadsdata.home
        state = assess(contract, table, home.lake, datetime.now(UTC))
        notified = (
            "-" if state.fresh else notify_once(state, home.root / "notifications" / "freshness", context.log)
        )
        return AssetCheckResult(
            passed=state.fresh,
            severity=AssetCheckSeverity.WARN,
            description=state.summary(),
            metadata=freshness_metadata(state, notified),
        )

    return _check


freshness_checks = [freshness_check(c, t) for c in all_contracts().values() for t in c.tables]

source_freshness = define_asset_job(
    FRESHNESS_JOB,
    selection=AssetSelection.checks(*freshness_checks),
    description="Check every source's freshness against its contract; notify owners of late data.",
)


@schedule(
    job_name=FRESHNESS_JOB,
    cron_schedule="15 * * * *",
    execution_timezone="Europe/Stockholm",
    default_status=SCHEDULE_STATUS,
    description="Hourly freshness checks: a source that stopped sending starts no run by itself.",
)
def hourly_freshness():
    return RunRequest(tags={"stadsdata/trigger": "freshness"})
