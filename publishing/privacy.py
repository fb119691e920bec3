"""The privacy gate: nothing in a release may identify a person.

Run on the exported files themselves, right after the export and before anything else
of the release is written, so the check sees exactly what would be published. Every
problem in every dataset is collected first and then reported together, each naming its
dataset and column; one problem stops the whole release and `latest` stays where it was.
The gate never quotes a value it finds: its message goes to logs, and the value is the
very thing that must not spread.

The rules:

(a) No column marked pii, and no column the dataset does not declare, in any CSV or
    Parquet file (the manifest guard refuses pii models and columns already; this looks
    at the files actually written).

(b) No value that looks like a personnummer or like a platform pseudonym, anywhere in the
    text of a CSV file or in a text, integer or decimal column of a Parquet file. DuckDB
    scans each file once with regular expressions, so a large release stays fast.

    A personnummer is found inside any text. Decimal numbers (`59.8112189876`, a
    coordinate) are set aside first: digits after a decimal point are a fraction, not an
    identifier. The text is then cut into words at every character that is not a digit,
    `-` or `+`, and each word into digit groups at `-` and `+`. A candidate is one group
    of 10 or 12 digits, or two neighbouring groups of 6 and 4 or 8 and 4 digits
    (`YYMMDD-NNNN`, `YYMMDD+NNNN`, `YYYYMMDD-NNNN`). It is a
    personnummer when: a 12-digit form starts with 18, 19 or 20; YYMMDD is a real date
    (checked in the 2000s for the 10-digit forms, so 29 February is accepted), where a day
    of 61-91 is a samordningsnummer's day + 60; and the ten digits YYMMDDNNNC pass the
    Luhn check. The check digit is what keeps ordinary 10-digit numbers (ids, phone
    numbers) from stopping releases: only one in ten passes it by chance. `811218 9876`
    (a space), an 11-digit run, or a wrong check digit is not a personnummer, and neither
    is an organisationsnummer (its "month" is 20 or more).

    A pseudonym is what ingestion makes of a personal identifier (ingestion/pseudonyms.py):
    `ps_` and exactly 32 hex digits, found as a whole word, in upper or lower case.

(c) In a dataset that declares `suppression` (publishing/suppression.py), no published
    count (a cell or a total) lies between 1 and min_count - 1, and none is negative.
    0 is published: it says nobody is in the cell and points at no one, and hiding zeros
    too would hide where the city has no cases at all. It follows that a reader knows
    every suppressed (null) cell holds at least 1, and the next rule assumes so.

(d) No combination of published cells reveals a suppressed one. For every declared total
    dimension, the cells that differ only in that dimension form a line: the total row
    (the dimension holds its marker, e.g. visit_type = 'Alla') equals the sum of the
    others. A row missing from the table is a published 0. Then, line by line:
    - a line with exactly one unknown cell (a suppressed cell, or a suppressed total)
      gives that cell away; the recovered cell is then known in every other line it is
      part of, and this repeats until nothing more can be recovered. Every recovered
      cell is a violation;
    - in a line whose total is known, the suppressed cells sum to the total minus the
      published cells. With k suppressed cells that sum S is a violation when S < k + 1
      (S = k says every one of them is 1; less cannot be) or S < min_count (together they
      are a group smaller than the threshold);
    - a line with nothing suppressed must add up: a declared total that is not the sum
      of its cells makes every conclusion above void.
    This is the line-by-line audit statistical offices use; it does not solve the whole
    table as a linear programme, so intervals that only several lines together narrow
    down are not found.

Counts are checked in the Parquet files, which hold exactly the CSV's rows (the CSV is
written from them); the small-count rule (c) is checked in the CSV files too.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from ingestion.pseudonyms import PSEUDONYM_HEX_DIGITS, PSEUDONYM_PATTERN, PSEUDONYM_PREFIX
from publishing.datasets import OpenDataset, quote_identifier
from publishing.errors import ReleaseError
from publishing.export import sql_string
from publishing.suppression import Suppression

__all__ = [
    "PSEUDONYM_PATTERN",
    "PrivacyViolation",
    "check_privacy",
    "flag_personnummer",
    "flag_pseudonyms",
]

DATA_SUFFIXES = (".csv", ".parquet")
# A pseudonym anywhere in a text, as a whole word, in either case (RE2 and Python `re`
# read these the same).
PSEUDONYM_WORD = rf"\b{PSEUDONYM_PREFIX}[0-9a-f]{{{PSEUDONYM_HEX_DIGITS}}}\b"
PSEUDONYM_IN_TEXT = f"(?i:{PSEUDONYM_WORD})"
# Somewhere in the text: [CC]YYMMDD[-+]NNNN with a plausible month and day, not inside a
# longer digit run nor after `<digit>.` (a decimal fraction). A cheap filter: only values
# it lets through get the exact rule.
PERSONNUMMER_SHAPE = (
    r"(^|^[.]|[^0-9.]|[^0-9][.])(18|19|20)?[0-9]{2}(0[1-9]|1[0-2])"
    r"(0[1-9]|[12][0-9]|3[01]|6[1-9]|[78][0-9]|9[01])[-+]?[0-9]{4}([^0-9]|$)"
)
# A row worth the exact rules: its columns' text, joined, matches either filter.
SUSPECT = f"{PERSONNUMMER_SHAPE}|{PSEUDONYM_IN_TEXT}"
# Parquet column types that cannot hold a personnummer or a pseudonym in any form.
UNSCANNED_TYPES = ("BOOLEAN", "DATE", "TIME", "TIMESTAMP", "INTERVAL", "UUID", "FLOAT", "DOUBLE", "REAL")
SHOWN_PROBLEMS = 50
SHOWN_CELLS = 3
_FLAG_LOCK = threading.Lock()

_MACROS = (
    # Luhn over ten digits: double every other digit from the first, add the digits up.
    """CREATE OR REPLACE TEMP MACRO personnummer_luhn(t) AS (
        list_sum(list_transform(range(10), lambda i: CASE WHEN i % 2 = 0
            THEN (2 * CAST(t[i + 1] AS INTEGER)) // 10 + (2 * CAST(t[i + 1] AS INTEGER)) % 10
            ELSE CAST(t[i + 1] AS INTEGER) END)) % 10 = 0)""",
    """CREATE OR REPLACE TEMP MACRO personnummer_date(year, month, day) AS (
        try_cast(year || '-' || month || '-' || lpad(CAST(CASE WHEN CAST(day AS INTEGER) > 60
            THEN CAST(day AS INTEGER) - 60 ELSE CAST(day AS INTEGER) END AS VARCHAR), 2, '0')
            AS DATE) IS NOT NULL)""",
    """CREATE OR REPLACE TEMP MACRO personnummer_digits(d) AS (
        CASE WHEN length(d) = 12
            THEN substr(d, 1, 2) IN ('18', '19', '20')
                AND personnummer_date(substr(d, 1, 4), substr(d, 5, 2), substr(d, 7, 2))
                AND personnummer_luhn(substr(d, 3, 10))
            ELSE personnummer_date('20' || substr(d, 1, 2), substr(d, 3, 2), substr(d, 5, 2))
                AND personnummer_luhn(d) END)""",
    # The candidates in one word's digit groups: a 10- or 12-digit group, or 6+4 / 8+4.
    """CREATE OR REPLACE TEMP MACRO personnummer_candidates(g) AS (
        list_concat(
            list_filter(g, lambda x: length(x) IN (10, 12)),
            list_transform(
                list_filter(range(1, len(g)),
                    lambda i: length(g[i]) IN (6, 8) AND length(g[i + 1]) = 4),
                lambda i: g[i] || g[i + 1])))""",
    f"""CREATE OR REPLACE TEMP MACRO looks_like_personnummer(v) AS (
        CASE WHEN regexp_matches(v, {sql_string(PERSONNUMMER_SHAPE)})
            THEN list_bool_or(list_transform(
                flatten(list_transform(
                    string_split_regex(regexp_replace(v, '[0-9]+[.][0-9]+', ' ', 'g'), '[^0-9+-]+'),
                    lambda w: personnummer_candidates(string_split_regex(w, '[-+]')))),
                lambda d: personnummer_digits(d))) IS TRUE
            ELSE false END)""",
    f"""CREATE OR REPLACE TEMP MACRO looks_like_pseudonym(v) AS (
        regexp_matches(v, {sql_string(PSEUDONYM_IN_TEXT)}))""",
)


class PrivacyViolation(ReleaseError):
    """The release would publish something that identifies a person; `problems` names each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "\n".join(f"  - {problem}" for problem in problems[:SHOWN_PROBLEMS])
        more = len(problems) - SHOWN_PROBLEMS
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"privacy gate: the release would identify people:\n{shown}{tail}")


def check_privacy(folder: Path, datasets: list[OpenDataset]) -> None:
    """Check every CSV and Parquet file under `folder` against the rules of this module.

    Raises PrivacyViolation naming every problem found (dataset, column, rule, and the
    cells involved, never a value); returns None when the files may be published.
    """
    files, strays = _files_by_dataset(folder, datasets)
    problems = [f"{path.relative_to(folder)}: a data file that belongs to no dataset" for path in strays]
    with duckdb.connect() as con:
        for macro in _MACROS:
            con.execute(macro)
        for dataset in datasets:
            for path in files[dataset.name]:
                source = _source(path)
                types = _column_types(con, source)
                problems.extend(_column_problems(dataset, path.name, types))
                problems.extend(_value_problems(con, dataset.name, path, source, types))
            if dataset.suppression is not None:
                problems.extend(_count_problems(con, dataset, files[dataset.name]))
    if problems:
        raise PrivacyViolation(problems)


def flag_personnummer(texts: Sequence[str]) -> list[bool]:
    """Which texts hold a personnummer by rule (b): the gate's own SQL, one query for all."""
    return _flags("looks_like_personnummer", texts)


def flag_pseudonyms(texts: Sequence[str]) -> list[bool]:
    """Which texts hold a platform pseudonym by rule (b): the gate's own SQL, one query for all."""
    return _flags("looks_like_pseudonym", texts)


def _flags(macro: str, texts: Sequence[str]) -> list[bool]:
    query = f"SELECT list_transform(?::VARCHAR[], lambda v: {macro}(v))"
    with _FLAG_LOCK:
        flags = _flag_connection().execute(query, [list(texts)]).fetchone()[0]
    return [bool(flag) for flag in flags]


@cache
def _flag_connection() -> duckdb.DuckDBPyConnection:
    """One in-memory connection with the macros, kept: opening one costs more than a check."""
    con = duckdb.connect()
    for definition in _MACROS:
        con.execute(definition)
    return con


def _files_by_dataset(folder: Path, datasets: list[OpenDataset]) -> tuple[dict[str, list[Path]], list[Path]]:
    """Each dataset's data files: `<name>.*`, `<name>-<part>.*` or under `<name>/`.

    The longest matching name wins, and a file no dataset claims is returned apart, so
    no data file escapes the gate whatever the export names its parts.
    """
    names = sorted((d.name for d in datasets), key=len, reverse=True)
    files: dict[str, list[Path]] = {d.name: [] for d in datasets}
    strays = []
    for path in sorted(p for p in folder.rglob("*") if p.suffix in DATA_SUFFIXES and p.is_file()):
        stem = path.relative_to(folder).with_suffix("").as_posix()
        owner = next((n for n in names if stem == n or stem.startswith((f"{n}-", f"{n}/"))), None)
        if owner is None:
            strays.append(path)
        else:
            files[owner].append(path)
    return files, strays


def _source(path: Path) -> str:
    """The file as a DuckDB table; CSV read as text, exactly as a reader would see it."""
    if path.suffix == ".parquet":
        return f"read_parquet({sql_string(str(path))})"
    return (
        f"read_csv({sql_string(str(path))}, header = true, delim = ',', quote = '\"', "
        "escape = '\"', all_varchar = true)"
    )


def _column_types(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, str]:
    try:
        return {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    except duckdb.Error as exc:
        raise ReleaseError(f"privacy gate cannot read {source}: {exc}") from exc


def _column_problems(dataset: OpenDataset, file_name: str, types: dict[str, str]) -> list[str]:
    """Rule (a): only declared columns, none of them marked pii."""
    declared = {c.name: c for c in dataset.columns}
    problems = []
    for name in types:
        column = declared.get(name)
        if column is None:
            problems.append(f"{dataset.name}: column {name} in {file_name} is not a declared column")
        elif column.pii:
            problems.append(f"{dataset.name}: column {name} in {file_name} is marked pii")
    return problems


def _value_problems(
    con: duckdb.DuckDBPyConnection, name: str, path: Path, source: str, types: dict[str, str]
) -> list[str]:
    """Rule (b), per column: how many values look personal.

    A first pass runs one cheap regular expression over each row's text; only when some
    row matches does a second pass apply the exact rules, column by column, to those rows.
    """
    scanned = [
        c for c, kind in types.items() if path.suffix == ".csv" or not kind.startswith(UNSCANNED_TYPES)
    ]
    if not scanned:
        return []
    texts = [f"CAST({quote_identifier(column)} AS VARCHAR)" for column in scanned]
    suspect = f"regexp_matches(concat_ws(chr(31), {', '.join(texts)}), {sql_string(SUSPECT)})"
    checks = []
    for text in texts:
        checks.append(f"count(*) FILTER (WHERE looks_like_personnummer({text}))")
        checks.append(f"count(*) FILTER (WHERE looks_like_pseudonym({text}))")
    try:
        if not con.execute(f"SELECT count(*) FROM {source} WHERE {suspect}").fetchone()[0]:
            return []
        counts = con.execute(f"SELECT {', '.join(checks)} FROM {source} WHERE {suspect}").fetchone()
    except duckdb.Error as exc:
        raise ReleaseError(f"privacy gate cannot scan {path.name}: {exc}") from exc
    problems = []
    for index, column in enumerate(scanned):
        for found, what in zip(
            counts[2 * index : 2 * index + 2], ("a personnummer", "a pseudonym"), strict=True
        ):
            if found:
                problems.append(f"{name}: column {column} in {path.name}: {found} value(s) look like {what}")
    return problems


def _count_problems(con: duckdb.DuckDBPyConnection, dataset: OpenDataset, paths: list[Path]) -> list[str]:
    """Rules (c) and (d) for a dataset that declares suppression."""
    rule = dataset.suppression
    parquet = [p for p in paths if p.suffix == ".parquet"]
    problems = []
    for path in paths:
        problems.extend(_small_counts(con, dataset.name, rule, path))
    if not parquet:
        return [*problems, f"{dataset.name}: declares suppression but has no Parquet file to audit"]
    files = "[" + ", ".join(sql_string(str(p)) for p in parquet) + "]"
    dimensions = ", ".join(f"CAST({quote_identifier(d)} AS VARCHAR)" for d in rule.dimensions)
    counts = ", ".join(f"CAST({quote_identifier(c)} AS DOUBLE)" for c in rule.count_columns)
    rows = con.execute(f"SELECT {dimensions}, {counts} FROM read_parquet({files})").fetchall()
    width = len(rule.dimensions)
    cells_by_column: dict[str, dict[tuple, float | None]] = {c: {} for c in rule.count_columns}
    duplicates = set()
    for row in rows:
        key = tuple(row[:width])
        if key in cells_by_column[rule.count_columns[0]]:
            duplicates.add(key)
        for column, value in zip(rule.count_columns, row[width:], strict=True):
            cells_by_column[column][key] = value
    if duplicates:
        shown = "; ".join(_cell(rule, key) for key in sorted(duplicates, key=repr)[:SHOWN_CELLS])
        return [
            *problems,
            f"{dataset.name}: dimensions {', '.join(rule.dimensions)} do not name one row each "
            f"({len(duplicates)} repeated, e.g. {shown}); the cells cannot be audited",
        ]
    for column, cells in cells_by_column.items():
        problems.extend(f"{dataset.name}: column {column}: {problem}" for problem in _audit(rule, cells))
    return problems


def _small_counts(con: duckdb.DuckDBPyConnection, name: str, rule: Suppression, path: Path) -> list[str]:
    """Rule (c) in one file: counts of 1 to min_count - 1, and negative counts."""
    source = _source(path)
    problems = []
    for column in rule.count_columns:
        value = f"try_cast({quote_identifier(column)} AS DOUBLE)"
        for condition, what in (
            (f"{value} > 0 AND {value} < {rule.min_count}", f"a count below {rule.min_count}"),
            (f"{value} < 0", "a negative count"),
        ):
            dimensions = ", ".join(f"CAST({quote_identifier(d)} AS VARCHAR)" for d in rule.dimensions)
            found = con.execute(
                f"SELECT count(*) OVER (), {dimensions} FROM {source} WHERE {condition} LIMIT {SHOWN_CELLS}"
            ).fetchall()
            if found:
                cells = "; ".join(_cell(rule, tuple(row[1:])) for row in found)
                problems.append(
                    f"{name}: column {column} in {path.name}: {found[0][0]} cell(s) publish {what} "
                    f"(e.g. {cells}); publish them as null"
                )
    return problems


@dataclass
class _Line:
    """Cells that differ only in one total dimension: the total equals the sum of the others."""

    dimension: str
    total: tuple
    members: list[tuple]

    @property
    def cells(self) -> list[tuple]:
        return [self.total, *self.members]


def _audit(rule: Suppression, cells: dict[tuple, float | None]) -> list[str]:
    """Rule (d) for one count column: which suppressed cells the published ones reveal."""
    lines = _lines(rule, cells)
    known = {key: value for key, value in cells.items() if value is not None}
    recovered = _recover(lines, cells, known)
    problems = [
        f"the suppressed cell ({_cell(rule, key)}) equals "
        + (
            "the sum of the published cells it totals"
            if key == line.total
            else f"its total over {line.dimension} minus the other cells"
        )
        for key, line in recovered.items()
    ]
    for line in lines:
        if line.total not in known or any(key in recovered for key in line.cells):
            continue
        hidden = [key for key in line.members if key not in known]
        rest = known[line.total] - sum(known[key] for key in line.members if key in known)
        where = f"the total ({_cell(rule, line.total)}) over {line.dimension}"
        if not hidden and abs(rest) > 1e-9:
            problems.append(f"{where} is not the sum of its cells, as the declaration says it is")
        elif hidden and rest < len(hidden):
            problems.append(
                f"{where} is less than its {len(hidden)} suppressed cells can hold; "
                "a declared total must be the sum of its cells"
            )
        elif hidden and rest == len(hidden):
            problems.append(f"{where} reveals that each of its {len(hidden)} suppressed cells is 1")
        elif hidden and rest < rule.min_count:
            problems.append(
                f"{where} reveals that its {len(hidden)} suppressed cells together count fewer "
                f"than {rule.min_count}; suppress more cells of this line"
            )
    return problems


def _lines(rule: Suppression, cells: dict[tuple, float | None]) -> list[_Line]:
    """Every line with a total row; a line whose total is not published says nothing."""
    lines = []
    for dimension, marker in rule.totals.items():
        position = rule.dimensions.index(dimension)
        groups: dict[tuple, list[tuple]] = defaultdict(list)
        for key in cells:
            groups[key[:position] + key[position + 1 :]].append(key)
        for keys in groups.values():
            totals = [key for key in keys if key[position] == marker]
            if totals:
                members = [key for key in keys if key[position] != marker]
                lines.append(_Line(dimension, totals[0], members))
    return lines


def _recover(
    lines: list[_Line], cells: dict[tuple, float | None], known: dict[tuple, float]
) -> dict[tuple, _Line]:
    """Solve every line with one unknown cell, until none is left; `known` grows as it goes.

    Returns each recovered cell with the line that gave it away.
    """
    lines_of: dict[tuple, list[_Line]] = defaultdict(list)
    for line in lines:
        for key in line.cells:
            lines_of[key].append(line)
    recovered: dict[tuple, _Line] = {}
    pending = [line for line in lines if any(cells[key] is None for key in line.cells)]
    while pending:
        line = pending.pop()
        unknown = [key for key in line.cells if key not in known]
        if len(unknown) != 1:
            continue
        key = unknown[0]
        members = sum(known[k] for k in line.members if k != key)
        known[key] = members if key == line.total else known[line.total] - members
        recovered[key] = line
        pending.extend(lines_of[key])
    return recovered


def _cell(rule: Suppression, key: Iterable) -> str:
    return ", ".join(f"{d}={v}" for d, v in zip(rule.dimensions, key, strict=True))
