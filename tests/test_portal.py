"""The portal page of a real release, opened in headless Chromium the way a resident opens it:
from the folder (file://) and from a web server (a local http.server on a free loopback port).

The release is built from generated landing files through the real ingestion, a real dbt run
and the dbt manifest it writes; a second release holds one dataset back and splits another
per year, so the page shows every kind of section. Needs Debian's chromium at
/usr/bin/chromium (`apt-get install chromium`); skipped, with the reason, without it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
from bronze_fixtures import run_dbt

from ingestion.contracts import all_contracts
from ingestion.run import device_registry
from publishing import Release, open_datasets_from_manifest, publish_release

pytestmark = [pytest.mark.slow, pytest.mark.browser]

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OPEN_SOURCES = ("iot_devices", "districts", "air_quality", "traffic_counts")
OPEN_MODELS = ("open_air_quality_hourly", "open_traffic_hourly", "open_districts")
HELD_REASON = "blocking check counts_not_negative failed"


def _require_chromium() -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium package to run this test)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory, landing_at) -> Release:
    """Two releases from a real warehouse; the second one is the page under test."""
    _require_chromium()
    work = tmp_path_factory.mktemp("portal")
    home = work / "home"
    generated = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "generate", "--out", str(home / "landing")]
        + ["--days", "2", "--seed", "3"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert generated.returncode == 0, generated.stderr
    landing = landing_at(home)
    for source in OPEN_SOURCES:
        registry = device_registry(landing.paths) if all_contracts()[source].device_key else None
        landing.ingest(source, registry=registry)
    built = run_dbt(["run", "--select", *(f"+{m}" for m in OPEN_MODELS)], home, work)
    assert built.returncode == 0, built.stdout[-3000:]
    manifest = json.loads((work / "target" / "manifest.json").read_text(encoding="utf-8"))
    datasets = open_datasets_from_manifest(manifest)
    warehouse = home / "warehouse" / "stadsdata.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        air_rows = con.execute("SELECT count(*) FROM open_air_quality_hourly").fetchone()[0]
    releases = home / "releases"
    publish_release(warehouse, datasets, releases)
    return publish_release(
        warehouse,
        datasets,
        releases,
        held_back={"open_traffic_hourly": HELD_REASON},
        quality={
            "open_air_quality_hourly": {
                "expectations": 7,
                "passed": 6,
                "failed_blocking": 0,
                "failed_warning": 1,
            },
            "open_districts": "passed",
        },
        year_split_rows=max(1, air_rows - 1),  # one file per year for air quality
    )


@pytest.fixture(scope="module")
def browser(release: Release) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def server(release: Release) -> Iterator[str]:
    """The release folder served over HTTP on 127.0.0.1 (a free port); yields its base URL."""
    handler = partial(QuietHandler, directory=str(release.path))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture(params=["file", "http"])
def opened(request, release: Release, browser, server: str) -> Iterator[dict]:
    """The page opened in a fresh browser tab, with everything it logged and requested."""
    base = release.path.resolve().as_uri() + "/" if request.param == "file" else server
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    seen: dict = {"errors": [], "failed": [], "requests": [], "base": base, "page": page}
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("requestfailed", lambda r: seen["failed"].append(r.url))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.goto(base + "index.html", wait_until="load")
    yield seen
    page.close()


def test_page_renders_one_section_per_dataset(opened, release: Release):
    page = opened["page"]
    assert release.id in page.title() and "Stockholm" in page.title()
    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.locator("[lang=en]").count() > 10  # English alongside the Swedish
    sections = page.locator("main > section.dataset")
    assert sorted(sections.evaluate_all("els => els.map(e => e.id)")) == sorted(OPEN_MODELS)
    for name in OPEN_MODELS:
        heading = page.locator(f"section#{name} > h2")
        assert heading.is_visible() and heading.inner_text().strip()
    assert "held" in page.locator("section#open_traffic_hourly .status").get_attribute("class")
    assert HELD_REASON in page.locator("section#open_traffic_hourly .status").inner_text()
    assert "warnings" in page.locator("section#open_air_quality_hourly .status").get_attribute("class")
    assert "passed" in page.locator("section#open_districts .status").get_attribute("class")


def test_every_link_resolves_to_a_file_in_the_release(opened, release: Release):
    page, base = opened["page"], opened["base"]
    links = page.eval_on_selector_all("a[href]", "els => els.map(e => [e.getAttribute('href'), e.href])")
    assert links
    files = {p.name for p in release.path.iterdir() if p.is_file()}
    linked = set()
    for href, absolute in links:
        if href.startswith("#"):
            assert page.locator(f"[id='{href[1:]}']").count() == 1, href
            continue
        assert absolute.startswith(base), f"{href} leaves the release"
        name = absolute.removeprefix(base)
        assert name in files, f"{href} names no file of the release"
        linked.add(name)
        if base.startswith("http"):
            response = page.request.get(absolute)
            assert response.ok and response.body() == (release.path / name).read_bytes(), href
    data_files = {f for f in files if f.endswith((".csv", ".parquet", ".geojson"))}
    assert data_files and data_files <= linked
    assert any(f.startswith("open_air_quality_hourly-") for f in linked)  # the year files
    assert {"datapackage.json", "SHA256SUMS", "RELEASE_NOTES.md", "catalog.ttl"} <= linked


def test_every_chart_draws(opened):
    page = opened["page"]
    charts = page.locator("svg.chart")
    assert charts.count() == len(OPEN_MODELS)  # the held-back dataset's chart reads the carried files
    for index in range(charts.count()):
        chart = charts.nth(index)
        box = chart.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50
        assert chart.locator(":scope > title").text_content().strip()
        sizes = chart.locator("path.line, rect.bar").evaluate_all(
            "els => els.map(e => { const b = e.getBBox(); return [b.width, b.height]; })"
        )
        assert sizes and all(w > 0 and h > 0 for w, h in sizes), sizes


def test_no_console_error_and_no_request_outside_the_release(opened):
    assert opened["errors"] == []
    assert opened["failed"] == []
    outside = [u for u in opened["requests"] if not (u.startswith(opened["base"]) or u.startswith("data:"))]
    assert outside == []


def test_screenshot(opened, tmp_path_factory: pytest.TempPathFactory):
    """A full-page picture, for a person to look at (its path is printed with -s)."""
    path = tmp_path_factory.mktemp("screenshots") / f"portal-{opened['base'].split(':')[0]}.png"
    opened["page"].screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    print(f"portal screenshot: {path}")
