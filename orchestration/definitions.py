"""The one Definitions object: `dagster dev`, the `stadsdata` CLI and the tests all load this."""

from __future__ import annotations

from dagster import Definitions

from ingestion.contracts import all_contracts
from orchestration.analyst_access import analyst_snapshots
from orchestration.automation import (
    hourly_release,
    landing_sensor,
    nightly_release,
    open_data_release,
    stadsdata_run,
)
from orchestration.dbt_assets import dbt_models, dbt_resource
from orchestration.freshness import freshness_checks, hourly_freshness, source_freshness
from orchestration.home import Home
from orchestration.ingestion_assets import ingestion_assets
from orchestration.quality_checks import quality_checks
from orchestration.release_assets import release_open_data
from orchestration.resources import StadsdataHome

HOURLY_TABLES = [
    table.name
    for contract in all_contracts().values()
    if contract.update_frequency == "hourly"
    for table in contract.tables
]
hourly_job, hourly_schedule = hourly_release(HOURLY_TABLES)

defs = Definitions(
    assets=[*ingestion_assets, dbt_models, release_open_data, analyst_snapshots],
    asset_checks=[*quality_checks, *freshness_checks],
    jobs=[stadsdata_run, open_data_release, hourly_job, source_freshness],
    schedules=[nightly_release, hourly_schedule, hourly_freshness],
    sensors=[landing_sensor(sorted(all_contracts()))],
    resources={
        "stadsdata": StadsdataHome(path=str(Home.from_env().root)),
        "dbt": dbt_resource(),
    },
)
