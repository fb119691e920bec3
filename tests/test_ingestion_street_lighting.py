"""street_lighting: the lighting-control system's Excel exports, first sheet, exact header."""

import io
import json
import zipfile
from datetime import date, datetime

import pytest
from conftest import LIGHTING_HEADER, workbook


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


def excel_serial(day: date) -> int:
    return (day - date(1899, 12, 30)).days


def test_date_cell_serial_and_text_read_as_the_same_day(landing, lighting_xlsx):
    data = lighting_xlsx(
        ["SL-0001", date(2026, 3, 2), 1.25, 11.5, None],
        ["SL-0002", excel_serial(date(2026, 3, 2)), 0.0, 0, "E12"],
        ["SL-0001", "2026-03-03", "1,5", "12", None],
        ["SL-0002", datetime(2026, 3, 3, 0, 0), 0.75, 24, "E7"],
    )
    landing.write("street_lighting", "belysning.xlsx", data)
    [entry] = landing.ingest("street_lighting")
    assert landing.outcome(entry) == loaded(4)
    assert entry.tables == ["street_lighting"]
    rows = landing.bronze(entry)
    assert rows["luminaire_id"].to_list() == ["SL-0001", "SL-0002", "SL-0001", "SL-0002"]
    assert rows["date"].to_list() == [date(2026, 3, 2)] * 2 + [date(2026, 3, 3)] * 2
    assert rows["energy_kwh"].to_list() == [1.25, 0.0, 1.5, 0.75]
    assert rows["burning_hours"].to_list() == [11.5, 0.0, 12.0, 24.0]
    assert rows["fault_code"].to_list() == [None, "E12", None, "E7"]
    assert rows["_row_number"].to_list() == [2, 3, 4, 5]  # the sheet's rows, header in row 1
    assert rows["_source_file"].to_list() == ["street_lighting/belysning.xlsx"] * 4


def test_only_the_first_sheet_is_read_and_row_numbers_are_the_sheets(landing):
    first = [
        [None],
        list(LIGHTING_HEADER),
        ["SL-0001", "2026-03-02", 1, 10, None],
        [None],
        ["SL-0002", "2026-03-02", 2, 10, None],
    ]
    second = [["Exporterad av", "Belysningssystemet"], ["SL-0002", "not", "data"]]
    landing.write("street_lighting", "belysning.xlsx", workbook(first, second))
    [entry] = landing.ingest("street_lighting")
    assert landing.outcome(entry) == loaded(2)  # the blank row 4 is not a record
    assert landing.bronze(entry)["_row_number"].to_list() == [3, 5]


def test_header_only_export_loads_no_rows(landing, lighting_xlsx):
    landing.write("street_lighting", "quiet.xlsx", lighting_xlsx())
    [entry] = landing.ingest("street_lighting")
    assert landing.outcome(entry) == loaded(0)


@pytest.mark.parametrize(
    ("header", "got"),
    [
        (["Armatur-ID", "Datum", "Energi (kWh)", "Brinntid (h)"], "Brinntid (h)'"),
        (["Armatur ID", "Datum", "Energi (kWh)", "Brinntid (h)", "Felkod"], "'Armatur ID, Datum"),
        (["Datum", "Armatur-ID", "Energi (kWh)", "Brinntid (h)", "Felkod"], "'Datum, Armatur-ID"),
        (["Armatur-ID", "Datum", "Energi", "Brinntid (h)", "Felkod", "Extra"], "Felkod, Extra'"),
    ],
    ids=["column-missing", "renamed", "reordered", "extra-column"],
)
def test_wrong_header_rejects_the_file(landing, header, got):
    original = landing.write(
        "street_lighting", "belysning.xlsx", workbook([header, ["SL-0001", "2026-03-02", 1, 2, None]])
    )
    [entry] = landing.ingest("street_lighting")
    landing.assert_file_rejected(
        entry, original, "wrong header: expected 'Armatur-ID, Datum, Energi (kWh), Brinntid (h), Felkod'"
    )
    assert got in entry.reason


def test_data_on_the_second_sheet_only_is_a_wrong_header(landing, lighting_xlsx):
    data = workbook([["Exportinfo"]], [list(LIGHTING_HEADER), ["SL-0001", "2026-03-02", 1, 2, None]])
    original = landing.write("street_lighting", "belysning.xlsx", data)
    [entry] = landing.ingest("street_lighting")
    landing.assert_file_rejected(entry, original, "wrong header")


def _corrupt_sheet(data: bytes) -> bytes:
    """The workbook with bytes inside the first sheet's compressed data overwritten."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        info = package.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 8]) + data[middle + 8 :]


def _zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("belysning.csv", "Armatur-ID;Datum\n")
    return buffer.getvalue()


def _stray_value_in_the_last_cell() -> bytes:
    """A workbook whose first sheet reaches XFD1048576: read densely, 17 billion cells."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, LIGHTING_HEADER)
    sheet.write(1_048_575, 16_383, "x")
    book.close()
    return buffer.getvalue()


UNREADABLE = [
    ("empty", lambda good: b"", "empty file"),
    ("truncated", lambda good: good[: len(good) * 2 // 3], "not an xlsx workbook: not a zip archive"),
    ("last-bytes-cut", lambda good: good[:-10], "not an xlsx workbook: not a zip archive"),
    (
        "csv-named-xlsx",
        lambda good: ";".join(LIGHTING_HEADER).encode() + b"\r\nSL-0001;2026-03-02;1;2;\r\n",
        "not an xlsx workbook: not a zip archive",
    ),
    ("zip-without-workbook", lambda good: _zip_without_workbook(), "the zip archive has no xl/workbook.xml"),
    ("corrupt-sheet", _corrupt_sheet, "corrupt xlsx workbook"),
    ("empty-sheet", lambda good: workbook([]), "empty sheet"),
    ("blank-sheet", lambda good: workbook([[None, None], [" "]]), "empty sheet"),
    (
        "stray-far-cell",
        lambda good: _stray_value_in_the_last_cell(),
        "first sheet too large: cells up to row 1048576 and column 16384",
    ),
]


@pytest.mark.parametrize(("damage", "reason"), [c[1:] for c in UNREADABLE], ids=[c[0] for c in UNREADABLE])
def test_unreadable_workbook_is_quarantined_byte_for_byte(landing, lighting_xlsx, damage, reason):
    good = lighting_xlsx(["SL-0001", date(2026, 3, 2), 1.25, 11.5, None])
    original = landing.write("street_lighting", "belysning.xlsx", damage(good))
    [entry] = landing.ingest("street_lighting")
    landing.assert_file_rejected(entry, original, reason)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (["SL-0001", "2026-03-02", 1.0, 25, None], "burning_hours: 25.0 is above 24"),
        (["SL-0001", "2026-03-02", 1.0, -0.5, None], "burning_hours: -0.5 is below 0"),
        (["SL-0001", "2026-03-02", -1.0, 10, None], "energy_kwh: -1.0 is below 0"),
        (["SL-0001", "2026-03-02", "mycket", 10, None], "energy_kwh: not a float: mycket"),
        (["SL-0001", "2026-03-02", None, 10, None], "energy_kwh: missing"),
        (["SL-0001", "2026-03-02", 1.0, 10, "fel"], "fault_code: fel does not match ^[A-Z]{1,3}[0-9]{1,4}$"),
        (["SL-0001", "2026-02-30", 1.0, 10, None], "date: not a date: 2026-02-30"),
        (["SL-0001", "igår", 1.0, 10, None], "date: not a date: igår"),
        (["SL-0001", 46083.5, 1.0, 10, None], "date: not a date: 46083.5"),
        (["SL-0001", None, 1.0, 10, None], "date: missing"),
        ([None, "2026-03-02", 1.0, 10, None], "luminaire_id: missing"),
        (["SL-9999", "2026-03-02", 1.0, 10, None], "luminaire_id: SL-9999 is not in the device registry"),
        (["SL-0001", "2026-03-02", 1.0, 10, None, "extra"], "expected 5 fields, found 6"),
    ],
    ids=[
        "burn-above-24",
        "burn-negative",
        "energy-negative",
        "energy-text",
        "energy-empty",
        "fault-code-form",
        "no-such-date",
        "date-text",
        "date-serial-with-time",
        "date-empty",
        "luminaire-empty",
        "unknown-luminaire",
        "cell-beyond-header",
    ],
)
def test_row_breaking_the_contract_is_quarantined_with_its_reason(landing, lighting_xlsx, row, reason):
    data = lighting_xlsx(["SL-0001", "2026-03-01", 1, 9, None], row, ["SL-0002", "2026-03-01", 1, 9, None])
    landing.write("street_lighting", "belysning.xlsx", data)
    [entry] = landing.ingest("street_lighting")
    assert landing.outcome(entry) == loaded(3, rejected=1)
    assert landing.rejections(entry) == {3: reason}
    assert landing.bronze(entry)["_row_number"].to_list() == [2, 4]
    kept = json.loads(landing.quarantined_raw(entry)[3])  # the cells as read, by header name
    assert kept["Armatur-ID"] == row[0]
    assert kept["Felkod"] == row[4]


@pytest.mark.parametrize(
    ("error", "kind"), [("#DIV/0!", "Div0"), ("#N/A", "NA")], ids=["division-by-zero", "not-available"]
)
def test_error_cell_rejects_its_row_naming_the_column(landing, lighting_xlsx, error, kind):
    data = lighting_xlsx(
        ["SL-0001", "2026-03-01", 1, 9, None],
        ["SL-0002", "2026-03-01", None, 9, None],
        [None, None, None, None, None],
        errors={(2, 2): error, (3, 0): error},
    )
    landing.write("street_lighting", "belysning.xlsx", data)
    [entry] = landing.ingest("street_lighting")
    assert landing.outcome(entry) == loaded(3, rejected=2)  # a row of only an error is still a row
    assert landing.rejections(entry) == {
        3: f"Energi (kWh): Excel cell error {kind}",
        4: f"Armatur-ID: Excel cell error {kind}",
    }


def test_same_export_under_another_name_is_a_duplicate(landing, lighting_xlsx):
    data = lighting_xlsx(["SL-0001", "2026-03-01", 1, 9, None])
    landing.write("street_lighting", "belysning.xlsx", data)
    landing.write("street_lighting", "belysning_omexport.xlsx", data)
    first, second = landing.ingest("street_lighting")
    assert landing.outcome(first) == loaded(1)
    assert (second.status, second.rows_read) == ("duplicate", 0)
    assert second.reason == "same content as street_lighting/belysning.xlsx (loaded)"
    assert landing.ingest("street_lighting") == []
