"""STADSDATA_HOME: the one folder a run writes to, and where each stage keeps its part.

The path is resolved to an absolute one before anything else sees it, because dbt and
Dagster resolve relative paths against different folders, and a relative warehouse
path silently makes two databases.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ingestion.run import LakePaths

DAGSTER_YAML = """\
# Written by stadsdata for a local DAGSTER_HOME. One run at a time may write the
# warehouse: every asset that writes it is in the pool `warehouse`, each source's
# ingestion in its own pool `ingest_<source>`; every pool admits one step at a time.
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 4
telemetry:
  enabled: false
"""


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def from_env(cls) -> Home:
        return cls(Path(os.environ.get("STADSDATA_HOME", "data")).expanduser().resolve())

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def lake(self) -> LakePaths:
        return LakePaths.under(self.root)

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "stadsdata.duckdb"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def quality(self) -> Path:
        return self.root / "quality"

    @property
    def dbt_runs(self) -> Path:
        return self.root / "dbt"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    def export(self) -> None:
        """Put the absolute paths in the environment, where dbt's profile reads them."""
        os.environ["STADSDATA_HOME"] = str(self.root)
        os.environ["STADSDATA_WAREHOUSE"] = str(self.warehouse)
        self.warehouse.parent.mkdir(parents=True, exist_ok=True)

    def prepare_dagster_home(self) -> Path:
        """Use STADSDATA_HOME/dagster as DAGSTER_HOME unless one is set already."""
        if os.environ.get("DAGSTER_HOME"):
            return Path(os.environ["DAGSTER_HOME"])
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        config = self.dagster_home / "dagster.yaml"
        if not config.exists():  # renamed into place: a run starting beside us never reads half a file
            partial = config.with_name(f".dagster.yaml.{os.getpid()}")
            partial.write_text(DAGSTER_YAML)
            partial.replace(config)
        os.environ["DAGSTER_HOME"] = str(self.dagster_home)
        return self.dagster_home
