"""Write one open dataset from the warehouse as Parquet, CSV and GeoJSON, streamed by DuckDB.

DuckDB's `COPY ... TO` writes the files itself, so a table larger than memory never
passes through Python. The Parquet file is written first, straight from the warehouse,
and the CSV is written from that Parquet file: both files then hold exactly the same
rows even if the warehouse is rebuilt in between.

CSV follows RFC 4180 (comma, double-quote quoting with doubled quotes, CRLF, header
row), UTF-8 without BOM, empty field for null. Timestamps are ISO 8601 in UTC with a
`Z`: a `timestamp with time zone` is converted to UTC; a plain `timestamp` is taken to
be UTC already, which is how the platform stores every time.

A release holds the whole history received. When that grows large, a dataset is split
into one set of files per year, each written with its own `COPY ... WHERE`, so memory
stays bounded and a reader can fetch one year alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from publishing.datasets import OpenDataset, frictionless_type, open_data_settings, quote_identifier
from publishing.geojson import Location, location_of, write_geojson

TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"
SECONDS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MICROSECONDS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
UNDATED = "undated"  # the part holding rows whose time is null, when a dataset is split by year


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def warehouse_problems(con: duckdb.DuckDBPyConnection, dataset: OpenDataset) -> list[str]:
    """Why the warehouse cannot give this dataset as declared; empty when it can.

    Checked before anything is written: every declared column must exist with a type
    that means the same in the published schema, so the schema never lies about the data.
    """
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {dataset.table}").fetchall()
    except duckdb.Error as exc:
        first_line = str(exc).splitlines()[0]
        return [f"{dataset.name}: cannot read {dataset.table} from the warehouse ({first_line})"]
    actual = {row[0]: row[1] for row in described}
    problems = []
    for column in dataset.columns:
        if column.name not in actual:
            problems.append(f"{dataset.name}: column {column.name} is not in the warehouse table")
        elif frictionless_type(actual[column.name]) != column.type:
            problems.append(
                f"{dataset.name}: column {column.name} is declared {column.type} but the "
                f"warehouse holds {actual[column.name]}"
            )
    return problems


@dataclass(frozen=True)
class ExportedPart:
    """One set of files of a dataset: all of it (`part` None) or one year of it."""

    part: str | None  # None, a year such as "2024", or UNDATED
    rows: int
    csv: Path
    parquet: Path
    geojson: Path | None = None  # only for a dataset with a location


@dataclass(frozen=True)
class ExportedDataset:
    name: str
    parts: list[ExportedPart]

    @property
    def rows(self) -> int:
        return sum(part.rows for part in self.parts)


def export_dataset(
    con: duckdb.DuckDBPyConnection,
    dataset: OpenDataset,
    folder: Path,
    *,
    year_split_rows: int | None = None,
) -> ExportedDataset:
    """Write the whole history of `dataset` into `folder` as Parquet (zstd), CSV and, when it
    has a location, GeoJSON.

    Only the declared columns are written, in declared order, so a column the dbt project
    does not document is never published by accident. Rows are ordered by the primary
    key, so an unchanged table gives byte-identical files. A dataset with a time column
    and more than `year_split_rows` rows (default: open_data.yaml) is written as one set
    of files per year of that column (UTC), `<name>-<year>.*`, plus `<name>-undated.*` for
    rows without a time, so a file never grows with the whole history.
    """
    limit = open_data_settings()["year_split_rows"] if year_split_rows is None else year_split_rows
    if limit < 1:
        raise ValueError(f"year_split_rows must be at least 1, not {limit}")
    location = location_of(dataset)
    time = time_column_of(dataset)
    total = con.execute(f"SELECT count(*) FROM {dataset.table}").fetchone()[0]
    if time is None or total <= limit:
        parts = [_export_part(con, dataset, folder, None, "", location)]
    else:
        year = _year_of(con, dataset, time)
        years = [
            row[0]
            for row in con.execute(
                f"SELECT DISTINCT {year} FROM {dataset.table} ORDER BY 1 NULLS LAST"
            ).fetchall()
        ]
        parts = [
            _export_part(
                con,
                dataset,
                folder,
                UNDATED if value is None else str(value),
                f"{year} IS NULL" if value is None else f"{year} = {int(value)}",
                location,
            )
            for value in years
        ]
    return ExportedDataset(dataset.name, parts)


def time_column_of(dataset: OpenDataset) -> str | None:
    """The column that splits a dataset into years: the declared `time_column` (a datetime,
    date or integer year), else the first datetime or date column."""
    types = {c.name: c.type for c in dataset.columns}
    if types.get(dataset.time_column) in ("datetime", "date", "integer"):
        return dataset.time_column
    return next((c.name for c in dataset.columns if c.type in ("datetime", "date")), None)


def part_stem(name: str, part: str | None) -> str:
    """File name without suffix: `<name>` for the whole dataset, `<name>-<part>` for a part."""
    return name if part is None else f"{name}-{part}"


def _year_of(con: duckdb.DuckDBPyConnection, dataset: OpenDataset, time: str) -> str:
    """The SQL year of `time` in UTC, the zone every published timestamp is written in
    (an integer time column, such as a statistics year, is the year itself)."""
    kind = dict(
        (row[0], row[1]) for row in con.execute(f"DESCRIBE SELECT * FROM {dataset.table}").fetchall()
    )[time]
    column = quote_identifier(time)
    if frictionless_type(kind) == "integer":  # the column is a year already
        return column
    return f"year(timezone('UTC', {column}))" if kind == TIMESTAMPTZ else f"year({column})"


def _export_part(
    con: duckdb.DuckDBPyConnection,
    dataset: OpenDataset,
    folder: Path,
    part: str | None,
    where: str,
    location: Location | None,
) -> ExportedPart:
    stem = part_stem(dataset.name, part)
    parquet = folder / f"{stem}.parquet"
    columns = ", ".join(quote_identifier(c.name) for c in dataset.columns)
    order = ", ".join(quote_identifier(c) for c in dataset.primary_key)
    query = f"SELECT {columns} FROM {dataset.table}"
    query += (f" WHERE {where}" if where else "") + (f" ORDER BY {order}" if order else "")
    rows = con.execute(
        f"COPY ({query}) TO {sql_string(str(parquet))} (FORMAT parquet, COMPRESSION zstd)"
    ).fetchone()[0]
    source = f"read_parquet({sql_string(str(parquet))})"
    text_forms = _text_forms(con, source)
    csv = folder / f"{stem}.csv"
    _write_csv(con, source, text_forms, csv)
    geojson = None
    if location is not None:
        geojson = folder / f"{stem}.geojson"
        write_geojson(con, dataset.name, source, text_forms, location, geojson)
    return ExportedPart(part, int(rows), csv, parquet, geojson)


def _text_forms(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    """Per column, the SQL expression of its published text form: timestamps as ISO 8601
    UTC with `Z`, everything else as it is. Shared by CSV and GeoJSON, so both agree."""
    types = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    timestamps = [name for name, kind in types.items() if frictionless_type(kind) == "datetime"]
    fractional = _has_fractional_seconds(con, source, timestamps, types)
    forms = {}
    for name, kind in types.items():
        column = quote_identifier(name)
        if name in timestamps:
            utc = f"timezone('UTC', {column})" if kind == TIMESTAMPTZ else f"{column}::TIMESTAMP"
            form = MICROSECONDS_FORMAT if fractional[name] else SECONDS_FORMAT
            forms[name] = f"strftime({utc}, {sql_string(form)})"
        else:
            forms[name] = column
    return forms


def _write_csv(con: duckdb.DuckDBPyConnection, source: str, text_forms: dict[str, str], csv: Path) -> None:
    selects = ", ".join(f"{form} AS {quote_identifier(name)}" for name, form in text_forms.items())
    con.execute(
        f"COPY (SELECT {selects} FROM {source}) TO {sql_string(str(csv))} "
        "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NULL '', "
        "NEW_LINE '\r\n')"
    )


def _has_fractional_seconds(
    con: duckdb.DuckDBPyConnection, source: str, timestamps: list[str], types: dict[str, str]
) -> dict[str, bool]:
    """Per timestamp column, whether any value has sub-second digits.

    One format per column keeps the CSV consistent: whole seconds when that loses
    nothing (the usual case for sensor readings), microseconds otherwise.
    """
    if not timestamps:
        return {}
    checks = ", ".join(
        f"coalesce(bool_or(epoch_us({quote_identifier(name)}"
        f"{'' if types[name] == TIMESTAMPTZ else '::TIMESTAMP'}) % 1000000 <> 0), false)"
        for name in timestamps
    )
    flags = con.execute(f"SELECT {checks} FROM {source}").fetchone()
    return dict(zip(timestamps, flags, strict=True))
