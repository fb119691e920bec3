"""Write one open dataset from the warehouse as Parquet and CSV, streamed by DuckDB.

DuckDB's `COPY ... TO` writes the files itself, so a table larger than memory never
passes through Python. The Parquet file is written first, straight from the warehouse,
and the CSV is written from that Parquet file: both files then hold exactly the same
rows even if the warehouse is rebuilt in between.

CSV follows RFC 4180 (comma, double-quote quoting with doubled quotes, CRLF, header
row), UTF-8 without BOM, empty field for null. Timestamps are ISO 8601 in UTC with a
`Z`: a `timestamp with time zone` is converted to UTC; a plain `timestamp` is taken to
be UTC already, which is how the platform stores every time.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from publishing.datasets import OpenDataset, frictionless_type, quote_identifier

TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"
SECONDS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MICROSECONDS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


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


def export_dataset(con: duckdb.DuckDBPyConnection, dataset: OpenDataset, folder: Path) -> int:
    """Write `<name>.parquet` (zstd) and `<name>.csv` into `folder`; return the row count.

    Only the declared columns are written, in declared order, so a column the dbt project
    does not document is never published by accident. Rows are ordered by the primary
    key, so an unchanged table gives byte-identical files.
    """
    parquet = folder / f"{dataset.name}.parquet"
    columns = ", ".join(quote_identifier(c.name) for c in dataset.columns)
    order = ", ".join(quote_identifier(c) for c in dataset.primary_key)
    query = f"SELECT {columns} FROM {dataset.table}" + (f" ORDER BY {order}" if order else "")
    rows = con.execute(
        f"COPY ({query}) TO {sql_string(str(parquet))} (FORMAT parquet, COMPRESSION zstd)"
    ).fetchone()[0]
    _write_csv(con, parquet, folder / f"{dataset.name}.csv")
    return int(rows)


def _write_csv(con: duckdb.DuckDBPyConnection, parquet: Path, csv: Path) -> None:
    source = f"read_parquet({sql_string(str(parquet))})"
    types = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    timestamps = [name for name, kind in types.items() if frictionless_type(kind) == "datetime"]
    fractional = _has_fractional_seconds(con, source, timestamps, types)
    selects = []
    for name, kind in types.items():
        column = quote_identifier(name)
        if name in timestamps:
            utc = f"timezone('UTC', {column})" if kind == TIMESTAMPTZ else f"{column}::TIMESTAMP"
            form = MICROSECONDS_FORMAT if fractional[name] else SECONDS_FORMAT
            selects.append(f"strftime({utc}, {sql_string(form)}) AS {column}")
        else:
            selects.append(column)
    con.execute(
        f"COPY (SELECT {', '.join(selects)} FROM {source}) TO {sql_string(str(csv))} "
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
