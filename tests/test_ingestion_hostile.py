"""Hostile and repeated landing files: each ends with one clear fate and nothing is lost."""

import codecs
import os
import random
import stat

import pytest

TRAFFIC_HEADER = "Mätplats;Datum;Timme;Riktning;Fordonsklass;Antal;Medelhastighet (km/h)"
CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


def junk(seed: int, size: int, allowed=range(256)) -> bytes:
    """Random bytes from `allowed`, with NULs in them."""
    rng = random.Random(seed)
    choices = list(allowed)
    data = bytearray(rng.choice(choices) for _ in range(size))
    data[size // 3] = 0
    return bytes(data)


UNREADABLE = [
    ("traffic_counts", "empty.csv", b"", "empty file"),
    ("air_quality", "empty.jsonl", b"", "empty file"),
    ("air_quality", "blank.jsonl", b"\n \r\n\t\n", "empty file"),
    ("air_quality", "gz-of-nothing.jsonl.gz", b"\x1f\x8b\x08\x00" + bytes(6), "truncated or corrupt gzip"),
    (
        "air_quality",
        "junk.jsonl",
        junk(1, 4096),
        "not valid text in any accepted encoding (utf-8)",
    ),
    (
        "traffic_counts",
        "junk.csv",
        junk(2, 4096, [b for b in range(256) if b not in CP1252_UNDEFINED]),
        "binary content (NUL bytes) in a text file",
    ),
    (
        "traffic_counts",
        "utf16.csv",
        codecs.BOM_UTF16_LE + f"{TRAFFIC_HEADER}\r\n".encode("utf-16-le"),
        "UTF-16 text is not an accepted encoding",
    ),
    (
        "traffic_counts",
        "utf16-no-bom.csv",
        f"{TRAFFIC_HEADER}\r\nTR-0101;2026-03-02;7;N;Personbil;1;\r\n".encode("utf-16-le"),
        "binary content (NUL bytes) in a text file",  # not UTF-8, so read as Windows-1252
    ),
    (
        "air_quality",
        "utf16-be.jsonl",
        codecs.BOM_UTF16_BE + '{"device_id": "AQ-0012"}\n'.encode("utf-16-be"),
        "UTF-16 text is not an accepted encoding",
    ),
    (
        "air_quality",
        "ascii-utf16.jsonl",
        '{"device_id": "AQ-0012"}\n'.encode("utf-16-le"),
        "binary content (NUL bytes) in a text file",
    ),
    (
        "traffic_counts",
        "no-encoding-fits.csv",
        f"{TRAFFIC_HEADER}\r\n".encode() + b"TR-0101;2026-03-02;7;\x81\xc3;Buss;1;\r\n",
        "not valid text in any accepted encoding (utf-8, windows-1252)",
    ),
    (
        "traffic_counts",
        "bom-then-cp1252.csv",
        codecs.BOM_UTF8 + f"{TRAFFIC_HEADER}\r\n".encode("windows-1252"),
        "UTF-8 byte-order mark but invalid UTF-8",
    ),
    (
        "traffic_counts",
        "mixed-encodings.csv",
        f"{TRAFFIC_HEADER}\r\n".encode() + "TR-0101;2026-03-02;7;Ö;Buss;1;\r\n".encode("cp1252"),
        "wrong header: expected",
    ),
    (
        "traffic_counts",
        "huge-header.csv",
        f"{TRAFFIC_HEADER};{'x' * 200_000}\r\n".encode(),
        "unreadable header: field larger than field limit",
    ),
]


@pytest.mark.parametrize(
    ("source", "name", "data", "reason"), UNREADABLE, ids=[case[1] for case in UNREADABLE]
)
def test_unreadable_file_is_quarantined_byte_for_byte(landing, source, name, data, reason):
    original = landing.write(source, name, data)
    [entry] = landing.ingest(source)
    landing.assert_file_rejected(entry, original, reason)
    assert entry.size_bytes == len(data)
    assert list((landing.paths.bronze / source).glob("*.parquet")) == [
        landing.paths.bronze / source / "_schema.parquet"
    ]


def test_header_only_export_is_loaded_with_no_rows(landing):
    landing.write("traffic_counts", "quiet-day.csv", f"{TRAFFIC_HEADER}\r\nSumma;;;;;0;\r\n")
    [entry] = landing.ingest("traffic_counts")
    assert landing.outcome(entry) == {
        "status": "loaded",
        "rows_read": 0,
        "rows_loaded": 0,
        "rows_rejected": 0,
        "bronze_rows": 0,
        "quarantined_rows": 0,
        "file_quarantined": False,
    }


def test_file_cut_mid_line_loses_only_the_cut_line(
    landing, traffic_csv, traffic_row, air_quality_jsonl, air_quality_record
):
    traffic = traffic_csv(traffic_row(), traffic_row(hour="8"), summary=False)
    cut = traffic[: traffic.index("Personbil", traffic.index(";8;"))]
    landing.write("traffic_counts", "cut.csv", cut, encoding="windows-1252")
    readings = air_quality_jsonl(air_quality_record(), air_quality_record(value=1.5))
    landing.write("air_quality", "cut.jsonl", readings[: readings.rindex('"unit"')])
    [traffic_entry] = landing.ingest("traffic_counts")
    [air_entry] = landing.ingest("air_quality")
    for entry in (traffic_entry, air_entry):
        assert landing.outcome(entry) == {
            "status": "loaded",
            "rows_read": 2,
            "rows_loaded": 1,
            "rows_rejected": 1,
            "bronze_rows": 1,
            "quarantined_rows": 1,
            "file_quarantined": False,
        }
    assert landing.rejections(traffic_entry) == {3: "expected 7 fields, found 5"}
    assert landing.quarantined_raw(traffic_entry) == {3: "TR-0101;2026-03-02;8;N;"}
    assert landing.rejections(air_entry)[2].startswith("invalid JSON: Expecting")


def test_file_cut_inside_a_character_is_rejected_whole(landing, air_quality_jsonl):
    """Text that ends half-way through a UTF-8 character is not valid UTF-8: no line is
    guessed at, the whole file waits in the quarantine."""
    text = air_quality_jsonl('{"device_id": "AQ-0012", "status": "ok", "note": "mätt"}')
    data = text.encode("utf-8")
    original = landing.write("air_quality", "cut.jsonl", data[: data.index("ä".encode()) + 1])
    [entry] = landing.ingest("air_quality")
    landing.assert_file_rejected(entry, original, "not valid text in any accepted encoding")


def test_huge_fields_end_in_bronze_or_quarantine_intact(
    landing, traffic_csv, traffic_row, air_quality_jsonl, air_quality_record
):
    huge = "Å" * 2_000_000
    text = traffic_csv(
        traffic_row(site=huge),
        traffic_row(count="9" * 100_000),
        traffic_row(speed=f'"{huge}"'),
        traffic_row(),
    )
    landing.write("traffic_counts", "huge.csv", text)
    [entry] = landing.ingest("traffic_counts")
    assert landing.outcome(entry)["rows_rejected"] == 3
    reasons = landing.rejections(entry)
    assert reasons[2] == f"site_id: {huge} is not in the device registry"
    assert reasons[3].startswith("vehicle_count: not a integer: 999")
    assert reasons[4] == "expected 7 fields, found 0"
    assert landing.quarantined_raw(entry)[2] == traffic_row(site=huge)
    assert landing.bronze(entry)["_row_number"].to_list() == [5]

    landing.write(
        "air_quality",
        "huge.jsonl",
        air_quality_jsonl(air_quality_record(status=huge), air_quality_record()),
    )
    [entry] = landing.ingest("air_quality")
    assert (entry.rows_read, entry.rows_loaded, entry.rows_rejected) == (2, 1, 1)
    assert landing.rejections(entry)[1].startswith(f"status: {huge[:100]}")


def test_hidden_and_unfinished_uploads_wait_for_a_later_run(landing, traffic_csv, traffic_row):
    text = traffic_csv(traffic_row())
    for name in (".export.csv", "export.csv.part", "export.csv.tmp", "export.csv.crdownload"):
        landing.write("traffic_counts", name, text)
    landing.write("traffic_counts", ".staging/export.csv", text)
    assert landing.ingest("traffic_counts") == []
    assert landing.ledger("traffic_counts") == []


def bronze_files(landing, table: str) -> list[str]:
    return sorted(p.name for p in (landing.paths.bronze / table).glob("*.parquet"))


def test_same_bytes_under_another_name_is_a_duplicate_and_loads_nothing(landing, traffic_csv, traffic_row):
    text = traffic_csv(traffic_row(), traffic_row(count="x"))
    landing.write("traffic_counts", "2026-03-02.csv", text, encoding="windows-1252")
    landing.write("traffic_counts", "resent/2026-03-02 (1).csv", text, encoding="windows-1252")
    first, second = landing.ingest("traffic_counts")
    assert landing.outcome(first) == {
        "status": "loaded",
        "rows_read": 2,
        "rows_loaded": 1,
        "rows_rejected": 1,
        "bronze_rows": 1,
        "quarantined_rows": 1,
        "file_quarantined": False,
    }
    assert second.file == "traffic_counts/resent/2026-03-02 (1).csv"
    assert second.sha256 == first.sha256
    assert (second.status, second.rows_read, second.rows_loaded, second.rows_rejected) == (
        "duplicate",
        0,
        0,
        0,
    )
    assert second.reason == "same content as traffic_counts/2026-03-02.csv (loaded)"
    assert second.tables == []
    assert bronze_files(landing, "traffic_counts") == sorted(["_schema.parquet", f"{first.sha256}.parquet"])
    assert landing.bronze(first)["_source_file"].to_list() == ["traffic_counts/2026-03-02.csv"]
    assert not landing.quarantine_folder(second).exists()


def test_duplicate_of_a_rejected_file_is_not_quarantined_twice(landing):
    landing.write("traffic_counts", "a.csv", b"")
    landing.write("traffic_counts", "b.csv", b"")
    first, second = landing.ingest("traffic_counts")
    assert first.status == "rejected"
    assert (second.status, second.reason) == (
        "duplicate",
        "same content as traffic_counts/a.csv (rejected)",
    )
    folder = landing.quarantine_folder(first)
    assert sorted(p.name for p in folder.iterdir()) == ["a.csv", "reason.json"]


def test_same_name_same_bytes_on_a_second_run_changes_nothing(landing, traffic_csv, traffic_row):
    landing.write("traffic_counts", "export.csv", traffic_csv(traffic_row()))
    [entry] = landing.ingest("traffic_counts")
    ledger_bytes = (landing.paths.ledger / "traffic_counts.jsonl").read_bytes()
    bronze_stat = landing.bronze_path("traffic_counts", entry.sha256).stat()
    landing.write("traffic_counts", "export.csv", traffic_csv(traffic_row()))  # dropped again
    assert landing.ingest("traffic_counts") == []
    assert (landing.paths.ledger / "traffic_counts.jsonl").read_bytes() == ledger_bytes
    assert landing.bronze_path("traffic_counts", entry.sha256).stat().st_mtime_ns == (bronze_stat.st_mtime_ns)
    assert landing.ledger("traffic_counts") == [entry]


def test_same_name_with_new_bytes_is_a_new_version(landing, traffic_csv, traffic_row):
    landing.write("traffic_counts", "export.csv", traffic_csv(traffic_row(count="10")))
    [first] = landing.ingest("traffic_counts")
    landing.write("traffic_counts", "export.csv", traffic_csv(traffic_row(count="12"), traffic_row(hour="8")))
    [second] = landing.ingest("traffic_counts")
    assert second.file == first.file == "traffic_counts/export.csv"
    assert second.sha256 != first.sha256
    assert (second.status, second.rows_read, second.rows_loaded) == ("loaded", 2, 2)
    assert landing.ledger("traffic_counts") == [first, second]
    assert landing.bronze(first)["vehicle_count"].to_list() == [10]
    assert landing.bronze(second)["vehicle_count"].to_list() == [12, 120]
    # and back to the first bytes: that version was taken in already
    landing.write("traffic_counts", "export.csv", traffic_csv(traffic_row(count="10")))
    assert landing.ingest("traffic_counts") == []


def test_quarantine_is_readable_by_its_owner_only(landing, traffic_csv, traffic_row):
    previous = os.umask(0)  # even a careless umask must not open the quarantine
    try:
        landing.write("traffic_counts", "broken.csv", "not;the;header\r\n")
        landing.write("traffic_counts", "rows.csv", traffic_csv(traffic_row(), traffic_row(hour="x")))
        broken, rows = landing.ingest("traffic_counts")
    finally:
        os.umask(previous)
    assert (broken.status, rows.rows_rejected) == ("rejected", 1)
    quarantine = landing.paths.quarantine
    folders = [p for p in [quarantine, *quarantine.rglob("*")] if p.is_dir()]
    files = [p for p in quarantine.rglob("*") if p.is_file()]
    assert {p.relative_to(quarantine).as_posix() for p in files} == {
        f"traffic_counts/files/{broken.sha256}/broken.csv",
        f"traffic_counts/files/{broken.sha256}/reason.json",
        f"traffic_counts/rows/{rows.sha256}.parquet",
    }
    assert len(folders) == 5  # quarantine, its source, files, the file's folder, rows
    for folder in folders:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_no_temporary_files_are_left_behind(landing, traffic_csv, traffic_row):
    landing.write("traffic_counts", "a.csv", traffic_csv(traffic_row(), traffic_row(hour="x")))
    landing.write("traffic_counts", "b.csv", b"")
    landing.ingest("traffic_counts")
    written = [*landing.paths.bronze.rglob("*"), *landing.paths.quarantine.rglob("*")]
    assert [p for p in written if p.name.startswith(".") or p.name.endswith(".tmp")] == []


def test_the_older_of_two_identical_files_is_the_one_loaded(landing, traffic_csv, traffic_row):
    text = traffic_csv(traffic_row())
    landing.write("traffic_counts", "z-first.csv", text)
    landing.write("traffic_counts", "a-second.csv", text)
    first, second = landing.ingest("traffic_counts")
    assert (first.file, first.status) == ("traffic_counts/z-first.csv", "loaded")
    assert (second.file, second.status) == ("traffic_counts/a-second.csv", "duplicate")
