"""traffic_counts: the counting system's CSV exports, in their encodings and local hours."""

from datetime import UTC, date, datetime

import pytest


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def loaded(read: int, rejected: int = 0) -> dict:
    """The outcome of a readable file with `read` rows of which `rejected` broke the contract."""
    return {
        "status": "loaded",
        "rows_read": read,
        "rows_loaded": read - rejected,
        "rows_rejected": rejected,
        "bronze_rows": read - rejected,
        "quarantined_rows": rejected,
        "file_quarantined": False,
    }


@pytest.mark.parametrize(
    ("encoding", "newline"),
    [
        ("windows-1252", "\r\n"),
        ("windows-1252", "\n"),
        ("utf-8-sig", "\r\n"),
        ("utf-8-sig", "\n"),
        ("utf-8", "\r\n"),
        ("utf-8", "\n"),
    ],
)
def test_export_in_each_encoding_and_line_end_reads_the_same(
    landing, devices, traffic_csv, traffic_row, encoding, newline
):
    text = traffic_csv(
        traffic_row(site="TR-Årstaå-Hötorget", direction="Ö", speed="42,5"),
        traffic_row(direction="V", vehicle_class="Cykel", count="0", speed=""),
        traffic_row(direction="S", vehicle_class="Lastbil", count="7", speed="61"),
        newline=newline,
    )
    original = landing.write("traffic_counts", "export.csv", text, encoding=encoding)
    if encoding == "utf-8-sig":
        assert original.read_bytes().startswith(b"\xef\xbb\xbf")
    [entry] = landing.ingest("traffic_counts", registry=devices | {"TR-Årstaå-Hötorget"})
    assert landing.outcome(entry) == loaded(3)
    assert entry.tables == ["traffic_counts"]
    rows = landing.bronze(entry)
    assert rows["site_id"].to_list() == ["TR-Årstaå-Hötorget", "TR-0101", "TR-0101"]
    assert rows["direction"].to_list() == ["Ö", "V", "S"]
    assert rows["vehicle_class"].to_list() == ["Personbil", "Cykel", "Lastbil"]
    assert rows["vehicle_count"].to_list() == [120, 0, 7]
    assert rows["mean_speed_kmh"].to_list() == [42.5, None, 61.0]
    assert rows["observed_at"].to_list() == [utc("2026-03-02T06:00:00")] * 3
    assert rows["local_date"].to_list() == [date(2026, 3, 2)] * 3
    assert rows["local_hour"].to_list() == [7] * 3
    assert rows["_row_number"].to_list() == [2, 3, 4]
    assert rows["_source_file"].to_list() == ["traffic_counts/export.csv"] * 3


def test_summary_line_is_not_a_row_and_trailing_delimiter_is_not_a_field(landing, traffic_csv, traffic_row):
    text = traffic_csv(traffic_row() + ";", traffic_row(hour="8"), summary=True)
    assert text.splitlines()[-1] == "Summa;;;;;2;"
    landing.write("traffic_counts", "export.csv", text, encoding="windows-1252")
    [entry] = landing.ingest("traffic_counts")
    assert landing.outcome(entry) == loaded(2)
    assert landing.bronze(entry)["local_hour"].to_list() == [7, 8]


def test_header_with_trailing_delimiter_is_accepted(landing, traffic_row):
    text = "Mätplats;Datum;Timme;Riktning;Fordonsklass;Antal;Medelhastighet (km/h);\r\n"
    landing.write("traffic_counts", "export.csv", text + traffic_row() + "\r\n", "windows-1252")
    [entry] = landing.ingest("traffic_counts")
    assert landing.outcome(entry) == loaded(1)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Matplats;Datum;Timme;Riktning;Fordonsklass;Antal;Medelhastighet (km/h)", "wrong header"),
        ("Mätplats;Datum;Timme;Riktning;Fordonsklass;Antal", "wrong header"),
        ("Mätplats,Datum,Timme,Riktning,Fordonsklass,Antal,Medelhastighet (km/h)", "wrong header"),
        ("Datum;Mätplats;Timme;Riktning;Fordonsklass;Antal;Medelhastighet (km/h)", "wrong header"),
    ],
    ids=["no-umlaut", "column-missing", "comma-delimited", "reordered"],
)
def test_wrong_header_rejects_the_file(landing, traffic_row, header, reason):
    original = landing.write(
        "traffic_counts", "export.csv", f"{header}\r\n{traffic_row()}\r\n", "windows-1252"
    )
    [entry] = landing.ingest("traffic_counts")
    landing.assert_file_rejected(entry, original, reason)
    assert "expected 'Mätplats;Datum;Timme;Riktning;Fordonsklass;Antal;Medelhastighet (km/h)'" in (
        entry.reason
    )


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("TR-0101;2026-03-02;7;N;Personbil;120", "expected 7 fields, found 6"),
        ("TR-0101;2026-03-02;7;N;Personbil;120;42,5;x;y", "expected 7 fields, found 9"),
        ("TR-0101;2026-03-02;7;N;Personbil;tolv;42,5", "vehicle_count: not a integer: tolv"),
        ("TR-0101;2026-03-02;7;N;Personbil;12,5;42,5", "vehicle_count: not a integer: 12,5"),
        ("TR-0101;2026-03-02;7;N;Personbil;-3;42,5", "vehicle_count: -3 is below 0"),
        ("TR-0101;2026-03-02;7;N;Personbil;100001;42,5", "vehicle_count: 100001 is above 100000"),
        (
            "TR-0101;2026-03-02;7;N;Personbil;99999999999999999999;42,5",
            "vehicle_count: not a integer: 99999999999999999999",
        ),
        ("TR-0101;2026-03-02;7;N;Personbil;;42,5", "vehicle_count: missing"),
        ("TR-0101;2026-03-02;24;N;Personbil;12;42,5", "Timme: 24 is not an hour 0-23"),
        ("TR-0101;2026-03-02;-1;N;Personbil;12;42,5", "Timme: -1 is not an hour 0-23"),
        ("TR-0101;2026-03-02;sju;N;Personbil;12;42,5", "local_hour: not a integer: sju"),
        ("TR-0101;2026-02-30;7;N;Personbil;12;42,5", "local_date: not a date: 2026-02-30"),
        ("TR-0101;2026-03-02;7;NO;Personbil;12;42,5", "direction: NO is not one of N, S, Ö, V"),
        ("TR-0101;2026-03-02;7;N;Bil;12;42,5", "vehicle_class: Bil is not one of"),
        ("TR-0101;2026-03-02;7;N;Personbil;12;fort", "mean_speed_kmh: not a float: fort"),
        ("TR-0101;2026-03-02;7;N;Personbil;12;300,0", "mean_speed_kmh: 300.0 is above 250"),
        ("TR-9999;2026-03-02;7;N;Personbil;12;42,5", "site_id: TR-9999 is not in the device"),
        (
            "TR-0101;2026-03-29;2;N;Personbil;12;42,5",
            "observed_at: local time 2026-03-29 2:00 does not exist (daylight-saving gap)",
        ),
    ],
    ids=[
        "too-few-fields",
        "too-many-fields",
        "antal-not-a-number",
        "antal-decimal",
        "antal-negative",
        "antal-too-many",
        "antal-beyond-64-bits",
        "antal-empty",
        "timme-24",
        "timme-negative",
        "timme-text",
        "no-such-date",
        "unknown-riktning",
        "unknown-fordonsklass",
        "speed-text",
        "speed-too-high",
        "unknown-site",
        "dst-spring-gap",
    ],
)
def test_row_breaking_the_contract_is_quarantined_with_its_reason(
    landing, traffic_csv, traffic_row, row, reason
):
    text = traffic_csv(traffic_row(), row, traffic_row(hour="9"))
    landing.write("traffic_counts", "export.csv", text, encoding="windows-1252")
    [entry] = landing.ingest("traffic_counts")
    assert landing.outcome(entry) == loaded(3, rejected=1)
    assert entry.reason == "1 rows rejected"
    reasons = landing.rejections(entry)
    assert list(reasons) == [3]
    assert reasons[3].startswith(reason)
    assert landing.quarantined_raw(entry) == {3: row}
    assert landing.bronze(entry)["_row_number"].to_list() == [2, 4]


def test_autumn_hour_twice_becomes_two_distinct_utc_hours(landing, traffic_csv, traffic_row):
    day = "2026-10-25"
    text = traffic_csv(
        traffic_row(day=day, hour="1", count="10"),
        traffic_row(day=day, hour="2", count="20"),  # 02:00 CEST
        traffic_row(day=day, hour="2", count="5", direction="S"),  # 02:00 CEST, other key
        traffic_row(day=day, hour="2", count="30"),  # 02:00 CET, the hour again
        traffic_row(day=day, hour="3", count="40"),
    )
    landing.write("traffic_counts", "export.csv", text, encoding="windows-1252")
    [entry] = landing.ingest("traffic_counts")
    assert landing.outcome(entry) == loaded(5)
    rows = landing.bronze(entry)
    assert rows["vehicle_count"].to_list() == [10, 20, 5, 30, 40]
    assert rows["observed_at"].to_list() == [
        utc("2026-10-24T23:00:00"),
        utc("2026-10-25T00:00:00"),
        utc("2026-10-25T00:00:00"),
        utc("2026-10-25T01:00:00"),
        utc("2026-10-25T02:00:00"),
    ]
    assert rows["local_hour"].to_list() == [1, 2, 2, 2, 3]


def test_spring_day_has_23_hours(landing, traffic_csv, traffic_row):
    rows = [traffic_row(day="2026-03-29", hour=str(h)) for h in range(24)]
    landing.write("traffic_counts", "export.csv", traffic_csv(*rows), encoding="windows-1252")
    [entry] = landing.ingest("traffic_counts")
    assert landing.outcome(entry) == loaded(24, rejected=1)
    assert list(landing.rejections(entry)) == [2 + 2]  # the line of hour 2
    observed = landing.bronze(entry)["observed_at"].to_list()
    assert observed[0] == utc("2026-03-28T23:00:00")
    assert observed[2] == utc("2026-03-29T01:00:00")  # 03:00 CEST follows 01:00 CET
    assert len(set(observed)) == 23
