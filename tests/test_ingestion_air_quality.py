"""air_quality: JSON Lines from the gateways, with their units, times and broken lines."""

import gzip
from datetime import UTC, datetime

import pytest

UNIT_CONVERTED = {
    "status": "loaded",
    "rows_read": 3,
    "rows_loaded": 3,
    "rows_rejected": 0,
    "bronze_rows": 3,
    "quarantined_rows": 0,
    "file_quarantined": False,
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_ppb_is_converted_for_no2_and_o3_and_kept_as_sent(landing, air_quality_jsonl, air_quality_record):
    landing.write(
        "air_quality",
        "gw1.jsonl",
        air_quality_jsonl(
            air_quality_record(pollutant="NO2", value=10, unit="ppb"),
            air_quality_record(pollutant="O3", value=25.5, unit="ppb"),
            air_quality_record(pollutant="NO2", value=23.4, unit="ug/m3"),
        ),
    )
    [entry] = landing.ingest("air_quality")
    assert landing.outcome(entry) == UNIT_CONVERTED
    assert entry.reason is None and entry.tables == ["air_quality"]
    rows = landing.bronze(entry)
    assert rows["value"].to_list() == pytest.approx([18.8, 51.0, 23.4])
    assert rows["value_as_sent"].to_list() == pytest.approx([10.0, 25.5, 23.4])
    assert rows["unit_as_sent"].to_list() == ["ppb", "ppb", "ug/m3"]
    assert rows["_source_file"].to_list() == ["air_quality/gw1.jsonl"] * 3
    assert rows["_file_sha256"].to_list() == [entry.sha256] * 3
    assert rows["_row_number"].to_list() == [1, 2, 3]


@pytest.mark.parametrize("pollutant", ["PM10", "PM2_5"])
def test_ppb_for_particles_is_a_rejected_row(landing, air_quality_jsonl, air_quality_record, pollutant):
    landing.write(
        "air_quality",
        "gw1.jsonl",
        air_quality_jsonl(
            air_quality_record(pollutant=pollutant, value=12, unit="ppb"),
            air_quality_record(pollutant=pollutant, value=12, unit="ug/m3"),
        ),
    )
    [entry] = landing.ingest("air_quality")
    assert landing.outcome(entry) == {
        "status": "loaded",
        "rows_read": 2,
        "rows_loaded": 1,
        "rows_rejected": 1,
        "bronze_rows": 1,
        "quarantined_rows": 1,
        "file_quarantined": False,
    }
    assert entry.reason == "1 rows rejected"
    assert landing.rejections(entry) == {1: f"unit: ppb cannot be converted for {pollutant}"}
    assert landing.bronze(entry)["_row_number"].to_list() == [2]


def test_null_value_is_kept_as_missing_not_zero(landing, air_quality_jsonl, air_quality_record):
    landing.write(
        "air_quality",
        "gw1.jsonl",
        air_quality_jsonl(
            air_quality_record(value=None, status="error"),
            air_quality_record(value=None, unit="ppb", status="error"),
            air_quality_record(value=0, status="ok"),
        ),
    )
    [entry] = landing.ingest("air_quality")
    assert landing.outcome(entry) == UNIT_CONVERTED
    rows = landing.bronze(entry)
    assert rows["value"].to_list() == [None, None, 0.0]
    assert rows["value_as_sent"].to_list() == [None, None, 0.0]
    assert rows["status"].to_list() == ["error", "error", "ok"]


def test_timestamps_with_and_without_offset(landing, air_quality_jsonl, air_quality_record):
    sent = {
        "2026-03-01T12:00:00+01:00": "2026-03-01T11:00:00",
        "2026-03-01T12:00:00+0100": "2026-03-01T11:00:00",
        "2026-03-01T12:00:00-05:00": "2026-03-01T17:00:00",
        "2026-03-01T12:00:00Z": "2026-03-01T12:00:00",
        " 2026-03-01T13:00:00Z ": "2026-03-01T13:00:00",
        "2026-03-01T12:00:00.250Z": "2026-03-01T12:00:00.250",
        "2026-01-15T12:00:00": "2026-01-15T11:00:00",  # no offset, winter: CET
        "2026-07-01 12:00:00": "2026-07-01T10:00:00",  # no offset, summer: CEST
        "2026-07-01T12:00:00.5": "2026-07-01T10:00:00.500",
        "2026-03-29T02:30:00+01:00": "2026-03-29T01:30:00",  # offset given: no gap
        "2026-03-29T03:00:00": "2026-03-29T01:00:00",  # first hour after the gap
    }
    landing.write(
        "air_quality",
        "gw1.jsonl",
        air_quality_jsonl(*[air_quality_record(observed_at=t) for t in sent]),
    )
    [entry] = landing.ingest("air_quality")
    assert (entry.status, entry.rows_read, entry.rows_loaded, entry.rows_rejected) == (
        "loaded",
        len(sent),
        len(sent),
        0,
    )
    assert landing.bronze(entry)["observed_at"].to_list() == [utc(t) for t in sent.values()]


@pytest.mark.parametrize(
    ("observed_at", "reason"),
    [
        (
            "2026-03-29T02:30:00",
            "observed_at: local time 2026-03-29T02:30:00 does not exist (daylight-saving gap)",
        ),
        (
            "2026-03-29T02:00:00",
            "observed_at: local time 2026-03-29T02:00:00 does not exist (daylight-saving gap)",
        ),
        ("2026-03-01T12:00", "observed_at: not an ISO 8601 timestamp: 2026-03-01T12:00"),
        ("2026-02-30T12:00:00Z", "observed_at: not an ISO 8601 timestamp: 2026-02-30T12:00:00Z"),
        ("yesterday", "observed_at: not an ISO 8601 timestamp: yesterday"),
        (None, "observed_at: missing"),
    ],
)
def test_impossible_or_unreadable_time_is_a_rejected_row(
    landing, air_quality_jsonl, air_quality_record, observed_at, reason
):
    bad = air_quality_record(observed_at=observed_at)
    landing.write("air_quality", "gw1.jsonl", air_quality_jsonl(air_quality_record(), bad))
    [entry] = landing.ingest("air_quality")
    assert landing.outcome(entry) == {
        "status": "loaded",
        "rows_read": 2,
        "rows_loaded": 1,
        "rows_rejected": 1,
        "bronze_rows": 1,
        "quarantined_rows": 1,
        "file_quarantined": False,
    }
    assert landing.rejections(entry) == {2: reason}


def test_repeated_autumn_hour_is_resolved_by_order_within_the_file(
    landing, air_quality_jsonl, air_quality_record
):
    repeated = "2026-10-25T02:30:00"
    landing.write(
        "air_quality",
        "gw1.jsonl",
        air_quality_jsonl(
            air_quality_record(observed_at=repeated, value=1),  # first: CEST
            air_quality_record(observed_at=repeated, value=2, device_id="AQ-0013"),  # first
            air_quality_record(observed_at=repeated, value=3),  # second: CET
            air_quality_record(observed_at=repeated, value=4, pollutant="O3"),  # first for O3
        ),
    )
    [entry] = landing.ingest("air_quality")
    assert (entry.status, entry.rows_loaded, entry.rows_rejected) == ("loaded", 4, 0)
    rows = landing.bronze(entry)
    assert rows["observed_at"].to_list() == [
        utc("2026-10-25T00:30:00"),
        utc("2026-10-25T00:30:00"),
        utc("2026-10-25T01:30:00"),
        utc("2026-10-25T00:30:00"),
    ]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"pollutant": "CO"}, "pollutant: CO is not one of NO2, PM10, PM2_5, O3"),
        ({"device_id": "AQ-9999"}, "device_id: AQ-9999 is not in the device registry"),
        ({"device_id": None}, "device_id: missing"),
        ({"unit": "mg/m3"}, "unit_as_sent: mg/m3 is not one of ug/m3, ppb"),
        ({"status": "broken"}, "status: broken is not one of ok, maintenance, error"),
        ({"value": "23,4"}, "value: not a number: 23,4"),
        ({"value": True}, "value: not a number: true"),
        ({"value": -1}, "value: -1.0 is below 0"),
        ({"value": 3000, "unit": "ppb"}, "value: 5640.0 is above 5000"),
    ],
    ids=[
        "unknown-pollutant",
        "unknown-device",
        "no-device",
        "unknown-unit",
        "unknown-status",
        "decimal-comma",
        "boolean",
        "negative",
        "above-max-after-conversion",
    ],
)
def test_reading_breaking_the_contract_is_a_rejected_row(
    landing, air_quality_jsonl, air_quality_record, fields, reason
):
    original = landing.write(
        "air_quality",
        "gw1.jsonl",
        air_quality_jsonl(air_quality_record(), air_quality_record(**fields)),
    )
    [entry] = landing.ingest("air_quality")
    assert landing.outcome(entry) == {
        "status": "loaded",
        "rows_read": 2,
        "rows_loaded": 1,
        "rows_rejected": 1,
        "bronze_rows": 1,
        "quarantined_rows": 1,
        "file_quarantined": False,
    }
    assert landing.rejections(entry) == {2: reason}
    assert landing.quarantined_raw(entry) == {2: original.read_text("utf-8").splitlines()[1]}


def test_broken_lines_are_rejected_one_by_one_and_blank_lines_ignored(
    landing, air_quality_jsonl, air_quality_record
):
    nested = '{"device_id": "AQ-0012", "observed_at": "2026-03-01T12:00:00Z", "value": {"v": 1}}'
    text = air_quality_jsonl(
        air_quality_record(),
        "",
        '{"device_id": "AQ-0012", "value": ',  # 3: invalid JSON
        "[1, 2, 3]",  # 4: not an object
        "   ",
        nested,  # 6
        '{"device_id": "AQ-0012", "value": NaN}',  # 7: Python's json would take NaN
        '{"device_id": "AQ-0012", "value": 1e999}',  # 8: beyond a double
        "[" * 5000 + "]" * 5000,  # 9: deeper than any parser's recursion
        air_quality_record(value=7.5),  # 10
        "",
    )
    landing.write("air_quality", "gw1.jsonl", text)
    [entry] = landing.ingest("air_quality")
    assert landing.outcome(entry) == {
        "status": "loaded",
        "rows_read": 8,
        "rows_loaded": 2,
        "rows_rejected": 6,
        "bronze_rows": 2,
        "quarantined_rows": 6,
        "file_quarantined": False,
    }
    reasons = landing.rejections(entry)
    assert sorted(reasons) == [3, 4, 6, 7, 8, 9]
    assert reasons[3].startswith("invalid JSON: Expecting value")
    assert reasons[4] == "not a JSON object"
    assert reasons[6] == "value: expected a single value, got dict"
    assert reasons[7] == "invalid JSON: NaN is not valid JSON"
    assert reasons[8] == "invalid JSON: number 1e999 is out of range"
    assert reasons[9] == "invalid JSON: nested too deeply"
    assert landing.quarantined_raw(entry)[6] == nested
    rows = landing.bronze(entry)
    assert rows["_row_number"].to_list() == [1, 10]
    assert rows["value"].to_list() == [23.4, 7.5]


def test_gzip_batch_is_read_like_plain_text(landing, air_quality_jsonl, air_quality_record):
    text = air_quality_jsonl(air_quality_record(value=10, unit="ppb"), "", air_quality_record(pollutant="CO"))
    landing.write("air_quality", "gw1.jsonl.gz", gzip.compress(text.encode("utf-8")))
    [entry] = landing.ingest("air_quality")
    assert landing.outcome(entry) == {
        "status": "loaded",
        "rows_read": 2,
        "rows_loaded": 1,
        "rows_rejected": 1,
        "bronze_rows": 1,
        "quarantined_rows": 1,
        "file_quarantined": False,
    }
    assert landing.bronze(entry)["value"].to_list() == pytest.approx([18.8])
    assert landing.rejections(entry) == {3: "pollutant: CO is not one of NO2, PM10, PM2_5, O3"}


def test_truncated_gzip_rejects_the_file_and_keeps_its_bytes(landing, air_quality_jsonl, air_quality_record):
    text = air_quality_jsonl(*[air_quality_record(value=v) for v in range(200)])
    whole = gzip.compress(text.encode("utf-8"))
    original = landing.write("air_quality", "gw1.jsonl.gz", whole[: len(whole) // 2])
    [entry] = landing.ingest("air_quality")
    landing.assert_file_rejected(entry, original, "truncated or corrupt gzip")


def test_gzip_name_on_plain_text_rejects_the_file(landing, air_quality_jsonl, air_quality_record):
    original = landing.write("air_quality", "gw1.jsonl.gz", air_quality_jsonl(air_quality_record()))
    [entry] = landing.ingest("air_quality")
    landing.assert_file_rejected(entry, original, "truncated or corrupt gzip")


def test_readings_of_devices_from_the_loaded_registry_pass(
    landing, iot_csv, air_quality_jsonl, air_quality_record
):
    from ingestion.run import device_registry

    landing.write(
        "iot_devices",
        "miljo.csv",
        iot_csv("AQ-7,miljo,air_quality_sensor,air,59.33,18.06,2024-05-01,,"),
    )
    [registry_entry] = landing.ingest("iot_devices", registry=None)
    assert registry_entry.status == "loaded"
    assert device_registry(landing.paths) == {"AQ-7"}
    landing.write(
        "air_quality",
        "gw1.jsonl",
        air_quality_jsonl(air_quality_record(device_id="AQ-7"), air_quality_record()),
    )
    [entry] = landing.ingest("air_quality", registry=device_registry(landing.paths))
    assert (entry.rows_loaded, entry.rows_rejected) == (1, 1)
    assert landing.rejections(entry) == {2: "device_id: AQ-0012 is not in the device registry"}


def test_only_the_chunk_with_a_broken_line_is_decoded_line_by_line(
    landing, monkeypatch, air_quality_jsonl, air_quality_record
):
    from ingestion import formats

    monkeypatch.setattr(formats, "JSON_CHUNK_ROWS", 4)  # chunks: lines 1-4, 5-8 (broken), 9-10
    lines = [air_quality_record(value=n) for n in range(1, 11)]
    lines[5] = '{"device_id": "AQ-0012", "value": 6,'
    landing.write("air_quality", "gw1.jsonl", air_quality_jsonl(*lines))
    [entry] = landing.ingest("air_quality")
    assert (entry.status, entry.rows_read, entry.rows_loaded, entry.rows_rejected) == (
        "loaded",
        10,
        9,
        1,
    )
    rows = landing.bronze(entry)
    assert rows["_row_number"].to_list() == [1, 2, 3, 4, 5, 7, 8, 9, 10]
    assert rows["value"].to_list() == [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 8.0, 9.0, 10.0]
    assert list(landing.rejections(entry)) == [6]
