"""The Dagster UI as a person sees it, in Debian's headless Chromium driven by Playwright.

After a real `stadsdata run` on a small generated landing zone, the real webserver serves
the same definitions and run history: the asset graph renders, and the air-quality mart
shows its owner and its Great Expectations check with a result. Screenshots are kept in
the test's tmp folder (STADSDATA_UI_SHOTS=<folder> keeps them elsewhere, to look at).
Playwright's own browser download is never used: only /usr/bin/chromium.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from webserver_process import running_webserver

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
STADSDATA = [sys.executable, "-m", "orchestration.cli"]
MART = "marts/fct_air_quality_hourly"
SUITE_CHECK = "fct_air_quality_hourly_expectations"
pytestmark = [pytest.mark.slow, pytest.mark.browser]

# Console messages that are not faults of the page, each with why it is harmless. None
# has been seen on these pages so far (requests the UI aborts itself when a test navigates
# away are "requestfailed" events, not console errors, and are not collected).
BENIGN_CONSOLE: list[re.Pattern[str]] = []
# The first visit opens Dagster's "Join the community" sign-up dialog over every page; a
# person dismisses it once ("Skip"), which the UI remembers under this localStorage key.
DISMISSED_COMMUNITY_DIALOG = "window.localStorage.setItem('communityNux', JSON.stringify('1'));"


@pytest.fixture(scope="module")
def ran_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A STADSDATA_HOME after one real run: assets materialized, checks evaluated."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    home = tmp_path_factory.mktemp("ui") / "home"
    env = {**os.environ, "STADSDATA_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)  # the run writes STADSDATA_HOME/dagster, the webserver reads it
    for args in (["generate", "--out", str(home / "landing"), "--days", "1", "--seed", "5"], ["run"]):
        done = subprocess.run([*STADSDATA, *args], cwd=REPO, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return {**env, "DAGSTER_HOME": str(home / "dagster")}


@pytest.fixture(scope="module")
def webserver(ran_home: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("webserver") / "webserver.log"
    with running_webserver(ran_home, log_path, timeout=300) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("STADSDATA_UI_SHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(webserver: str):
    """A Chromium page that records uncaught errors and console errors."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=webserver)
        context.set_default_timeout(120_000)
        context.add_init_script(DISMISSED_COMMUNITY_DIALOG)
        tab = context.new_page()
        tab.problems = []
        tab.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
        tab.on(
            "console",
            lambda message: (
                tab.problems.append(f"console {message.type}: {message.text}")
                if message.type == "error" and not any(p.search(message.text) for p in BENIGN_CONSOLE)
                else None
            ),
        )
        try:
            yield tab
        finally:
            browser.close()


def _check_result(dagster_home: str, check: str) -> str:
    """The suite's latest result as the instance recorded it: SUCCEEDED or FAILED."""
    from dagster import AssetCheckKey, AssetKey, DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    with DagsterInstance.from_ref(InstanceRef.from_dir(dagster_home)) as instance:
        key = AssetCheckKey(AssetKey(MART.split("/")), check)
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        return record.status.value


def _owners() -> set[str]:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    return {graph.get(k).group_name for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}


def _visible(page, text: str) -> None:
    """Wait for `text` on screen (names are rendered twice, once hidden to measure them)."""
    page.get_by_text(text, exact=True).filter(visible=True).first.wait_for(state="visible")


def test_the_asset_graph_shows_every_owner_and_the_lineage(page, shots: Path) -> None:
    page.goto("/asset-groups")
    page.wait_for_load_state("networkidle")
    for owner in sorted(_owners()):  # the global graph shows one group per owning department
        _visible(page, owner)
    page.screenshot(path=shots / "asset_groups.png")

    page.goto(f"/assets/{MART}?view=lineage")
    page.wait_for_load_state("networkidle")
    for name in ("stg_air_quality", "fct_air_quality_hourly", "open_air_quality_hourly"):
        _visible(page, name)
    page.screenshot(path=shots / "mart_lineage.png")
    assert page.problems == []


def test_the_mart_shows_its_owner_and_its_checks(page, ran_home: dict[str, str], shots: Path) -> None:
    page.goto(f"/assets/{MART}")
    page.wait_for_load_state("networkidle")
    _visible(page, "Owners")
    owners = page.get_by_text("Owners", exact=True).filter(visible=True).first.locator("xpath=..")
    assert "miljo" in owners.inner_text()
    page.screenshot(path=shots / "mart_overview.png")

    page.goto(f"/assets/{MART}?view=checks&checkDetail={SUITE_CHECK}")
    page.wait_for_load_state("networkidle")
    _visible(page, SUITE_CHECK)  # the heading of the check's panel, in full
    _visible(page, "Evaluation result")
    page.screenshot(path=shots / "mart_checks.png")
    recorded = _check_result(ran_home["DAGSTER_HOME"], SUITE_CHECK)
    shown = re.search(r"Evaluation result\s+(Passed|Failed)", page.inner_text("body"))
    assert shown, "the suite's result is shown"
    assert shown.group(1) == {"SUCCEEDED": "Passed", "FAILED": "Failed"}[recorded]
    assert page.problems == []
