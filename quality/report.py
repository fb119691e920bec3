"""A quality report per run, as one self-contained HTML page for people.

Owners and the open-data team read it without the Dagster UI: what was checked, what
failed, what was held back from the release and why. Plain HTML with inline styles,
no scripts or external files, so it opens anywhere and can be mailed or archived.
Written to `<reports>/<run_id>.html` and copied to `latest.html` (replaced atomically).
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from quality.gate import GateDecision

LATEST = "latest.html"
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
.held { color: #a00; font-weight: bold; } .ok { color: #070; } .warn { color: #a60; }
"""


def render_report(run_id: str, release_id: str, decision: GateDecision) -> str:
    """The report's HTML: a summary table, then each dataset's checks, failures and warnings."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Quality report, run {escape(run_id)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Quality report</h1><p>Run <code>{escape(run_id)}</code>, release "
        f"<code>{escape(release_id)}</code>.</p>",
        "<table><tr><th>dataset</th><th>published</th><th>checks run</th><th>passed</th>"
        "<th>warnings</th></tr>",
    ]
    for dataset, summary in sorted(decision.quality.items()):
        held = dataset in decision.held_back
        state = '<span class="held">held back</span>' if held else '<span class="ok">published</span>'
        parts.append(
            f"<tr><td>{escape(dataset)}</td><td>{state}</td><td>{summary['checks_run']}</td>"
            f"<td>{summary['checks_passed']}</td><td>{len(summary['warnings'])}</td></tr>"
        )
    parts.append("</table>")
    for dataset, summary in sorted(decision.quality.items()):
        parts.append(f"<h2>{escape(dataset)}</h2>")
        if dataset in decision.held_back:
            parts.append(f'<p class="held">Held back: {escape(decision.held_back[dataset])}</p>')
        parts.append(_checks_table(decision.checks.get(dataset, [])))
        if summary["warnings"]:
            items = "".join(f"<li>{escape(w)}</li>" for w in summary["warnings"])
            parts.append(f'<p class="warn">Warnings (published with the dataset):</p><ul>{items}</ul>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _checks_table(checks: list[dict]) -> str:
    if not checks:
        return "<p>No checks ran on this dataset or its sources in this run.</p>"
    rows = [
        "<table><tr><th>check</th><th>asset</th><th>result</th><th>rows</th>"
        "<th>rules</th><th>rules failed</th></tr>"
    ]
    for check in checks:
        if check["blocking_failed"]:
            result = '<span class="held">blocking failure</span>'
        elif check["passed"]:
            result = '<span class="ok">passed</span>'
        else:
            result = '<span class="warn">warning</span>'
        cells = [check["check"], check["asset"]]
        numbers = [check["rows"], check["expectations"], check["failed_expectations"]]
        rows.append(
            "<tr>"
            + "".join(f"<td>{escape(str(c))}</td>" for c in cells)
            + f"<td>{result}</td>"
            + "".join(f"<td>{'—' if n is None else n}</td>" for n in numbers)
            + "</tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def write_report(reports_dir: Path, run_id: str, release_id: str, decision: GateDecision) -> Path:
    """Write `<run_id>.html` and replace `latest.html` with it; returns the run's report."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    html = render_report(run_id, release_id, decision)
    path = reports_dir / f"{run_id}.html"
    for target in (path, reports_dir / LATEST):
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_text(html, encoding="utf-8")
        os.replace(temporary, target)
    return path
