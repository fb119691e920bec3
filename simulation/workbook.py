"""A small Office Open XML (.xlsx) writer, byte-identical for equal input.

Written with the standard library because Excel writers stamp the current time into the
package (zip entry times, docProps) and the demo must be reproducible byte for byte. The
entries are stored uncompressed, so the bytes do not depend on the zlib build either.
Only what the lighting export needs: shared strings, numbers, dates, bold headers, several
sheets. Excel, openpyxl and calamine (fastexcel) read the result.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from xml.sax.saxutils import escape, quoteattr

from simulation.city import STOCKHOLM

EXCEL_EPOCH = date(1899, 12, 30)  # serial 0 in the 1900 date system (with its leap-year bug)
STYLE_INDEX = {"general": 0, "date": 1, "decimal3": 2, "decimal2": 3, "header": 4}
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


@dataclass(frozen=True)
class Cell:
    """A value and how Excel shows it: `general`, `date` (a serial number), `decimal3`,
    `decimal2` or `header` (bold text)."""

    value: str | float | int
    style: str = "general"


@dataclass(frozen=True)
class Sheet:
    name: str
    rows: list[list[Cell | None]]  # None leaves the cell out, as Excel does for empty cells
    widths: tuple[float, ...] = ()


def excel_serial(day: date) -> int:
    return (day - EXCEL_EPOCH).days


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


class SharedStrings:
    """Excel keeps every distinct text once; cells refer to it by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.uses = 0

    def add(self, text: str) -> int:
        self.uses += 1
        return self.index.setdefault(text, len(self.index))

    def xml(self) -> str:
        items = "".join(f'<si><t xml:space="preserve">{escape(text)}</t></si>' for text in self.index)
        return (
            f'{XML_DECLARATION}<sst xmlns="{MAIN}" count="{self.uses}" '
            f'uniqueCount="{len(self.index)}">{items}</sst>'
        )


def number_text(value: float | int) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def cell_xml(reference: str, cell: Cell, strings: SharedStrings) -> str:
    style = STYLE_INDEX[cell.style]
    style_attribute = f' s="{style}"' if style else ""
    if isinstance(cell.value, str):
        return f'<c r="{reference}"{style_attribute} t="s"><v>{strings.add(cell.value)}</v></c>'
    return f'<c r="{reference}"{style_attribute}><v>{number_text(cell.value)}</v></c>'


def sheet_xml(sheet: Sheet, strings: SharedStrings) -> str:
    width = max((len(row) for row in sheet.rows), default=1)
    dimension = f"A1:{column_letters(width - 1)}{max(1, len(sheet.rows))}"
    columns = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>' for i, w in enumerate(sheet.widths)
    )
    rows = []
    for row_number, row in enumerate(sheet.rows, start=1):
        cells = "".join(
            cell_xml(f"{column_letters(column)}{row_number}", cell, strings)
            for column, cell in enumerate(row)
            if cell is not None
        )
        rows.append(f'<row r="{row_number}">{cells}</row>')
    return (
        f'{XML_DECLARATION}<worksheet xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
        f'<dimension ref="{dimension}"/>'
        '<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{columns}</cols>" if columns else "")
        + f"<sheetData>{''.join(rows)}</sheetData>"
        '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        "</worksheet>"
    )


STYLES = (
    f'{XML_DECLARATION}<styleSheet xmlns="{MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="0.000"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def content_types(sheet_count: int) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for n in range(1, sheet_count + 1)
    )
    return (
        f"{XML_DECLARATION}"
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        f"{sheets}"
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        "</Types>"
    )


def package_relationships() -> str:
    return (
        f'{XML_DECLARATION}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
        f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/'
        'metadata/core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{RELATIONSHIPS}/extended-properties" Target="docProps/app.xml"/>'
        "</Relationships>"
    )


def workbook_xml(sheets: list[Sheet]) -> str:
    entries = "".join(
        f'<sheet name={quoteattr(sheet.name)} sheetId="{n}" r:id="rId{n}"/>'
        for n, sheet in enumerate(sheets, start=1)
    )
    return (
        f'{XML_DECLARATION}<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
        f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{entries}</sheets></workbook>'
    )


def workbook_relationships(sheet_count: int) -> str:
    sheets = "".join(
        f'<Relationship Id="rId{n}" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, sheet_count + 1)
    )
    return (
        f'{XML_DECLARATION}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">{sheets}'
        f'<Relationship Id="rId{sheet_count + 1}" Type="{RELATIONSHIPS}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId{sheet_count + 2}" Type="{RELATIONSHIPS}/sharedStrings" '
        'Target="sharedStrings.xml"/></Relationships>'
    )


def core_properties(author: str, written_at: datetime) -> str:
    stamp = written_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"{XML_DECLARATION}<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{escape(author)}</dc:creator><cp:lastModifiedBy>{escape(author)}</cp:lastModifiedBy>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def app_properties(application: str) -> str:
    return (
        f"{XML_DECLARATION}<Properties "
        'xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        f"<Application>{escape(application)}</Application></Properties>"
    )


def workbook_bytes(sheets: list[Sheet], *, author: str, application: str, written_at: datetime) -> bytes:
    """The .xlsx file; `written_at` goes into the docProps (UTC) and, as Stockholm wall-clock
    time, into the zip entries' times (zip times have no zone)."""
    strings = SharedStrings()
    worksheets = [sheet_xml(sheet, strings) for sheet in sheets]
    parts = [
        ("[Content_Types].xml", content_types(len(sheets))),
        ("_rels/.rels", package_relationships()),
        ("docProps/core.xml", core_properties(author, written_at)),
        ("docProps/app.xml", app_properties(application)),
        ("xl/workbook.xml", workbook_xml(sheets)),
        ("xl/_rels/workbook.xml.rels", workbook_relationships(len(sheets))),
        ("xl/styles.xml", STYLES),
        *((f"xl/worksheets/sheet{n}.xml", xml) for n, xml in enumerate(worksheets, start=1)),
        ("xl/sharedStrings.xml", strings.xml()),
    ]
    buffer = io.BytesIO()
    stamp = written_at.astimezone(STOCKHOLM).timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as package:
        for name, xml in parts:
            entry = zipfile.ZipInfo(name, date_time=stamp)
            entry.create_system = 0  # the same bytes on every platform
            entry.external_attr = 0
            package.writestr(entry, xml.encode("utf-8"))
    return buffer.getvalue()
