"""File formats: turn a landing file's bytes into rows of text, or say why it cannot be read.

Every reader here returns the same shape, `RawRows`: one string column per field the
file carries (named as in the file), `_row_number` and `_raw` (the row as it stood in
the file, kept for the quarantine). Typing and checking the values is the next step
(`ingestion.columns`), so that a bad value rejects one row, never the file.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import zlib
from dataclasses import dataclass

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
            raise UnreadableFile(
                f"not valid text in any accepted encoding ({', '.join(encodings)})"
            )
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
        raise UnreadableFile(
            f"wrong header: expected {table.delimiter.join(table.header)!r}, "
            f"got {table.delimiter.join(header)!r}"
        )
    body = lines.slice(1).filter(pl.col("_raw").str.strip_chars() != "")
    if table.summary_prefix:
        body = body.filter(~pl.col("_raw").str.starts_with(table.summary_prefix))
    quoted = pl.col("_raw").str.contains('"', literal=True)
    plain = body.filter(~quoted).with_columns(
        pl.col("_raw").str.split(table.delimiter).alias("_fields")
    )
    with_quotes = body.filter(quoted).with_columns(
        pl.col("_raw")
        .map_elements(
            lambda line: _split_quoted(line, table.delimiter), return_dtype=pl.List(pl.String)
        )
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
        pl.format(
            "expected {} fields, found {}", pl.lit(width), pl.col("_fields").list.len()
        ).alias("reason"),
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


def _decode_json_objects(
    lines: pl.DataFrame, fields: tuple[str, ...]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Decode JSON objects in bulk; only a chunk that fails is looked at line by line."""
    dtype = pl.Struct({name: pl.String for name in fields})
    decoded, rejected = [], []
    for offset in range(0, lines.height, JSON_CHUNK_ROWS):
        chunk = lines.slice(offset, JSON_CHUNK_ROWS)
        try:
            decoded.append(
                chunk.with_columns(pl.col("_raw").str.json_decode(dtype).alias("_record"))
            )
            continue
        except pl.exceptions.PolarsError:
            pass
        reasons = chunk.with_columns(
            pl.col("_raw")
            .map_elements(lambda line: _scalar_fields(line, fields), return_dtype=pl.String)
            .alias("reason")
        )
        rejected.append(
            reasons.filter(pl.col("reason").is_not_null()).select(*RAW_COLUMNS, "reason")
        )
        good = reasons.filter(pl.col("reason").is_null()).drop("reason")
        decoded.append(good.with_columns(pl.col("_raw").str.json_decode(dtype).alias("_record")))
    rows = (
        pl.concat(decoded) if decoded else lines.with_columns(pl.lit(None, dtype).alias("_record"))
    )
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
    polygons = (
        [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else None
    )
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


READERS = {"csv": read_csv, "jsonl": read_jsonl, "geojson": read_geojson}


def read_raw(data: bytes, file_name: str, table: Table) -> RawRows:
    """Read a landing file with its table's format; raises UnreadableFile."""
    reader = READERS.get(table.format)
    if reader is None:
        raise UnreadableFile(f"no reader for format {table.format}")
    return reader(data, file_name, table)
