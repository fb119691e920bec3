"""RELEASE_NOTES.md: what a person reads first — what is in this release, what changed, and
what is not in it.

What changed is counted against the previous `latest` release, row by row: by primary key,
a row is added (its key is new), changed (same key, other values) or removed (its key is
gone). The same counts go into datapackage.json as `changes`, so a program that mirrors the
data can tell whether it needs to fetch anything. Datasets held back (a blocking quality check
failed, or the lead decided so) are named with the reason, and the notes say whether the
previous version stays available, so a reader never mistakes an old file for today's data.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import duckdb

from publishing.datapackage import dataset_of, resources_of
from publishing.datasets import OpenDataset, quote_identifier

_HERE = "__stadsdata_here"
_VALUES = "__stadsdata_values"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def changes_since(
    previous: Path | None,
    previous_resources: list[dict],
    folder: Path,
    resources: list[dict],
    datasets: list[OpenDataset],
    rows: dict[str, int],
    carried_forward: dict[str, str],
) -> dict:
    """Rows added, changed and removed per dataset since the `previous` release (or None).

    Compares the Parquet files of this release (in `folder`) with those of the previous one
    by each dataset's primary key, in DuckDB with a temporary folder to spill to, so the
    history may be larger than memory. Without a primary key, whole rows are compared:
    added and removed are then exact and `changed` is null (a changed row counts as one
    removed and one added). A carried-forward dataset is unchanged by definition.
    """
    summary: dict = {"previous_release": previous.name if previous else None, "datasets": {}}
    with tempfile.TemporaryDirectory(prefix="stadsdata-notes-") as spill, duckdb.connect() as con:
        con.execute(f"SET temp_directory = '{_escaped(spill)}'")
        con.execute("SET preserve_insertion_order = false")
        for dataset in sorted(datasets, key=lambda d: d.name):
            name = dataset.name
            new = _parquet_files(folder, resources, name)
            if not new:
                continue
            key = list(dataset.primary_key)
            entry = {"rows": rows.get(name), "added": 0, "changed": 0, "removed": 0}
            entry["compared_by"] = key or "whole rows"
            old = _parquet_files(previous, previous_resources, name) if previous else []
            if name in carried_forward:
                entry["carried_forward_from"] = carried_forward[name]
            elif not old:
                entry["added"] = rows.get(name)
                entry["new_dataset"] = previous is not None
            else:
                entry.update(_compare(con, new, old, key))
            summary["datasets"][name] = entry
    return summary


def _parquet_files(folder: Path, resources: list[dict], name: str) -> list[Path]:
    paths = [r["path"] for r in resources_of(resources, name) if r.get("format") == "parquet"]
    unexpected = [p for p in paths if Path(p).name != p]
    if unexpected:
        raise ValueError(f"release {folder.name} names unexpected paths {unexpected}")
    return [folder / p for p in paths]


def _escaped(text: str) -> str:
    return text.replace("'", "''")


def _relation(files: list[Path]) -> str:
    return "read_parquet([" + ", ".join(f"'{_escaped(str(f))}'" for f in files) + "])"


def _types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    return {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}


def _compare(con: duckdb.DuckDBPyConnection, new: list[Path], old: list[Path], key: list[str]) -> dict:
    """Counts of added, changed and removed rows between two sets of Parquet files.

    Only columns present in both with the same type are compared, so a column added to
    the model does not make every row "changed"; the notes list such schema changes.
    """
    new_relation, old_relation = _relation(new), _relation(old)
    new_types, old_types = _types(con, new_relation), _types(con, old_relation)
    common = [c for c in new_types if old_types.get(c) == new_types[c]]
    schema = {
        "columns_added": [c for c in new_types if c not in old_types],
        "columns_removed": [c for c in old_types if c not in new_types],
        "columns_retyped": [c for c in new_types if c in old_types and c not in common],
    }
    schema = {k: v for k, v in schema.items() if v}
    if key and all(k in common for k in key):
        counts = _compare_by_key(con, new_relation, old_relation, key, common)
    elif common:
        counts = _compare_whole_rows(con, new_relation, old_relation, common)
        counts["compared_by"] = "whole rows"
    else:
        counts = {"added": None, "changed": None, "removed": None, "compared_by": None}
    return {**counts, **schema}


def _compare_by_key(
    con: duckdb.DuckDBPyConnection, new: str, old: str, key: list[str], common: list[str]
) -> dict:
    keys = ", ".join(quote_identifier(k) for k in key)
    values = [quote_identifier(c) for c in common if c not in key]
    packed = f"row({', '.join(values)})" if values else "NULL"
    select = f"SELECT {keys}, {packed} AS {_VALUES}, true AS {_HERE}"
    same_key = " AND ".join(
        f"n.{quote_identifier(k)} IS NOT DISTINCT FROM o.{quote_identifier(k)}" for k in key
    )
    added, removed, changed = con.execute(
        f"WITH n AS ({select} FROM {new}), o AS ({select} FROM {old}) "
        f"SELECT count(*) FILTER (WHERE o.{_HERE} IS NULL), "
        f"count(*) FILTER (WHERE n.{_HERE} IS NULL), "
        f"count(*) FILTER (WHERE n.{_HERE} AND o.{_HERE} AND n.{_VALUES} IS DISTINCT FROM o.{_VALUES}) "
        f"FROM n FULL JOIN o ON {same_key}"
    ).fetchone()
    return {"added": added, "changed": changed, "removed": removed}


def _compare_whole_rows(con: duckdb.DuckDBPyConnection, new: str, old: str, common: list[str]) -> dict:
    columns = ", ".join(quote_identifier(c) for c in common)
    added, removed = con.execute(
        f"SELECT (SELECT count(*) FROM (SELECT {columns} FROM {new} EXCEPT ALL "
        f"SELECT {columns} FROM {old})), (SELECT count(*) FROM (SELECT {columns} FROM {old} "
        f"EXCEPT ALL SELECT {columns} FROM {new}))"
    ).fetchone()
    return {"added": added, "changed": None, "removed": removed}


def release_notes(
    *,
    release_id: str,
    created: str,
    resources: list[dict],
    rows: dict[str, int],
    held_back: dict[str, str],
    carried_forward: dict[str, str],
    removed: list[str],
    quality: dict | None,
    changes: dict | None = None,
) -> str:
    """Markdown notes built from the package's resources, so notes and package agree."""
    lines = [
        f"# Open-data release {release_id}",
        "",
        f"Published {created} by the City of Stockholm's data platform (stadsdata).",
        "Each dataset is a CSV file (RFC 4180, UTF-8, timestamps in UTC) and a Parquet file,",
        "and a GeoJSON file when it has a location; a large dataset is split into one file",
        "per year. `datapackage.json` describes them (Frictionless Data Package), `index.html`",
        "shows them, and `SHA256SUMS` lets you verify every file (`sha256sum -c SHA256SUMS`).",
        "",
        "## Datasets",
        "",
        "| dataset | title | owner | licence | rows | files |",
        "|---|---|---|---|---:|---|",
    ]
    for name in sorted({dataset_of(r) for r in resources}):
        mine = resources_of(resources, name)
        table = next((r for r in mine if r.get("profile") == "tabular-data-resource"), mine[0])
        licence = ", ".join(lic["name"] for lic in table.get("licenses", []))
        origin = carried_forward.get(name)
        count = rows.get(name)
        row_text = "unknown" if count is None else str(count)
        title = _one_line(table.get("title", "")).replace("|", "\\|")
        if origin:
            title += f" (from release {origin})"
        files = ", ".join(f"`{r['path']}`" for r in sorted(mine, key=lambda r: r["path"]))
        lines.append(f"| {name} | {title} | {table.get('owner', '')} | {licence} | {row_text} | {files} |")
    lines += _changes_section(changes)
    if held_back:
        lines += ["", "## Held back", ""]
        for name in sorted(held_back):
            origin = carried_forward.get(name)
            if origin:
                kept = f"The version from release {origin} stays available in this release."
            else:
                kept = "No earlier version exists, so it is not in this release."
            reason = _one_line(held_back[name]).rstrip(".")
            lines.append(f"- **{name}**: {reason}. {kept}")
    if removed:
        lines += ["", "## No longer published", ""]
        lines += [f"- {name} (was in the previous release)" for name in sorted(removed)]
    if quality:
        lines += ["", "## Quality checks", "", "Full results: `quality.json`.", ""]
        for key in sorted(quality):
            value = quality[key]
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            lines.append(f"- **{key}**: {_one_line(shown)}")
    return "\n".join(lines) + "\n"


def _count(value: int | None) -> str:
    return "—" if value is None else str(value)


def _changes_section(changes: dict | None) -> list[str]:
    """The changes table: one row per dataset, with how rows were matched."""
    if not changes or not changes.get("datasets"):
        return []
    previous = changes.get("previous_release")
    if previous is None:
        intro = "This is the first release: every row is new."
    else:
        intro = (
            f"Compared with release {previous}, row by row: added = key not there before, "
            "changed = same key with other values, removed = key no longer there."
        )
    lines = ["", "## Changes since the previous release", "", intro, ""]
    lines += ["| dataset | rows | added | changed | removed | compared by |", "|---|---:|---:|---:|---:|---|"]
    notes = []
    for name, entry in sorted(changes["datasets"].items()):
        compared = entry.get("compared_by")
        by = ", ".join(compared) if isinstance(compared, list) else (compared or "not comparable")
        if entry.get("carried_forward_from"):
            by = f"unchanged (carried forward from {entry['carried_forward_from']})"
        elif entry.get("new_dataset"):
            by = "new dataset"
        lines.append(
            f"| {name} | {_count(entry.get('rows'))} | {_count(entry.get('added'))} | "
            f"{_count(entry.get('changed'))} | {_count(entry.get('removed'))} | {by} |"
        )
        for change in ("columns_added", "columns_removed", "columns_retyped"):
            if entry.get(change):
                what = change.removeprefix("columns_")
                notes.append(f"- {name}: columns {what}: {', '.join(entry[change])}")
    if notes:
        lines += ["", *notes]
    return lines
