"""index.html: the release as a resident sees it, in Swedish with English alongside.

One page per release, inside the release, so it always describes exactly the files next to
it: for each dataset its title, description, owner, how often it is updated, its quality
status, what changed since the previous release, download links with sizes, and a small
chart of its recent values (publishing/charts.py). The page needs nothing but itself: no
script, font or image is loaded from anywhere (a Content-Security-Policy tells the browser
so), the style sheet is inlined, and every link is relative, so it works from a USB stick
(file://) as well as from a web server.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path

import duckdb

from publishing.charts import Chart, chart_of, chart_summary, chart_svg, local_time, sv_number
from publishing.checksums import sha256_of
from publishing.datapackage import owner_name, resources_of
from publishing.datasets import OpenDataset, open_data_settings

PORTAL_FILE = "index.html"
STYLE_FILE = Path(__file__).parent / "portal.css"
# Files about the release as a whole, linked at the top when the release has them.
RELEASE_FILES = [
    ("RELEASE_NOTES.md", "Vad som är nytt i denna release", "Release notes"),
    ("datapackage.json", "Beskrivning av filerna (Frictionless Data Package)", "Data package"),
    ("catalog.ttl", "Datakatalog, DCAT-AP-SE (Turtle)", "Catalogue, DCAT-AP-SE (Turtle)"),
    ("catalog.jsonld", "Datakatalog, DCAT-AP-SE (JSON-LD)", "Catalogue, DCAT-AP-SE (JSON-LD)"),
    ("quality.json", "Resultat av kvalitetskontrollerna", "Quality check results"),
    ("SHA256SUMS", "Kontrollsummor för alla filer", "Checksums of every file"),
]
WRITTEN_AFTER = {"SHA256SUMS"}  # written after the page, in the same release
FORMATS = {"csv": "CSV", "parquet": "Parquet", "geojson": "GeoJSON"}
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def write_portal(
    folder: Path,
    datasets: list[OpenDataset],
    resources: list[dict],
    *,
    rows: dict[str, int | None],
    held_back: dict[str, str],
    carried_forward: dict[str, str],
    quality: dict | None,
    changes: dict | None,
    release_id: str,
    created: str,
) -> dict[str, str]:
    """Write `folder/index.html`; return {file name: sha256} for SHA256SUMS.

    Call it when every other file of the release but SHA256SUMS is written: the page links
    only files that exist, and reads its charts from the release's Parquet files.
    """
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")  # the charts' hours and days are UTC ones
        charts = {d.name: chart_of(con, d, _parquet_files(folder, resources, d.name)) for d in datasets}
    sections = [
        dataset_section(
            dataset,
            resources_of(resources, dataset.name),
            chart=charts[dataset.name],
            rows=rows.get(dataset.name),
            status=quality_status(dataset.name, quality or {}, held_back, carried_forward),
            change=((changes or {}).get("datasets") or {}).get(dataset.name),
            carried_from=carried_forward.get(dataset.name),
        )
        for dataset in sorted(datasets, key=lambda d: title_sv(d).casefold())
    ]
    present = [f for f in RELEASE_FILES if f[0] in WRITTEN_AFTER or (folder / f[0]).is_file()]
    page = portal_page(datasets, sections, present, release_id, created)
    path = folder / PORTAL_FILE
    path.write_text(page, encoding="utf-8", newline="\n")
    return {PORTAL_FILE: sha256_of(path)}


def _parquet_files(folder: Path, resources: list[dict], name: str) -> list[Path]:
    return [folder / r["path"] for r in resources_of(resources, name) if r.get("format") == "parquet"]


# --- quality status ----------------------------------------------------------------------


def quality_status(
    name: str, quality: dict, held_back: dict[str, str], carried_forward: dict[str, str]
) -> tuple[str, str, str, str]:
    """(kind, Swedish, English, detail): how the dataset fared in its quality checks.

    kind is passed, warnings, failed, held, unchecked or noted. `quality[name]` is a word
    (passed, warnings, failed) or a summary: the release gate's (quality/gate.py:
    {"checks_run", "checks_passed", "blocking_failures": [...], "warnings": [...]}), a
    suite's metadata ({"expectations", "passed", "failed_blocking", "failed_warning"}) or
    {"checks", "failed", "warnings"}, or any of these with a "status" word. A dataset it
    does not name, or with no check run, is "not checked".
    """
    if name in held_back:
        detail = held_back[name]
        origin = carried_forward.get(name)
        if origin:
            detail += f" — versionen från release {origin} visas / the version from release {origin} is shown"
        return ("held", "Tillbakahållen", "Held back", detail)
    entry = quality.get(name)
    if entry is None or (isinstance(entry, dict) and entry.get("checks_run") == 0):
        return ("unchecked", "Ej kontrollerad", "Not checked", "")
    if isinstance(entry, str):
        return _status_word(entry, "")
    if not isinstance(entry, dict):
        return ("noted", "Se kvalitetsrapporten", "See the quality report", str(entry))
    detail = "; ".join(filter(None, [_checks_text(entry), *_warning_texts(entry)]))
    if isinstance(entry.get("status"), str):
        return _status_word(entry["status"], detail)
    blocking = sum(_count(entry, k) for k in ("failed_blocking", "blocking_failures", "errors", "failed"))
    warnings = sum(_count(entry, k) for k in ("failed_warning", "warnings"))
    word = "failed" if blocking else "warnings" if warnings else "passed"
    return _status_word(word, detail)


def _count(entry: dict, key: str) -> int:
    """A count, or the length of a list of findings."""
    value = entry.get(key)
    if isinstance(value, list):
        return len(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _checks_text(entry: dict) -> str:
    total = _count(entry, "checks_run") or _count(entry, "expectations") or _count(entry, "checks")
    if not total:
        return ""
    if "checks_passed" in entry:
        passed = _count(entry, "checks_passed")
    elif "expectations" in entry:
        passed = _count(entry, "passed")
    else:
        passed = total - _count(entry, "failed")
    return f"{passed} av {total} kontroller godkända / {passed} of {total} checks passed"


def _warning_texts(entry: dict, shown: int = 3) -> list[str]:
    """The first few warnings in words, as the checks reported them."""
    warnings = entry.get("warnings")
    if not isinstance(warnings, list):
        return []
    texts = [str(w) for w in warnings[:shown]]
    if len(warnings) > shown:
        texts.append(f"… {len(warnings) - shown} till / more")
    return texts


def _status_word(word: str, detail: str) -> tuple[str, str, str, str]:
    normal = word.strip().lower()
    if normal in ("passed", "pass", "ok", "success"):
        return ("passed", "Godkänd", "Passed", detail)
    if normal.startswith("warn"):
        return ("warnings", "Godkänd med varningar", "Passed with warnings", detail)
    if normal in ("failed", "fail", "error", "errors"):
        return ("failed", "Problem hittade", "Problems found", detail)
    return ("noted", "Se kvalitetsrapporten", "See the quality report", word)


# --- the page ------------------------------------------------------------------------------


def en(html: str) -> str:
    """English beside the Swedish: marked as English for screen readers, shown quieter."""
    return f'<span lang="en" class="en">{html}</span>'


def title_sv(dataset: OpenDataset) -> str:
    return dataset.title_sv or dataset.title


def title_en(dataset: OpenDataset) -> str:
    return dataset.title_en or dataset.title


def portal_page(
    datasets: list[OpenDataset],
    sections: list[str],
    release_files: list[tuple[str, str, str]],
    release_id: str,
    created: str,
) -> str:
    ordered = sorted(datasets, key=lambda d: title_sv(d).casefold())
    contents = "".join(
        f'<li><a href="#{escape(d.name)}">{escape(title_sv(d))}</a> {en(escape(title_en(d)))}</li>'
        for d in ordered
    )
    about = "".join(
        f'<li><a href="{escape(name)}">{escape(name)}</a> – {escape(sv)} {en(escape(english))}</li>'
        for name, sv, english in release_files
    )
    published = local_time(datetime.fromisoformat(created.replace("Z", "+00:00")))
    title = open_data_settings()["package"]["title"]
    style = STYLE_FILE.read_text(encoding="utf-8")
    return f"""<!DOCTYPE html>
<html lang="sv">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<link rel="icon" href="data:,">
<title>{escape(title)} – release {escape(release_id)}</title>
<style>
{style}</style>
</head>
<body>
<a class="skip" href="#datamangder">Hoppa till datamängderna</a>
<header>
<h1>Öppna data från Stockholms stad {en("Open data from the City of Stockholm")}</h1>
<p>Release <strong>{escape(release_id)}</strong>, publicerad {escape(published)} (svensk tid).
{en(f"Published {escape(published)} (Swedish time).")}</p>
<p>All data här får användas fritt, också för kommersiella ändamål, enligt licensen som anges
för varje datamängd. Filerna är CSV (öppnas i kalkylprogram), Parquet (för analysverktyg) och
GeoJSON (för kartor). Tider i filerna är i UTC; tider på denna sida är svensk tid.
{
        en('''You may use all data here freely, also commercially, under the licence given for each
dataset. Files are CSV (opens in spreadsheets), Parquet (for analysis tools) and GeoJSON (for
maps). Times in the files are UTC; times on this page are Swedish time.''')
    }</p>
<nav aria-labelledby="innehall"><h2 id="innehall">Datamängder {en("Datasets")}</h2>
<ul>{contents}</ul></nav>
<h2 id="om">Om denna release {en("About this release")}</h2>
<ul class="files">{about}</ul>
</header>
<main id="datamangder">
{"".join(sections)}</main>
<footer><p>Stockholms stad, dataplattformen stadsdata. {en("City of Stockholm, the stadsdata platform.")}</p>
</footer>
</body>
</html>
"""


def dataset_section(
    dataset: OpenDataset,
    files: list[dict],
    *,
    chart: Chart | None,
    rows: int | None,
    status: tuple[str, str, str, str],
    change: dict | None,
    carried_from: str | None,
) -> str:
    name = escape(dataset.name)
    kind, status_sv, status_en, detail = status
    detail_html = f' <span class="detail">{escape(detail)}</span>' if detail else ""
    return f"""<section id="{name}" class="dataset" aria-labelledby="h-{name}">
<h2 id="h-{name}">{escape(title_sv(dataset))} {en(escape(title_en(dataset)))}</h2>
<p class="status {kind}"><span class="badge">Kvalitet: {escape(status_sv)}
<span lang="en">Quality: {escape(status_en)}</span></span>{detail_html}</p>
<p>{escape(dataset.description_sv or dataset.description)}</p>
<p lang="en" class="en">{escape(dataset.description)}</p>
{_facts(dataset, files, rows, change, carried_from)}
{_chart_figure(dataset.name, chart)}
{_downloads(dataset, files)}
</section>
"""


def _facts(
    dataset: OpenDataset, files: list[dict], rows: int | None, change: dict | None, carried_from: str | None
) -> str:
    frequencies = open_data_settings().get("portal", {}).get("frequencies", {})
    frequency = frequencies.get(dataset.update_frequency) or {"sv": dataset.update_frequency, "en": ""}
    licence = next((lic for f in files for lic in f.get("licenses", [])), {"name": dataset.license})
    facts = [
        ("Ansvarig", "Owner", escape(owner_name(dataset.owner))),
        ("Uppdateras", "Updated", f"{escape(frequency['sv'])} {en(escape(frequency['en']))}"),
        ("Rader", "Rows", "–" if rows is None else sv_number(rows)),
        ("Licens", "Licence", escape(licence.get("title") or licence["name"])),
    ]
    if change:
        facts.append(("Sedan förra releasen", "Since the previous release", _change_text(change)))
    if carried_from:
        origin = escape(carried_from)
        facts.append(("Version", "Version", f"från release {origin} {en(f'from release {origin}')}"))
    items = "".join(f"<dt>{sv} {en(english)}</dt><dd>{value}</dd>" for sv, english, value in facts)
    return f'<dl class="facts">{items}</dl>'


def _change_text(change: dict) -> str:
    if change.get("carried_forward_from"):
        return f"oförändrad {en('unchanged')}"
    if change.get("new_dataset"):
        return f"ny datamängd {en('new dataset')}"
    words = [
        ("added", "nya", "added"),
        ("changed", "ändrade", "changed"),
        ("removed", "borttagna", "removed"),
    ]
    known = [(change[key], sv, english) for key, sv, english in words if change.get(key) is not None]
    swedish = ", ".join(f"{sv_number(count)} {sv}" for count, sv, _ in known) + " rader"
    english = ", ".join(f"{count:,} {word}" for count, _, word in known) + " rows"
    return f"{escape(swedish)} {en(escape(english))}"


def _chart_figure(name: str, chart: Chart | None) -> str:
    if chart is None:
        return f'<p class="nochart">Inget diagram för denna datamängd. {en("No chart for this dataset.")}</p>'
    heading = (
        f'<h3 id="c-{escape(name)}">{escape(chart.spec.title_sv)} {en(escape(chart.spec.title_en))}</h3>'
    )
    if not chart.values:
        return f'{heading}<p class="nochart">Inga värden att visa. {en("No values to show.")}</p>'
    summary_sv, summary_en = chart_summary(chart)
    return (
        f'<figure aria-labelledby="c-{escape(name)}">{heading}{chart_svg(chart, f"svg-{name}")}'
        f"<figcaption>{escape(summary_sv)} {en(escape(summary_en))}</figcaption>"
        f"{_values_table(chart)}</figure>"
    )


def _values_table(chart: Chart) -> str:
    """The chart's values as a table, for screen readers and anyone who wants the numbers."""
    if chart.kind == "line":
        first = f"Tid (svensk tid) {en('Time (Swedish time)')}"
        rows = [(local_time(t), v) for t, v in chart.points]
    else:
        first = f"Namn {en('Name')}"
        rows = [(str(label), v) for label, v in chart.points]
    unit = f" ({escape(chart.spec.unit)})" if chart.spec.unit else ""
    body = "".join(
        f'<tr><th scope="row">{escape(label)}</th><td>{"–" if v is None else sv_number(v)}</td></tr>'
        for label, v in rows
    )
    return (
        f"<details><summary>Visa värdena som tabell {en('Show the values as a table')}</summary>"
        f'<div class="scroll"><table><thead><tr><th scope="col">{first}</th>'
        f'<th scope="col">Värde{unit} {en("Value")}</th></tr></thead><tbody>{body}</tbody></table>'
        "</div></details>"
    )


def _downloads(dataset: OpenDataset, files: list[dict]) -> str:
    heading = f"<h3>Ladda ner {en('Download')}</h3>"
    if not files:
        return f"{heading}<p>Inga filer i denna release. {en('No files in this release.')}</p>"
    formats = [f for f in FORMATS if any(r.get("format") == f for r in files)]
    header = "".join(f'<th scope="col">{FORMATS[f]}</th>' for f in formats)
    body = []
    for part in sorted({f.get("part") for f in files}, key=_part_order):
        cells = []
        for fmt in formats:
            match = next((f for f in files if f.get("part") == part and f.get("format") == fmt), None)
            cells.append("<td>–</td>" if match is None else _download_cell(match))
        body.append(f'<tr><th scope="row">{_part_label(part)}</th>{"".join(cells)}</tr>')
    caption = f"Filer: {escape(title_sv(dataset))} <span lang='en'>Files: {escape(title_en(dataset))}</span>"
    return (
        f'{heading}<div class="scroll"><table class="downloads"><caption>{caption}</caption>'
        f'<thead><tr><th scope="col">Del {en("Part")}</th>{header}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _download_cell(resource: dict) -> str:
    path = escape(resource["path"])
    return (
        f'<td><a href="{path}">{path}</a> <span class="size">{file_size(resource.get("bytes"))}</span></td>'
    )


def _part_label(part: str | None) -> str:
    if part is None:
        return f"Hela historiken {en('Whole history')}"
    if part.isdigit():
        return f"År {escape(part)} {en(f'Year {escape(part)}')}"
    return f"Utan tid {en('Without a time')}"


def _part_order(part: str | None) -> tuple[int, str]:
    if part is None:
        return (0, "")
    return (1, part) if part.isdigit() else (2, part)


def file_size(size: int | None) -> str:
    """`925,6 kB`: decimal units, Swedish decimal comma."""
    if size is None:
        return ""
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{sv_number(round(size / factor, 1))} {unit}"
    return f"{size} B"
