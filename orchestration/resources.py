"""The one resource every asset shares: where STADSDATA_HOME is."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from orchestration.home import Home


class StadsdataHome(ConfigurableResource):
    """STADSDATA_HOME as an absolute path; configure it per deployment."""

    path: str

    @property
    def home(self) -> Home:
        return Home(Path(self.path).resolve())
