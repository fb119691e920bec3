"""waste_fill_levels, smart_meters and water_levels: readings of registered devices only."""

import gzip
import json
from datetime import UTC, datetime

import pytest


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def loaded(read: int, rejected: int = 0) -> dict:
    return {
        "status": "loaded",
        "rows_read": read,
        "rows_loaded": read - rejected,
        "rows_rejected": rejected,
        "bronze_rows": read - rejected,
        "quarantined_rows": rejected,
        "file_quarantined": False,
    }


# --- waste_fill_levels ---------------------------------------------------------------------


def test_fill_levels_load_with_missing_diagnostics_kept_missing(landing, waste_csv):
    text = waste_csv(
        "WF-0001,2026-03-02T12:00:00+01:00,55.5,81,3.5",
        "WF-0002,2026-03-02T11:00:00Z,0,,",
        "WF-0001,2026-03-02T13:00:00+01:00,100,7.5,-12",
    )
    landing.write("waste_fill_levels", "batch.csv", text)
    [entry] = landing.ingest("waste_fill_levels")
    assert landing.outcome(entry) == loaded(3)
    rows = landing.bronze(entry)
    assert rows["container_id"].to_list() == ["WF-0001", "WF-0002", "WF-0001"]
    assert rows["measured_at"].to_list() == [utc("2026-03-02T11:00:00")] * 2 + [utc("2026-03-02T12:00:00")]
    assert rows["fill_level_pct"].to_list() == [55.5, 0.0, 100.0]
    assert rows["battery_pct"].to_list() == [81.0, None, 7.5]
    assert rows["temperature_c"].to_list() == [3.5, None, -12.0]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("WF-0001,2026-03-02T12:00:00+01:00,100.5,80,3", "fill_level_pct: 100.5 is above 100"),
        ("WF-0001,2026-03-02T12:00:00+01:00,-0.1,80,3", "fill_level_pct: -0.1 is below 0"),
        ("WF-0001,2026-03-02T12:00:00+01:00,255,80,3", "fill_level_pct: 255.0 is above 100"),
        ("WF-0001,2026-03-02T12:00:00+01:00,,80,3", "fill_level_pct: missing"),
        ("WF-0001,2026-03-02T12:00:00+01:00,full,80,3", "fill_level_pct: not a float: full"),
        ("WF-0001,2026-03-02T12:00:00+01:00,50,101,3", "battery_pct: 101.0 is above 100"),
        ("WF-0001,2026-03-02T12:00:00+01:00,50,80,120", "temperature_c: 120.0 is above 90"),
        ("WF-0001,2026-03-02 12:00,50,80,3", "measured_at: not an ISO 8601 timestamp: 2026-03-02 12:00"),
        ("WF-0001,,50,80,3", "measured_at: missing"),
        ("WF-9999,2026-03-02T12:00:00+01:00,50,80,3", "container_id: WF-9999 is not in the device registry"),
        ("WF-0001,2026-03-02T12:00:00+01:00,50,80", "expected 5 fields, found 4"),
        ("WF-0001,2026-03-02T12:00:00+01:00,50,80,3,x", "expected 5 fields, found 6"),
    ],
    ids=[
        "fill-above-100",
        "fill-negative",
        "fill-glitch",
        "fill-empty",
        "fill-text",
        "battery-above-100",
        "temperature-too-hot",
        "time-without-seconds",
        "time-empty",
        "unknown-container",
        "too-few-fields",
        "too-many-fields",
    ],
)
def test_fill_level_row_breaking_the_contract_is_quarantined(landing, waste_csv, row, reason):
    text = waste_csv(
        "WF-0001,2026-03-02T11:00:00+01:00,10,80,3", row, "WF-0002,2026-03-02T13:00:00+01:00,20,80,3"
    )
    landing.write("waste_fill_levels", "batch.csv", text)
    [entry] = landing.ingest("waste_fill_levels")
    assert landing.outcome(entry) == loaded(3, rejected=1)
    assert landing.rejections(entry) == {3: reason}
    assert landing.quarantined_raw(entry) == {3: row}


def test_time_without_offset_is_stockholm_time(landing, waste_csv):
    landing.write("waste_fill_levels", "batch.csv", waste_csv("WF-0001,2026-07-01T12:00:00,10,80,3"))
    [entry] = landing.ingest("waste_fill_levels")
    assert landing.bronze(entry)["measured_at"].to_list() == [utc("2026-07-01T10:00:00")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            b"container_id;measured_at;fill_level_pct;battery_pct;temperature_c\n",
            "wrong header: expected 'container_id,measured_at,fill_level_pct,battery_pct,temperature_c'",
        ),
        (
            b"container_id,measured_at,fill_level_pct,battery_pct,temperature_c\n"
            b"WF-0001,2026-03-02T12:00:00+01:00,50,80,3 \xb0C\n",  # Latin-1 degree sign
            "not valid text in any accepted encoding (utf-8)",
        ),
        (b"", "empty file"),
    ],
    ids=["semicolons", "latin-1", "empty"],
)
def test_unreadable_fill_level_batch_is_quarantined(landing, data, reason):
    original = landing.write("waste_fill_levels", "batch.csv", data)
    [entry] = landing.ingest("waste_fill_levels")
    landing.assert_file_rejected(entry, original, reason)


# --- smart_meters --------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "windows-1252"])
def test_meter_readings_load_in_each_encoding_with_decimal_comma(landing, smart_meter_csv, encoding):
    text = smart_meter_csv(
        "SM-0001;2026-03-02 00:00;0,412", "SM-0001;2026-03-02 01:00:00;1", "SM-0002;2026-03-02T02:00;0,0"
    )
    landing.write("smart_meters", "timvarden.csv", text, encoding=encoding)
    [entry] = landing.ingest("smart_meters")
    assert landing.outcome(entry) == loaded(3)
    rows = landing.bronze(entry)
    assert rows["meter_id"].to_list() == ["SM-0001", "SM-0001", "SM-0002"]
    assert rows["period_start"].to_list() == [
        utc("2026-03-01T23:00:00"),
        utc("2026-03-02T00:00:00"),
        utc("2026-03-02T01:00:00"),
    ]
    assert rows["energy_kwh"].to_list() == [0.412, 1.0, 0.0]


def test_autumn_day_has_25_hours_told_apart_by_order(landing, smart_meter_csv):
    rows = [f"SM-0001;2026-10-25 {h:02d}:00;{h},5" for h in range(24)]
    rows.insert(3, "SM-0001;2026-10-25 02:00;99,5")  # the second 02:00, as the meter sends it
    rows.append("SM-0002;2026-10-25 02:00;7")  # another meter's first 02:00
    landing.write("smart_meters", "timvarden.csv", smart_meter_csv(*rows))
    [entry] = landing.ingest("smart_meters")
    assert landing.outcome(entry) == loaded(26)
    bronze = landing.bronze(entry)
    first = bronze.filter(bronze["meter_id"] == "SM-0001")["period_start"].to_list()
    assert len(set(first)) == 25
    assert first[:5] == [
        utc("2026-10-24T22:00:00"),
        utc("2026-10-24T23:00:00"),
        utc("2026-10-25T00:00:00"),  # 02:00 CEST
        utc("2026-10-25T01:00:00"),  # 02:00 CET
        utc("2026-10-25T02:00:00"),
    ]
    assert bronze["energy_kwh"].to_list()[2:4] == [2.5, 99.5]
    assert bronze.filter(bronze["meter_id"] == "SM-0002")["period_start"].to_list() == [
        utc("2026-10-25T00:00:00")
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            "SM-0001;2026-03-29 02:00;1,0",
            "period_start: local time 2026-03-29 02:00 does not exist (daylight-saving gap)",
        ),
        ("SM-0001;2026-03-02 05:00;-412,603", "energy_kwh: -412.603 is below 0"),
        ("SM-0001;2026-03-02 05:00;250", "energy_kwh: 250.0 is above 100"),
        ("SM-0001;2026-03-02 05:00;", "energy_kwh: missing"),
        ("SM-0001;2026-03-02 05:00;1.234,5", "energy_kwh: not a float: 1.234,5"),
        (
            "SM-0001;2026-03-02T05:00:00+01:00;1",
            "period_start: not a time in the form YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS or "
            "YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS: 2026-03-02T05:00:00+01:00",
        ),
        ("SM-0001;2026-03-02;1", "period_start: not a time in the form"),
        ("SM-9999;2026-03-02 05:00;1", "meter_id: SM-9999 is not in the device registry"),
        (";2026-03-02 05:00;1", "meter_id: missing"),
        ("SM-0001;2026-03-02 05:00", "expected 3 fields, found 2"),
    ],
    ids=[
        "dst-spring-gap",
        "register-wrapped",
        "too-much",
        "kwh-empty",
        "thousands-separator",
        "time-with-offset",
        "date-only",
        "unknown-meter",
        "meter-empty",
        "too-few-fields",
    ],
)
def test_meter_row_breaking_the_contract_is_quarantined(landing, smart_meter_csv, row, reason):
    text = smart_meter_csv("SM-0001;2026-03-02 03:00;0,5", row, "SM-0002;2026-03-02 03:00;0,5")
    landing.write("smart_meters", "timvarden.csv", text)
    [entry] = landing.ingest("smart_meters")
    assert landing.outcome(entry) == loaded(3, rejected=1)
    reasons = landing.rejections(entry)
    assert list(reasons) == [3]
    assert reasons[3].startswith(reason)
    assert landing.quarantined_raw(entry) == {3: row}


def test_meter_export_without_its_header_is_rejected(landing, smart_meter_csv):
    text = smart_meter_csv("SM-0001;2026-03-02 03:00;0,5")
    original = landing.write("smart_meters", "timvarden.csv", text.split("\r\n", 1)[1])
    [entry] = landing.ingest("smart_meters")
    landing.assert_file_rejected(entry, original, "wrong header: expected 'MätarID;Period start;kWh'")


def test_meter_export_delivered_twice_is_loaded_once(landing, smart_meter_csv):
    text = smart_meter_csv("SM-0001;2026-03-02 03:00;0,5")
    landing.write("smart_meters", "2026/03/timvarden_2026-03-02.csv", text)
    landing.write("smart_meters", "2026/03/timvarden_2026-03-02_2.csv", text)
    first, second = landing.ingest("smart_meters")
    assert (first.status, second.status) == ("loaded", "duplicate")
    assert second.reason == "same content as smart_meters/2026/03/timvarden_2026-03-02.csv (loaded)"


# --- water_levels --------------------------------------------------------------------------


def reading(**fields) -> str:
    record = {"station_id": "WL-01", "observed_at": "2026-03-02T12:00:00+01:00", "water_level_m": 0.42}
    record |= {"rainfall_mm": 1.2}
    return json.dumps({k: v for k, v in (record | fields).items() if v != "absent"})


def test_either_measurement_may_be_missing_and_stays_missing(landing):
    lines = [
        reading(),
        reading(rainfall_mm=None),
        reading(water_level_m="absent"),
        reading(station_id="WL-02", water_level_m=-0.35, rainfall_mm=0),
    ]
    landing.write("water_levels", "gauges.jsonl.gz", gzip.compress("\n".join(lines).encode()))
    [entry] = landing.ingest("water_levels")
    assert landing.outcome(entry) == loaded(4)
    rows = landing.bronze(entry)
    assert rows["water_level_m"].to_list() == [0.42, 0.42, None, -0.35]
    assert rows["rainfall_mm"].to_list() == [1.2, None, 1.2, 0.0]
    assert rows["observed_at"].to_list() == [utc("2026-03-02T11:00:00")] * 4


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (reading(water_level_m=None, rainfall_mm=None), "water_level_m and rainfall_mm: both missing"),
        (
            reading(water_level_m="absent", rainfall_mm="absent"),
            "water_level_m and rainfall_mm: both missing",
        ),
        (reading(rainfall_mm=-1), "rainfall_mm: -1.0 is below 0"),
        (reading(water_level_m=42), "water_level_m: 42.0 is above 10"),
        (reading(water_level_m="hög"), "water_level_m: not a float: hög"),
        (reading(station_id="WL-99"), "station_id: WL-99 is not in the device registry"),
        (
            reading(observed_at="2026-03-29T02:15:00"),
            "observed_at: local time 2026-03-29T02:15:00 does not exist",
        ),
        ('{"station_id": "WL-01", "water_level_m": 0.4', "invalid JSON: Expecting ',' delimiter"),
    ],
    ids=[
        "both-null",
        "both-absent",
        "rain-negative",
        "level-impossible",
        "level-text",
        "unknown-gauge",
        "dst-spring-gap",
        "cut-line",
    ],
)
def test_gauge_reading_breaking_the_contract_is_quarantined(landing, line, reason):
    landing.write(
        "water_levels", "gauges.jsonl", "\n".join([reading(), line, reading(station_id="WL-02")]) + "\n"
    )
    [entry] = landing.ingest("water_levels")
    assert landing.outcome(entry) == loaded(3, rejected=1)
    reasons = landing.rejections(entry)
    assert list(reasons) == [2]
    assert reasons[2].startswith(reason)


def test_truncated_gzip_of_readings_is_quarantined(landing):
    data = gzip.compress((reading() + "\n").encode() * 50)
    original = landing.write("water_levels", "gauges.jsonl.gz", data[: len(data) // 2])
    [entry] = landing.ingest("water_levels")
    landing.assert_file_rejected(entry, original, "truncated or corrupt gzip")
