"""Invariants under arbitrary input: ingestion never raises, and every row read is accounted for.

Whatever follows a valid file's rows (or its bare header), the file ends `loaded` or `rejected`;
for a loaded file rows_read == rows_loaded + rows_rejected == rows in bronze + rows in the
quarantine, each row in exactly one of them and the valid rows in bronze; a rejected file is
kept byte for byte.
"""

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["AQ-0012", "NO2", "O3", "PM10", "ppb", "ug/m3", "ok", "2026-10-25T02:30:00"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
reading_fields = st.sampled_from(["device_id", "observed_at", "pollutant", "value", "unit", "status"])
readings = st.dictionaries(reading_fields, json_values, max_size=6).map(json.dumps)
# What Python's json module takes and JSON (and the bulk decoder) does not, as values of readings.
odd_values = st.sampled_from(
    ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "[" * 2000 + "]" * 2000, '"\\ud800"', '"\\u0000"']
)
odd_readings = st.dictionaries(reading_fields, json_values.map(json.dumps) | odd_values, max_size=6).map(
    lambda fields: "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}"
)
# Near-JSON: JSON's tokens in any order.
json_tokens = st.sampled_from(["{", "}", "[", "]", ",", ":", '"value"', '"AQ-0012"', "null", "0", "NaN", " "])
near_json = st.lists(json_tokens, max_size=12).map("".join)
text_lines = st.lists(st.text(max_size=60), max_size=6).map("\n".join)


def lines_of(strategy, max_size: int = 6):
    return st.lists(strategy, max_size=max_size).map("\n".join)


def encoded(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


air_quality_tails = st.one_of(
    st.binary(max_size=300),
    text_lines.map(encoded),
    lines_of(readings).map(encoded),
    lines_of(json_values.map(json.dumps), max_size=4).map(encoded),
    lines_of(near_json).map(encoded),
    lines_of(odd_readings).map(encoded),
)
traffic_tokens = st.one_of(
    st.sampled_from(
        ["TR-0101", "TR-9", "2026-10-25", "2026-03-29", "2", "24", "-1", "N", "Ö", "NO", "Cykel"]
        + ["12", "-3", "1,5", "", '"', '"a;b"', "Summa", "99999999999999999999", "x" * 140_000]
    ),
    st.text(max_size=10),
)
traffic_lines = st.lists(st.lists(traffic_tokens, max_size=9).map(";".join), max_size=8).map("\r\n".join)
traffic_tails = st.one_of(
    st.binary(max_size=300),
    traffic_lines.map(encoded),
    traffic_lines.map(lambda text: text.encode("windows-1252", "replace")),
)


def text_in(data: bytes, encoding: str) -> bool:
    """The bytes are text in the encoding the file was written in: no bad line may then
    cost the file, only the line itself."""
    try:
        return "\x00" not in data.decode(encoding)
    except UnicodeDecodeError:
        return False


def assert_accounted_for(landing, entry, original: Path, valid_rows: list[int], text: bool) -> None:
    """The file's rows are each in bronze or the quarantine, once; the valid rows in bronze."""
    assert entry.status in ("loaded", "rejected")
    if valid_rows and text:
        assert entry.status == "loaded", entry.reason
    if entry.status == "rejected":
        landing.assert_file_rejected(entry, original, "")
        return
    loaded = landing.bronze(entry)["_row_number"].to_list()
    rejected = list(landing.rejections(entry))
    assert entry.rows_read == entry.rows_loaded + entry.rows_rejected
    assert (entry.rows_loaded, entry.rows_rejected) == (len(loaded), len(rejected))
    assert len(set(loaded) | set(rejected)) == entry.rows_read
    assert set(valid_rows) <= set(loaded)


@PROPERTY_SETTINGS
@given(tail=air_quality_tails, with_valid_rows=st.booleans())
def test_anything_after_valid_air_quality_readings_is_accounted_for(
    tail, with_valid_rows, landing_at, air_quality_jsonl, air_quality_record
):
    valid = air_quality_jsonl(air_quality_record(), air_quality_record(pollutant="O3", value=12, unit="ppb"))
    valid = valid if with_valid_rows else ""
    with tempfile.TemporaryDirectory() as home:
        landing = landing_at(Path(home))
        original = landing.write("air_quality", "gw.jsonl", valid.encode() + tail)
        [entry] = landing.ingest("air_quality")
        valid_rows = [1, 2] if with_valid_rows else []
        assert_accounted_for(landing, entry, original, valid_rows, text_in(valid.encode() + tail, "utf-8"))


@PROPERTY_SETTINGS
@given(
    tail=traffic_tails,
    with_valid_rows=st.booleans(),
    encoding=st.sampled_from(["windows-1252", "utf-8-sig", "utf-8"]),
)
def test_anything_after_valid_traffic_rows_is_accounted_for(
    tail, with_valid_rows, encoding, landing_at, traffic_csv, traffic_row
):
    rows = [traffic_row(direction="Ö"), traffic_row(hour="8")] if with_valid_rows else []
    valid = traffic_csv(*rows, summary=False)
    with tempfile.TemporaryDirectory() as home:
        landing = landing_at(Path(home))
        original = landing.write("traffic_counts", "export.csv", valid.encode(encoding) + tail)
        [entry] = landing.ingest("traffic_counts")
        valid_rows = [2, 3] if with_valid_rows else []
        assert_accounted_for(landing, entry, original, valid_rows, text_in(original.read_bytes(), encoding))
