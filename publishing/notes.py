"""RELEASE_NOTES.md: what a person reads first — what is in this release, and what is not.

Datasets held back (a blocking quality check failed, or the lead decided so) are named
with the reason, and the notes say whether the previous version stays available, so a
reader never mistakes an old file for today's data.
"""

from __future__ import annotations

import json


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


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
) -> str:
    """Markdown notes built from the package's resources, so notes and package agree."""
    tables = [r for r in resources if r.get("profile") == "tabular-data-resource"]
    lines = [
        f"# Open-data release {release_id}",
        "",
        f"Published {created} by the City of Stockholm's data platform (stadsdata).",
        "Each dataset is a CSV file (RFC 4180, UTF-8, timestamps in UTC) and a Parquet file;",
        "`datapackage.json` describes them (Frictionless Data Package) and `SHA256SUMS`",
        "lets you verify every file (`sha256sum -c SHA256SUMS`).",
        "",
        "## Datasets",
        "",
        "| dataset | title | owner | licence | rows | files |",
        "|---|---|---|---|---:|---|",
    ]
    for table in sorted(tables, key=lambda r: r["name"]):
        name = table["name"]
        licence = ", ".join(lic["name"] for lic in table.get("licenses", []))
        dataset_files = [r["path"] for r in resources if r["path"].startswith(f"{name}.")]
        origin = carried_forward.get(name)
        count = rows.get(name)
        row_text = "unknown" if count is None else str(count)
        title = _one_line(table.get("title", "")).replace("|", "\\|")
        if origin:
            title += f" (from release {origin})"
        lines.append(
            f"| {name} | {title} | {table.get('owner', '')} | {licence} | {row_text} | "
            f"{', '.join(f'`{f}`' for f in sorted(dataset_files))} |"
        )
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
