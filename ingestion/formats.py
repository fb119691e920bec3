"""File formats: turn a landing file's bytes into rows of text, or say why it cannot be read.

Every reader here returns the same shape, `RawRows`: one string column per field the
file carries (named as in the file), `_row_number` and `_raw` (the row as it stood in
the file, kept for the quarantine). Typing and checking the values is the next step
(`ingestion.columns`), so that a bad value rejects one row, never the file.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import zipfile
import zlib
from dataclasses import dataclass
from xml.etree import ElementTree

import fastexcel
import polars as pl

from ingestion.contracts import Table

RAW_COLUMNS = ("_row_number", "_raw")
JSON_CHUNK_ROWS = 50_000


class UnreadableFile(Exception):
    """The file as a whole cannot be read: it goes to the quarantine byte for byte."""


@dataclass
class RawRows:
    rows: pl.DataFrame  # source fields as strings + _row_number + _raw
    rejected: pl.DataFrame  # _row_number, _raw, reason
    rows_read: int


def empty_rejected() -> pl.DataFrame:
    return pl.DataFrame(schema={"_row_number": pl.Int64, "_raw": pl.String, "reason": pl.String})


def decompress(data: bytes, file_name: str) -> bytes:
    """Gunzip `.gz` files; a truncated or corrupt archive makes the file unreadable."""
    if not file_name.endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as error:
        raise UnreadableFile(f"truncated or corrupt gzip: {error}") from error


def decode_text(data: bytes, encodings: tuple[str, ...]) -> str:
    """Decode with the first accepted encoding that fits the bytes exactly.

    A UTF-8 byte-order mark settles the question; otherwise UTF-8 is tried before the
    single-byte encodings, because valid UTF-8 is almost never accidental. Bytes that
    fit no accepted encoding are not guessed at: the file is rejected.
    """
    if not data.strip():
        raise UnreadableFile("empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile("UTF-16 text is not an accepted encoding")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            text = data[3:].decode("utf-8")
        except UnicodeDecodeError as error:
            raise UnreadableFile(f"UTF-8 byte-order mark but invalid UTF-8: {error}") from error
    else:
        text = None
        for encoding in encodings:
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise UnreadableFile(f"not valid text in any accepted encoding ({', '.join(encodings)})")
    if "\x00" in text:
        raise UnreadableFile("binary content (NUL bytes) in a text file")
    return text


def text_lines(text: str) -> pl.DataFrame:
    """Physical lines with their 1-based numbers; line ends CRLF, LF or CR."""
    lines = pl.Series("_raw", [text]).str.replace_all("\r\n?", "\n").str.split("\n").explode()
    frame = pl.DataFrame({"_raw": lines}).with_row_index("_row_number", offset=1)
    return frame.with_columns(pl.col("_row_number").cast(pl.Int64))


def _header_fields(line: str, delimiter: str) -> list[str]:
    fields = next(csv.reader([line], delimiter=delimiter))
    while fields and fields[-1].strip() == "":
        fields.pop()
    return [f.strip() for f in fields]


def wrong_header(table: Table, header: list[str], delimiter: str) -> str:
    """Why a header is not the contract's; never quoting it where the source holds personal data.

    A file without its header line has data in its first line, a personnummer perhaps,
    and this reason goes to the ledger, which is not private like the quarantine.
    """
    expected = f"wrong header: expected {delimiter.join(table.header)!r}"
    if not table.pii:
        return f"{expected}, got {delimiter.join(header)!r}"
    missing = [name for name in table.header if name not in header]
    where = f"missing {', '.join(missing)}" if missing else "columns in another order or extra"
    return f"{expected}; {where} (the first line is not quoted: the source holds personal data)"


def _split_quoted(line: str, delimiter: str) -> list[str]:
    """The rare line with quotes goes through the csv module, which knows RFC 4180."""
    try:
        return next(csv.reader([line], delimiter=delimiter, strict=True))
    except csv.Error:
        return []


def read_csv(data: bytes, file_name: str, table: Table) -> RawRows:
    """Delimited text with the contract's exact header, in one of its encodings."""
    text = decode_text(decompress(data, file_name), table.encodings)
    lines = text_lines(text)
    try:
        header = _header_fields(lines["_raw"][0], table.delimiter)
    except csv.Error as error:
        raise UnreadableFile(f"unreadable header: {error}") from error
    if header != list(table.header):
        raise UnreadableFile(wrong_header(table, header, table.delimiter))
    body = lines.slice(1).filter(pl.col("_raw").str.strip_chars() != "")
    if table.summary_prefix:
        body = body.filter(~pl.col("_raw").str.starts_with(table.summary_prefix))
    quoted = pl.col("_raw").str.contains('"', literal=True)
    plain = body.filter(~quoted).with_columns(pl.col("_raw").str.split(table.delimiter).alias("_fields"))
    with_quotes = body.filter(quoted).with_columns(
        pl.col("_raw")
        .map_elements(lambda line: _split_quoted(line, table.delimiter), return_dtype=pl.List(pl.String))
        .alias("_fields")
    )
    body = pl.concat([plain, with_quotes]).sort("_row_number")
    width = len(table.header)
    # A trailing empty field (an export writing `;` after the last column) is not a field.
    fields = (
        pl.when((pl.col("_fields").list.len() == width + 1) & (pl.col("_fields").list.last() == ""))
        .then(pl.col("_fields").list.head(width))
        .otherwise(pl.col("_fields"))
    )
    body = body.with_columns(fields.alias("_fields"))
    bad_width = pl.col("_fields").list.len() != width
    rejected = body.filter(bad_width).select(
        "_row_number",
        "_raw",
        pl.format("expected {} fields, found {}", pl.lit(width), pl.col("_fields").list.len()).alias(
            "reason"
        ),
    )
    good = body.filter(~bad_width)
    rows = good.select(
        "_row_number",
        "_raw",
        *[
            pl.col("_fields").list.get(i).str.strip_chars().replace("", None).alias(name)
            for i, name in enumerate(table.header)
        ],
    )
    return RawRows(rows=rows, rejected=rejected, rows_read=body.height)


def _not_json_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _scalar_fields(line: str, fields: tuple[str, ...]) -> str | None:
    """Why a JSON line is not a usable record, or None when it is.

    Stricter than Python's `json` where the bulk decoder is (NaN, Infinity, numbers
    beyond a double), so a line passed here never makes the bulk decode fail again.
    """
    try:
        record = json.loads(line, parse_constant=_not_json_constant, parse_float=_finite_float)
    except json.JSONDecodeError as error:
        return f"invalid JSON: {error.msg} at column {error.colno}"
    except ValueError as error:
        return f"invalid JSON: {error}"
    except RecursionError:
        return "invalid JSON: nested too deeply"
    if not isinstance(record, dict):
        return "not a JSON object"
    for name in fields:
        if isinstance(record.get(name), (dict, list)):
            return f"{name}: expected a single value, got {type(record[name]).__name__}"
    return None


def _decode_json_objects(lines: pl.DataFrame, fields: tuple[str, ...]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Decode JSON objects in bulk; only a chunk that fails is looked at line by line."""
    dtype = pl.Struct({name: pl.String for name in fields})
    decoded, rejected = [], []
    for offset in range(0, lines.height, JSON_CHUNK_ROWS):
        chunk = lines.slice(offset, JSON_CHUNK_ROWS)
        try:
            decoded.append(chunk.with_columns(pl.col("_raw").str.json_decode(dtype).alias("_record")))
            continue
        except pl.exceptions.PolarsError:
            pass
        reasons = chunk.with_columns(
            pl.col("_raw")
            .map_elements(lambda line: _scalar_fields(line, fields), return_dtype=pl.String)
            .alias("reason")
        )
        rejected.append(reasons.filter(pl.col("reason").is_not_null()).select(*RAW_COLUMNS, "reason"))
        good = reasons.filter(pl.col("reason").is_null()).drop("reason")
        decoded.append(good.with_columns(pl.col("_raw").str.json_decode(dtype).alias("_record")))
    rows = pl.concat(decoded) if decoded else lines.with_columns(pl.lit(None, dtype).alias("_record"))
    rows = rows.select(*RAW_COLUMNS, pl.col("_record").struct.unnest())
    return rows, pl.concat([empty_rejected(), *rejected])


def read_jsonl(data: bytes, file_name: str, table: Table) -> RawRows:
    """JSON Lines, optionally gzip; one object per non-blank line."""
    text = decode_text(decompress(data, file_name), table.encodings)
    lines = text_lines(text).filter(pl.col("_raw").str.strip_chars() != "")
    if lines.is_empty():
        raise UnreadableFile("no JSON lines in file")
    rows, rejected = _decode_json_objects(lines, table.header)
    return RawRows(rows=rows, rejected=rejected, rows_read=lines.height)


def _rings_valid(rings: object) -> bool:
    if not isinstance(rings, list) or not rings:
        return False
    for ring in rings:
        if not isinstance(ring, list) or len(ring) < 4:
            return False
        for point in ring:
            if not (isinstance(point, list) and len(point) >= 2):
                return False
            if not all(isinstance(v, (int, float)) for v in point[:2]):
                return False
    return True


def _polygons(geometry: dict) -> list | None:
    """The polygons of a Polygon or MultiPolygon geometry, or None if it is neither."""
    kind, coordinates = geometry.get("type"), geometry.get("coordinates")
    polygons = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else None
    if not isinstance(polygons, list) or not polygons or not all(map(_rings_valid, polygons)):
        return None
    return polygons


def read_geojson(data: bytes, file_name: str, table: Table) -> RawRows:
    """A FeatureCollection of named (Multi)Polygons, one row per feature."""
    text = decode_text(decompress(data, file_name), table.encodings)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise UnreadableFile(f"invalid JSON: {error.msg} at line {error.lineno}") from error
    except RecursionError as error:
        raise UnreadableFile("invalid JSON: nested too deeply") from error
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise UnreadableFile("not a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise UnreadableFile("FeatureCollection without a features list")
    records, rejected = [], []
    for number, feature in enumerate(features, start=1):
        raw = json.dumps(feature, ensure_ascii=False)
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        polygons = _polygons(geometry) if isinstance(geometry, dict) else None
        if polygons is None:
            rejected.append((number, raw, "geometry is not a valid Polygon or MultiPolygon"))
            continue
        points = [p for polygon in polygons for ring in polygon for p in ring]
        properties = feature.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        name = properties.get("name")
        records.append(
            {
                "_row_number": number,
                "_raw": raw,
                "name": None if name is None else str(name),
                "geometry": json.dumps(geometry, separators=(",", ":")),
                "min_lon": str(min(p[0] for p in points)),
                "min_lat": str(min(p[1] for p in points)),
                "max_lon": str(max(p[0] for p in points)),
                "max_lat": str(max(p[1] for p in points)),
            }
        )
    schema = {"_row_number": pl.Int64, "_raw": pl.String} | {
        k: pl.String for k in ("name", "geometry", "min_lon", "min_lat", "max_lon", "max_lat")
    }
    rows = pl.DataFrame(records, schema=schema)
    rejected_frame = pl.DataFrame(rejected, schema=empty_rejected().schema, orient="row")
    return RawRows(rows=rows, rejected=rejected_frame, rows_read=len(features))


class _NotJson:
    """A constant Python's decoder takes and JSON does not (NaN, Infinity)."""

    def __init__(self, text: str) -> None:
        self.text = text


class _JsonNumber(str):
    """A JSON number kept as the text it was written as: typing is the contract's job."""


JSON_DECODER = json.JSONDecoder(parse_constant=_NotJson, parse_float=_JsonNumber, parse_int=_JsonNumber)
JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _array_elements(text: str) -> list[tuple[object, str]]:
    """Each element of a top-level JSON array with its text as it stands in the file.

    Numbers stay the text they were written as (typing is the next step). Anything that
    is not one complete array (truncated, invalid, another kind of document) makes the
    file unreadable: past the first error no element can be told apart reliably.
    """
    position = JSON_SPACE.match(text, 0).end()
    if not text.startswith("[", position):
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise UnreadableFile("invalid JSON: expected an array of records") from None
        raise UnreadableFile(f"expected a JSON array of records, got {_json_kind(document)}")
    position = JSON_SPACE.match(text, position + 1).end()
    elements: list[tuple[object, str]] = []
    if text.startswith("]", position):
        position += 1
    else:
        while True:
            try:
                element, end = JSON_DECODER.raw_decode(text, position)
            except json.JSONDecodeError as error:
                raise UnreadableFile(_json_error(error, len(elements) + 1)) from error
            except RecursionError:
                raise UnreadableFile("invalid JSON: nested too deeply") from None
            elements.append((element, text[position:end]))
            position = JSON_SPACE.match(text, end).end()
            if text.startswith(",", position):
                position = JSON_SPACE.match(text, position + 1).end()
            elif text.startswith("]", position):
                position += 1
                break
            else:
                what = "truncated" if position >= len(text) else "expected ',' or ']'"
                raise UnreadableFile(f"invalid JSON: {what} after element {len(elements)}")
    if JSON_SPACE.match(text, position).end() != len(text):
        raise UnreadableFile("invalid JSON: extra data after the array")
    return elements


def _json_error(error: json.JSONDecodeError, element: int) -> str:
    what = "truncated" if error.pos >= len(error.doc) else error.msg
    return f"invalid JSON in element {element}: {what} (line {error.lineno}, column {error.colno})"


def _json_kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), "a number")  # _JsonNumber too


def _element_problem(element: object, fields: tuple[str, ...]) -> str | None:
    """Why one array element is not a usable record, or None when it is."""
    if not isinstance(element, dict):
        return f"not a JSON object but {_json_kind(element)}"
    for name in fields:
        value = element.get(name)
        if isinstance(value, (dict, list)):
            return f"{name}: expected a single value, got {type(value).__name__}"
        if isinstance(value, _NotJson):
            return f"invalid JSON: {value.text} is not valid JSON"
        if isinstance(value, str) and not _encodable(value):
            return f"{name}: invalid JSON string (a lone surrogate escape)"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def read_json_array(data: bytes, file_name: str, table: Table) -> RawRows:
    """One JSON document holding an array of records; row number = array index + 1."""
    text = decode_text(decompress(data, file_name), table.encodings)
    records, rejected = [], []
    for number, (element, raw) in enumerate(_array_elements(text), start=1):
        raw = raw if _encodable(raw) else raw.encode("utf-8", "backslashreplace").decode("utf-8")
        problem = _element_problem(element, table.header)
        if problem is not None:
            rejected.append((number, raw, problem))
            continue
        fields = {name: _json_text(element.get(name)) for name in table.header}
        records.append({"_row_number": number, "_raw": raw} | fields)
    schema = {"_row_number": pl.Int64, "_raw": pl.String} | {n: pl.String for n in table.header}
    rows = pl.DataFrame(records, schema=schema)
    rejected_frame = pl.DataFrame(rejected, schema=empty_rejected().schema, orient="row")
    return RawRows(rows=rows, rejected=rejected_frame, rows_read=len(records) + len(rejected))


XLSX_WORKBOOK_PART = "xl/workbook.xml"
XLSX_CELL_REFERENCE = re.compile(rb'\br="([A-Z]{1,3})([0-9]{1,7})"')
XLSX_MAX_CELLS = 5_000_000  # a million rows of the five columns; far beyond any daily export
EXCEL_EPOCH = (1899, 12, 30)  # day 0 of Excel's 1900 date system, as it counts after Feb 1900
# What a damaged zip raises while read: bad headers, unknown compression, encryption, bad data.
ZIP_DAMAGE = (
    zipfile.BadZipFile,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OSError,
    zlib.error,
    EOFError,
)
EXCEL_CELL_ERROR = re.compile(r"Error\((\w+)\)")


def _first_sheet_part(package: zipfile.ZipFile) -> str | None:
    """The zip member holding the workbook's first sheet, as its relationships name it."""
    try:
        workbook = ElementTree.fromstring(package.read(XLSX_WORKBOOK_PART))
        relations = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return None  # calamine says what is wrong
    sheet = next((e for e in workbook.iter() if e.tag.endswith("}sheet")), None)
    ids = [v for k, v in (sheet.attrib.items() if sheet is not None else ()) if k.endswith("}id")]
    for relation in relations:
        if ids and relation.get("Id") == ids[0]:
            target = relation.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return None


def _check_first_sheet_size(package: zipfile.ZipFile) -> None:
    """Refuse a sheet whose cells span more than XLSX_MAX_CELLS before calamine reads it.

    Calamine holds a sheet as one dense grid from A1 to its farthest cell, so a single stray
    value in XFD1048576 would ask for billions of cells and end the process, not the file.
    """
    part = _first_sheet_part(package)
    if part is None or part not in package.namelist():
        return
    rows = columns = 0
    tail = b""
    with package.open(part) as sheet:
        for block in iter(lambda: sheet.read(1 << 20), b""):
            text = tail + block
            for letters, digits in XLSX_CELL_REFERENCE.findall(text):
                rows = max(rows, int(digits))
                columns = max(columns, _column_number(letters))
            tail = text[-32:]
    if rows * columns > XLSX_MAX_CELLS:
        raise UnreadableFile(
            f"first sheet too large: cells up to row {rows} and column {columns} "
            f"({rows * columns} cells, at most {XLSX_MAX_CELLS} are read)"
        )


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def _open_xlsx(data: bytes) -> fastexcel.ExcelReader:
    """The workbook, after checking it really is an xlsx package that is whole."""
    if not data:
        raise UnreadableFile("empty file")
    try:
        package = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise UnreadableFile(
            "not an xlsx workbook: not a zip archive (truncated, or another format named .xlsx)"
        ) from error
    except ZIP_DAMAGE as error:
        raise UnreadableFile(f"corrupt xlsx workbook: {error}") from error
    with package:
        if XLSX_WORKBOOK_PART not in package.namelist():
            raise UnreadableFile(f"not an xlsx workbook: the zip archive has no {XLSX_WORKBOOK_PART}")
        try:
            damaged = package.testzip()
            if damaged is None:
                _check_first_sheet_size(package)
        except ZIP_DAMAGE as error:
            raise UnreadableFile(f"corrupt xlsx workbook: {error}") from error
        if damaged is not None:
            raise UnreadableFile(f"corrupt xlsx workbook: {damaged!r} is damaged")
    try:
        return fastexcel.read_excel(data)
    except fastexcel.FastExcelError as error:
        raise UnreadableFile(f"unreadable xlsx workbook: {str(error).splitlines()[0]}") from error


def _first_sheet(data: bytes) -> tuple[pl.DataFrame, list]:
    """The first sheet's cells as text, one row per sheet row from row 1, and its cell errors."""
    reader = _open_xlsx(data)
    if not reader.sheet_names:
        raise UnreadableFile("xlsx workbook without sheets")
    try:
        sheet = reader.load_sheet(0, header_row=None, dtypes="string", skip_rows=[])
        batch, errors = sheet.to_arrow_with_errors()
    except fastexcel.FastExcelError as error:
        raise UnreadableFile(f"unreadable first sheet: {str(error).splitlines()[0]}") from error
    cells = pl.from_arrow(batch)
    assert isinstance(cells, pl.DataFrame)
    cells = cells.select(pl.all().str.strip_chars().replace("", None))
    return cells, (errors.errors if errors is not None else [])


def _excel_date(text: pl.Expr) -> pl.Expr:
    """A date cell as ISO text: Excel shows a date, a datetime at midnight or a day serial."""
    midnight = text.str.extract(r"^(\d{4}-\d{2}-\d{2})[ T]00:00(:00(\.0+)?)?$")
    serial = text.str.extract(r"^(\d{1,7})(\.0+)?$").cast(pl.Int64, strict=False)
    from_serial = pl.date(*EXCEL_EPOCH) + pl.duration(days=serial)
    return (
        pl.when(midnight.is_not_null())
        .then(midnight)
        .when(serial.is_between(1, 2_958_465))
        .then(from_serial.dt.to_string("%Y-%m-%d"))
        .otherwise(text)
    )


def read_xlsx(data: bytes, file_name: str, table: Table) -> RawRows:
    """The first sheet of an Excel workbook: the contract's exact header, then one row per record.

    Row numbers are the sheet's; blank rows are not records. A row shorter than the header
    has empty cells at its end, which Excel does not store; cells beyond the header are not.
    """
    cells, errors = _first_sheet(data)
    if cells.width == 0 or cells.height == 0:
        raise UnreadableFile("empty sheet")
    cells = cells.with_row_index("_row_number", offset=1).with_columns(pl.col("_row_number").cast(pl.Int64))
    fields = [c for c in cells.columns if c != "_row_number"]
    error_rows = sorted({error.offset_position[0] + 1 for error in errors})
    filled = cells.filter(
        pl.any_horizontal(pl.col(fields).is_not_null()) | pl.col("_row_number").is_in(error_rows)
    )
    if filled.is_empty():
        raise UnreadableFile("empty sheet")
    header_row = filled.row(0, named=True)
    header = [header_row[f] or "" for f in fields]
    while header and header[-1] == "":
        header.pop()
    if header != list(table.header):
        raise UnreadableFile(wrong_header(table, header, ", "))
    width = len(table.header)
    names = list(table.header) + [f"column {i + 1}" for i in range(width, len(fields))]
    body = filled.slice(1).rename(dict(zip(fields, names, strict=True)))
    body = body.with_columns(pl.struct(names).struct.json_encode().alias("_raw"))
    extra = names[width:]
    last_filled = pl.max_horizontal(
        [pl.when(pl.col(n).is_not_null()).then(i + 1) for i, n in enumerate(extra, start=width)]
        or [pl.lit(0)]
    )
    problems = [
        pl.when(last_filled > width).then(
            pl.format("expected {} fields, found {}", pl.lit(width), last_filled)
        ),
        _cell_errors(errors, names, header_row_index=int(header_row["_row_number"])),
    ]
    body = body.with_columns(pl.coalesce(problems).alias("reason"))
    dates = [c.source for c in table.columns if c.type == "date" and c.source in table.header]
    rows = body.filter(pl.col("reason").is_null()).select(
        "_row_number",
        "_raw",
        *[_excel_date(pl.col(n)).alias(n) if n in dates else pl.col(n) for n in table.header],
    )
    rejected = body.filter(pl.col("reason").is_not_null()).select("_row_number", "_raw", "reason")
    return RawRows(rows=rows, rejected=rejected, rows_read=body.height)


def _cell_errors(errors: list, names: list[str], header_row_index: int) -> pl.Expr:
    """The first error cell (#DIV/0!, #N/A, ...) of each row, as a reason; Excel shows no value."""
    reasons: dict[int, str] = {}
    for error in errors:
        row, column = error.offset_position
        kind = EXCEL_CELL_ERROR.search(error.detail)
        name = names[column] if column < len(names) else f"column {column + 1}"
        message = f"{name}: Excel cell error {kind.group(1) if kind else error.detail}"
        if row + 1 > header_row_index:
            reasons.setdefault(row + 1, message)
    if not reasons:
        return pl.lit(None, pl.String)
    return pl.col("_row_number").replace_strict(reasons, default=None, return_dtype=pl.String)


READERS = {
    "csv": read_csv,
    "jsonl": read_jsonl,
    "json_array": read_json_array,
    "geojson": read_geojson,
    "xlsx": read_xlsx,
}


def read_raw(data: bytes, file_name: str, table: Table) -> RawRows:
    """Read a landing file with its table's format; raises UnreadableFile."""
    reader = READERS.get(table.format)
    if reader is None:
        raise UnreadableFile(f"no reader for format {table.format}")
    return reader(data, file_name, table)
