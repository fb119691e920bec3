"""The real Dagster webserver on these definitions: the asset graph loads with owners.

Started on a free loopback port, stopped by its process id.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest
from webserver_process import running_webserver

REPO = Path(__file__).resolve().parents[1]
ASSETS_QUERY = """
{ assetNodes { assetKey { path } groupName owners { ... on TeamAssetOwner { team } } kinds
  tags { key value } } }
"""


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def webserver(tmp_path: Path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster"), "STADSDATA_HOME": str(tmp_path / "home")}
    (tmp_path / "dagster").mkdir()
    with running_webserver(env, tmp_path / "webserver.log", timeout=120) as port:
        yield port


@pytest.mark.slow
def test_webserver_shows_every_asset_with_its_owner(webserver: int) -> None:
    nodes = _graphql(webserver, ASSETS_QUERY)["data"]["assetNodes"]
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    assert "bronze/air_quality" in by_key and "release/open_data" in by_key
    assert "marts/fct_air_quality_hourly" in by_key and "open/open_traffic_hourly" in by_key
    for key, node in by_key.items():
        assert node["owners"], f"{key} has no owner in the UI"
        assert node["groupName"] == node["owners"][0]["team"], key
        tags = {t["key"]: t["value"] for t in node["tags"]}
        assert tags.get("classification") in {"open", "internal", "confidential", "sensitive"}, key
    assert by_key["open/open_air_quality_hourly"]["owners"] == [{"team": "miljo"}]
    assert "dbt" in by_key["marts/fct_air_quality_hourly"]["kinds"]
    assert "polars" in by_key["bronze/air_quality"]["kinds"]
