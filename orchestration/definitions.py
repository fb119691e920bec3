"""The one Definitions object: `dagster dev`, the `stadsdata` CLI and the tests all load this."""

from __future__ import annotations

from dagster import Definitions

from ingestion.contracts import all_contracts
from orchestration.automation import (
    landing_sensor,
    nightly_release,
    open_data_release,
    stadsdata_run,
)
from orchestration.dbt_assets import dbt_models, dbt_resource
from orchestration.home import Home
from orchestration.ingestion_assets import ingestion_assets
from orchestration.quality_checks import quality_checks
from orchestration.release_assets import release_open_data
from orchestration.resources import StadsdataHome

defs = Definitions(
    assets=[*ingestion_assets, dbt_models, release_open_data],
    asset_checks=quality_checks,
    jobs=[stadsdata_run, open_data_release],
    schedules=[nightly_release],
    sensors=[landing_sensor(sorted(all_contracts()))],
    resources={
        "stadsdata": StadsdataHome(path=str(Home.from_env().root)),
        "dbt": dbt_resource(),
    },
)
