"""Freshness: each bronze table against its contract's update frequency, and the notice
an owner gets when a source is late (to a real HTTP receiver on a loopback port, or the log).

Ledgers and bronze files are written by the real ingestion driver; times the tests need
in the past are times in the delivered data, and `assess` takes the moment to judge at.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dagster import AssetCheckSeverity, AssetKey, build_asset_check_context

from ingestion.contracts import UPDATE_FREQUENCIES, all_contracts
from orchestration.freshness import (
    ALLOWANCE,
    assess,
    freshness_checks,
    iso_duration,
    notify_once,
    observation_column,
)
from orchestration.notifications import WEBHOOK_ENV, notify
from orchestration.resources import StadsdataHome

AIR = all_contracts()["air_quality"]
AIR_TABLE = AIR.tables[0]


class Receiver:
    """An HTTP server on a free loopback port that keeps every JSON body POSTed to it."""

    def __init__(self, status: int = 204) -> None:
        self.messages: list[dict] = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.messages.append(json.loads(body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args) -> None:  # keep the test output clean
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/stadsdata"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _deliver(landing, air_quality_jsonl, air_quality_record, observed: list[datetime], name="gw1.jsonl"):
    """A gateway batch with readings at `observed`, ingested for real; its ledger entry."""
    records = [air_quality_record(observed_at=t.isoformat(), pollutant="NO2") for t in observed]
    landing.write("air_quality", name, air_quality_jsonl(*records))
    [entry] = landing.ingest("air_quality")
    assert entry.status == "loaded", entry.reason
    return entry


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def test_every_update_frequency_has_an_allowance() -> None:
    assert set(ALLOWANCE) == set(UPDATE_FREQUENCIES)
    for interval, grace in ALLOWANCE.values():
        assert interval > timedelta(0) and grace > timedelta(0)


def test_one_warning_check_per_bronze_table_named_after_its_source() -> None:
    specs = {spec.key: spec for check in freshness_checks for spec in check.check_specs}
    expected = {
        (AssetKey(["bronze", table.name]), f"{contract.source}_freshness")
        for contract in all_contracts().values()
        for table in contract.tables
    }
    assert {(key.asset_key, key.name) for key in specs} == expected
    assert not any(spec.blocking for spec in specs.values())
    for key, spec in specs.items():
        contract = all_contracts()[spec.name.removesuffix("_freshness")]
        assert spec.metadata["owner"] == contract.owner, key


def test_iso_duration() -> None:
    assert iso_duration(timedelta(0)) == "PT0S"
    assert iso_duration(timedelta(seconds=59)) == "PT59S"
    assert iso_duration(timedelta(days=2)) == "P2D"
    assert iso_duration(timedelta(days=1, hours=3, minutes=4, seconds=5)) == "P1DT3H4M5S"


def test_observation_time_is_the_timestamp_key() -> None:
    assert observation_column(AIR_TABLE) == "observed_at"
    assert observation_column(all_contracts()["iot_devices"].tables[0]) is None


def test_fresh_after_a_delivery_and_late_once_the_allowance_has_passed(
    landing, air_quality_jsonl, air_quality_record
) -> None:
    newest = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    entry = _deliver(landing, air_quality_jsonl, air_quality_record, [newest - timedelta(hours=1), newest])
    received = datetime.fromisoformat(entry.ingested_at)
    interval, grace = ALLOWANCE[AIR.update_frequency]

    now = assess(AIR, AIR_TABLE, landing.paths, received)
    assert now.fresh and now.overdue_by == timedelta(0)
    assert (now.last_file, now.last_received, now.owner) == (entry.file, received, "miljo")
    assert now.newest_observation == newest

    at_limit = assess(AIR, AIR_TABLE, landing.paths, received + interval + grace)
    assert at_limit.fresh
    later = received + interval + grace + timedelta(minutes=5)
    late = assess(AIR, AIR_TABLE, landing.paths, later)
    assert not late.fresh
    expected = max(timedelta(minutes=5), later - newest - (interval + grace) - interval)
    assert late.overdue_by == expected
    assert late.message() == {
        "source": "air_quality",
        "table": "air_quality",
        "owner": "miljo",
        "update_frequency": "hourly",
        "last_file": entry.file,
        "last_received": received.isoformat(),
        "newest_observation": newest.isoformat(),
        "overdue_by": iso_duration(expected),
        "checked_at": later.isoformat(),
    }


def test_a_new_file_of_old_readings_is_late_by_its_observations(
    landing, air_quality_jsonl, air_quality_record
) -> None:
    """A gateway that only resends last week's readings is still not sending."""
    old = _hour(datetime.now(UTC)) - timedelta(days=3)
    entry = _deliver(landing, air_quality_jsonl, air_quality_record, [old])
    received = datetime.fromisoformat(entry.ingested_at)
    interval, grace = ALLOWANCE["hourly"]
    state = assess(AIR, AIR_TABLE, landing.paths, received)
    assert not state.fresh
    assert state.overdue_by == received - old - (interval + grace) - interval


def test_the_newest_delivery_counts_and_rejected_files_do_not(
    landing, air_quality_jsonl, air_quality_record
) -> None:
    assert assess(AIR, AIR_TABLE, landing.paths, datetime.now(UTC)).last_received is None
    landing.write("air_quality", "empty.jsonl", "")  # an empty file is rejected whole
    [rejected] = landing.ingest("air_quality")
    assert rejected.status == "rejected"
    nothing = assess(AIR, AIR_TABLE, landing.paths, datetime.now(UTC))
    assert (nothing.last_file, nothing.last_received, nothing.overdue_by) == (None, None, None)
    assert not nothing.fresh and "nothing received" in nothing.summary()

    newest = _hour(datetime.now(UTC)) - timedelta(hours=1)
    _deliver(landing, air_quality_jsonl, air_quality_record, [newest - timedelta(hours=2)], "a.jsonl")
    second = _deliver(landing, air_quality_jsonl, air_quality_record, [newest], "b.jsonl")
    state = assess(AIR, AIR_TABLE, landing.paths, datetime.now(UTC))
    assert state.last_file == second.file and state.newest_observation == newest


def _run_check(home, source: str = "air_quality"):
    [check] = [c for c in freshness_checks if f"{source}_freshness" in {k.name for k in c.check_keys}]
    context = build_asset_check_context(resources={"stadsdata": StadsdataHome(path=str(home))})
    return check(context)


def test_a_late_source_posts_one_notice_to_the_webhook(
    landing, air_quality_jsonl, air_quality_record, receiver, monkeypatch
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV, receiver.url)
    old = _hour(datetime.now(UTC)) - timedelta(days=2)
    entry = _deliver(landing, air_quality_jsonl, air_quality_record, [old])

    result = _run_check(landing.home)
    assert not result.passed and result.severity == AssetCheckSeverity.WARN
    assert result.metadata["owner"].value == "miljo"
    assert result.metadata["last_file"].value == entry.file
    assert result.metadata["notified"].value == "webhook"
    [message] = receiver.messages
    assert message["source"] == "air_quality" and message["owner"] == "miljo"
    assert message["last_file"] == entry.file and message["last_received"] == entry.ingested_at
    assert message["overdue_by"] == result.metadata["overdue_by"].value != "PT0S"

    again = _run_check(landing.home)
    assert not again.passed and again.metadata["notified"].value == "already notified"
    assert len(receiver.messages) == 1, "one notice per late episode"

    newer = _deliver(landing, air_quality_jsonl, air_quality_record, [old + timedelta(hours=1)], "b.jsonl")
    _run_check(landing.home)
    assert len(receiver.messages) == 2 and receiver.messages[1]["last_file"] == newer.file


def test_a_fresh_source_sends_nothing(landing, air_quality_jsonl, air_quality_record, receiver, monkeypatch):
    monkeypatch.setenv(WEBHOOK_ENV, receiver.url)
    _deliver(landing, air_quality_jsonl, air_quality_record, [_hour(datetime.now(UTC))])
    result = _run_check(landing.home)
    assert result.passed, result.description
    assert result.metadata["notified"].value == "-"
    assert receiver.messages == []


def test_a_failing_webhook_falls_back_to_the_log_and_is_tried_again(
    landing, air_quality_jsonl, air_quality_record, monkeypatch
) -> None:
    broken = Receiver(status=500)
    try:
        monkeypatch.setenv(WEBHOOK_ENV, broken.url)
        _deliver(landing, air_quality_jsonl, air_quality_record, [datetime.now(UTC) - timedelta(days=2)])
        assert _run_check(landing.home).metadata["notified"].value == "log"
        broken.status = 204
        assert _run_check(landing.home).metadata["notified"].value == "webhook"
        assert len(broken.messages) == 2
    finally:
        broken.close()


def test_without_a_webhook_the_notice_goes_to_the_log(monkeypatch, caplog) -> None:
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    logger = logging.getLogger("test.freshness")
    message = {"source": "air_quality", "owner": "miljo", "last_file": "a.jsonl"}
    with caplog.at_level(logging.WARNING, logger="test.freshness"):
        assert notify(message, logger) == "log"
    assert json.dumps(message, ensure_ascii=False, sort_keys=True) in caplog.text


def test_a_webhook_that_is_no_url_is_reported_and_the_notice_kept(monkeypatch, caplog) -> None:
    monkeypatch.setenv(WEBHOOK_ENV, "file:///etc/passwd")
    logger = logging.getLogger("test.freshness")
    with caplog.at_level(logging.WARNING, logger="test.freshness"):
        assert notify({"source": "districts"}, logger) == "log"
    assert "must be an http(s) URL" in caplog.text and '"source": "districts"' in caplog.text


def test_unreadable_bronze_or_notice_record_never_fails_the_check(
    landing, air_quality_jsonl, air_quality_record, receiver, monkeypatch
) -> None:
    monkeypatch.setenv(WEBHOOK_ENV, receiver.url)
    entry = _deliver(landing, air_quality_jsonl, air_quality_record, [datetime.now(UTC) - timedelta(days=2)])
    landing.bronze_path("air_quality", entry.sha256).write_bytes(b"not parquet")
    result = _run_check(landing.home)  # without readable readings, judged by delivery time: fresh
    assert result.passed and result.metadata["newest_observation"].value == "never"

    records = landing.home / "notifications" / "freshness"
    late = assess(AIR, AIR_TABLE, landing.paths, datetime.now(UTC) + timedelta(days=1))
    assert notify_once(late, records, logging.getLogger("test.freshness")) == "webhook"
    (records / "air_quality.json").write_text("{torn")
    assert notify_once(late, records, logging.getLogger("test.freshness")) == "webhook"
    assert notify_once(late, records, logging.getLogger("test.freshness")) == "already notified"
    assert len(receiver.messages) == 2
