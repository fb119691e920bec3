"""What starts runs: the landing-zone sensor and the release schedule."""

from __future__ import annotations

import hashlib
import os

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
    sensor,
)

from ingestion.run import landing_files
from orchestration.home import Home

RUN_JOB = "stadsdata_run"
# Schedules start stopped in development; production turns them on with STADSDATA_SCHEDULES_ON=1.
SCHEDULE_STATUS = (
    DefaultScheduleStatus.RUNNING
    if os.environ.get("STADSDATA_SCHEDULES_ON") == "1"
    else DefaultScheduleStatus.STOPPED
)
RELEASE_JOB = "open_data_release"

# Everything: ingest what landed, build the models, check them, release.
stadsdata_run = define_asset_job(
    RUN_JOB,
    selection=AssetSelection.all(),
    description="Ingest new landing files, build the models, run the checks, publish a release.",
)
# The release on its own: rebuild the models from bronze, check, publish.
open_data_release = define_asset_job(
    RELEASE_JOB,
    selection=AssetSelection.all() - AssetSelection.key_prefixes("bronze"),
    description="Rebuild the models from bronze, check them and publish an open-data release.",
)


def landing_fingerprint(home: Home, sources: list[str]) -> tuple[str, int]:
    """A digest of what waits in the landing zone (names, sizes, times) and its file count."""
    digest, count = hashlib.sha256(), 0
    for source in sources:
        for path in landing_files(home.landing, source):
            stat = path.stat()
            digest.update(f"{path.relative_to(home.landing)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
            count += 1
    return digest.hexdigest(), count


def landing_sensor(sources: list[str]):
    @sensor(
        job_name=RUN_JOB,
        minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING
        if os.environ.get("STADSDATA_SENSORS_ON") == "1"
        else DefaultSensorStatus.STOPPED,
        description="Starts a run when files are added or changed in the landing zone.",
    )
    def landing_zone(context: SensorEvaluationContext):
        fingerprint, count = landing_fingerprint(Home.from_env(), sources)
        if fingerprint == context.cursor:
            return SkipReason(f"no change in the landing zone ({count} files)")
        context.update_cursor(fingerprint)
        if count == 0:
            return SkipReason("the landing zone is empty")
        return RunRequest(run_key=fingerprint, tags={"stadsdata/trigger": "landing_zone"})

    return landing_zone


@schedule(
    job_name=RELEASE_JOB,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/Stockholm",
    default_status=SCHEDULE_STATUS,
    description="Nightly open-data release at 02:00 Stockholm time.",
)
def nightly_release():
    return RunRequest(tags={"stadsdata/trigger": "nightly"})


HOURLY_JOB = "hourly_open_data_release"


def hourly_release(hourly_tables: list[str]):
    """Sensor data out within the hour: ingest the hourly sources, rebuild what they feed
    (their models, checks and the release) five minutes past every hour."""
    job = define_asset_job(
        HOURLY_JOB,
        selection=AssetSelection.assets(*[["bronze", t] for t in hourly_tables]).downstream(),
        description="Ingest the hourly sources and publish what they feed, every hour.",
    )

    @schedule(
        job=job,
        cron_schedule="5 * * * *",
        execution_timezone="Europe/Stockholm",
        default_status=SCHEDULE_STATUS,
        description="Hourly release of the datasets whose sources update hourly.",
    )
    def hourly_open_data_release():
        return RunRequest(tags={"stadsdata/trigger": "hourly"})

    return job, hourly_open_data_release
