"""The portal's small charts: which values each dataset shows, read from the release's own
Parquet files, and drawn as inline SVG here in Python (no script, no chart library).

Which values a chart shows is data, in open_data.yaml `portal.charts` (keyed by dataset
name): a time on the x axis draws a line of the recent values, anything else draws bars.
A dataset without an entry shows its rows per day when it has a time column. Times are
shown in Swedish time, numbers in Swedish form; every chart carries a <title> and a <desc>
that says in words what it shows, and a table of its values follows it on the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from publishing.datasets import OpenDataset, open_data_settings, quote_identifier

AGGREGATES = ("avg", "sum", "min", "max", "count")
STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BARS = 20
FALLBACK_DAYS = 30
MONTHS_SV = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
WEEKDAYS_SV = ["mån", "tis", "ons", "tor", "fre", "lör", "sön"]
WIDTH = 720
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 30, 40
LINE_HEIGHT = 260
BAR_LABEL_WIDTH, BAR_ROW_HEIGHT, BAR_VALUE_ROOM = 190, 24, 80


class ChartError(ValueError):
    """open_data.yaml asks for a chart the dataset cannot give."""


@dataclass(frozen=True)
class ChartSpec:
    x: str
    y: str | None  # None: count rows
    aggregate: str
    title_sv: str
    title_en: str
    where: tuple[tuple[str, object], ...] = ()
    days: int | None = None  # a time x: only the last `days` before the latest value
    every: str = "hour"  # a time x: one value per hour or day
    unit: str = ""


@dataclass(frozen=True)
class Chart:
    spec: ChartSpec
    kind: str  # "line" (x is a time) or "bar"
    points: list[tuple[object, float | None]]

    @property
    def values(self) -> list[float]:
        return [v for _, v in self.points if v is not None]


# --- what a chart shows ------------------------------------------------------------------


def chart_spec(dataset: OpenDataset) -> ChartSpec | None:
    """The dataset's chart from open_data.yaml, else rows per day of its time column, else None."""
    declared = (open_data_settings().get("portal", {}).get("charts") or {}).get(dataset.name)
    types = {c.name: c.type for c in dataset.columns}
    if declared:
        return _declared_spec(dataset.name, declared, types)
    times = [dataset.time_column] + [n for n, t in types.items() if t in ("datetime", "date")]
    time = next((n for n in times if types.get(n) in ("datetime", "date")), None)
    if time is None:
        return None
    return ChartSpec(
        x=time,
        y=None,
        aggregate="count",
        title_sv=f"Antal rader per dag, senaste {FALLBACK_DAYS} dagarna",
        title_en=f"Rows per day, last {FALLBACK_DAYS} days",
        days=FALLBACK_DAYS,
        every="day",
    )


def _declared_spec(name: str, declared: dict, types: dict[str, str]) -> ChartSpec:
    def refuse(problem: str) -> ChartError:
        return ChartError(f"{name}: open_data.yaml portal.charts {problem}")

    for key in ("x", "aggregate", "title"):
        if not declared.get(key):
            raise refuse(f"needs {key}")
    where = declared.get("where") or {}
    for column in [declared["x"], declared.get("y"), *where]:
        if column is not None and column not in types:
            raise refuse(f"names {column!r}, which is not a column of the dataset")
    if declared["aggregate"] not in AGGREGATES:
        raise refuse(f"aggregate must be one of {', '.join(AGGREGATES)}")
    if declared.get("y") is None and declared["aggregate"] != "count":
        raise refuse("needs y unless aggregate is count")
    if declared.get("every", "hour") not in STEPS:
        raise refuse(f"every must be one of {', '.join(STEPS)}")
    days = declared.get("days")
    if days is not None and (not isinstance(days, int) or days < 1):
        raise refuse("days must be a whole number of days, at least 1")
    title = declared["title"]
    if not isinstance(title, dict) or not title.get("sv") or not title.get("en"):
        raise refuse("title needs sv and en")
    return ChartSpec(
        x=declared["x"],
        y=declared.get("y"),
        aggregate=declared["aggregate"],
        title_sv=title["sv"],
        title_en=title["en"],
        where=tuple(where.items()),
        days=days,
        every=declared.get("every", "hour"),
        unit=declared.get("unit", ""),
    )


def chart_of(con: duckdb.DuckDBPyConnection, dataset: OpenDataset, parquet: list[Path]) -> Chart | None:
    """The chart's values, aggregated by DuckDB (`con`, set to UTC) from the dataset's Parquet
    files."""
    spec = chart_spec(dataset)
    if spec is None or not parquet:
        return None
    types = {c.name: c.type for c in dataset.columns}
    kind = "line" if types[spec.x] in ("datetime", "date") else "bar"
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in parquet)
    x = quote_identifier(spec.x)
    value = f"{spec.aggregate}({'*' if spec.y is None else quote_identifier(spec.y)})::DOUBLE"
    conditions = [f"{x} IS NOT NULL", *(f"{quote_identifier(c)} = ?" for c, _ in spec.where)]
    source = f"SELECT * FROM read_parquet([{files}]) WHERE {' AND '.join(conditions)}"
    if kind == "line":
        recent = f"{x} > (SELECT max({x}) FROM src) - INTERVAL {spec.days} DAY" if spec.days else "true"
        query = (
            f"WITH src AS ({source}) SELECT date_trunc('{spec.every}', {x}) AS t, {value} "
            f"FROM src WHERE {recent} GROUP BY t ORDER BY t"
        )
    else:
        query = (
            f"WITH src AS ({source}) SELECT {x}::VARCHAR AS label, {value} AS v FROM src "
            f"GROUP BY label ORDER BY v DESC NULLS LAST, label LIMIT {MAX_BARS}"
        )
    points = con.execute(query, [v for _, v in spec.where]).fetchall()
    return Chart(spec, kind, [(t, None if v is None or math.isnan(v) else v) for t, v in points])


# --- words for the chart -----------------------------------------------------------------


def chart_summary(chart: Chart) -> tuple[str, str]:
    """What the chart shows, in one Swedish and one English sentence (its text alternative)."""
    unit = f" {chart.spec.unit}" if chart.spec.unit else ""
    low, high = min(chart.values), max(chart.values)
    if chart.kind == "line":
        first, last = local_time(chart.points[0][0]), local_time(chart.points[-1][0])
        latest = chart.values[-1]
        return (
            f"Från {first} till {last}: lägst {sv_number(low)}{unit}, högst {sv_number(high)}{unit}, "
            f"senast {sv_number(latest)}{unit}.",
            f"From {first} to {last}: lowest {en_number(low)}{unit}, highest {en_number(high)}{unit}, "
            f"latest {en_number(latest)}{unit}.",
        )
    top = chart.points[0][0]
    count = len(chart.values)
    return (
        f"{count} staplar; högst {top} med {sv_number(high)}{unit}, lägst {sv_number(low)}{unit}.",
        f"{count} bars; highest {top} with {en_number(high)}{unit}, lowest {en_number(low)}{unit}.",
    )


# --- drawing -------------------------------------------------------------------------------


def chart_svg(chart: Chart, svg_id: str) -> str:
    """The chart as an inline <svg> element, labelled by its own <title> and <desc>."""
    summary = chart_summary(chart)
    body, height = _line(chart) if chart.kind == "line" else _bars(chart)
    ident = escape(svg_id)
    return (
        f'<svg id="{ident}" class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">{escape(chart.spec.title_sv)} / {escape(chart.spec.title_en)}</title>'
        f'<desc id="{ident}-d">{escape(summary[0])} {escape(summary[1])}</desc>{body}</svg>'
    )


def _text(x: float, y: float, content: str, anchor: str = "start", css: str = "axis") -> str:
    return f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(content)}</text>'


def _line(chart: Chart) -> tuple[str, int]:
    times = [as_datetime(t) for t, _ in chart.points]
    ticks = axis_ticks(min(0.0, *chart.values), max(chart.values))
    low, high = ticks[0], ticks[-1]
    start, end = times[0], times[-1]
    span = (end - start).total_seconds()
    plot_w, plot_h = WIDTH - LEFT - RIGHT, LINE_HEIGHT - TOP - BOTTOM

    def px(t: datetime) -> float:
        return LEFT + plot_w * ((t - start).total_seconds() / span if span else 0.5)

    def py(v: float) -> float:
        return TOP + plot_h * (1 - (v - low) / ((high - low) or 1))

    parts = [_text(4, 14, chart.spec.unit)] if chart.spec.unit else []
    for tick in ticks:
        y = py(tick)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(_text(LEFT - 6, y + 4, sv_number(tick), "end"))
    for day in _midnights(start, end):
        x, local = px(day), day.astimezone(display_zone())
        label = f"{WEEKDAYS_SV[local.weekday()]} {local.day} {MONTHS_SV[local.month - 1]}"
        parts.append(f'<line class="grid day" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + plot_h}"/>')
        parts.append(_text(x, LINE_HEIGHT - BOTTOM + 18, label, "middle"))
    commands, previous, last = [], None, None
    for t, (_, v) in zip(times, chart.points, strict=True):
        if v is None:
            previous = None
            continue
        gap = previous is None or t - previous > STEPS[chart.spec.every]
        commands.append(f"{'M' if gap else 'L'}{px(t):.1f},{py(v):.1f}")
        previous = last = t
    if len(commands) == 1:  # one value: a dot is all there is to draw
        commands.append(commands[0].replace("M", "L", 1))
    parts.append(f'<path class="line" d="{" ".join(commands)}"/>')
    parts.append(f'<circle class="dot" cx="{px(last):.1f}" cy="{py(chart.values[-1]):.1f}" r="3.5"/>')
    return "".join(parts), LINE_HEIGHT


def _bars(chart: Chart) -> tuple[str, int]:
    height = 8 + BAR_ROW_HEIGHT * len(chart.points) + 8
    high = axis_ticks(0.0, max(chart.values))[-1]
    plot_w = WIDTH - BAR_LABEL_WIDTH - BAR_VALUE_ROOM
    parts = []
    for index, (label, value) in enumerate(chart.points):
        top = 8 + index * BAR_ROW_HEIGHT
        middle = top + BAR_ROW_HEIGHT / 2 + 4
        name = str(label) if len(str(label)) <= 26 else str(label)[:25] + "…"
        parts.append(_text(BAR_LABEL_WIDTH - 8, middle, name, "end", "label"))
        if value is None:
            continue
        width = max(plot_w * max(value, 0.0) / (high or 1), 1.0)
        parts.append(
            f'<rect class="bar" x="{BAR_LABEL_WIDTH}" y="{top + 3}" width="{width:.1f}" '
            f'height="{BAR_ROW_HEIGHT - 6}"><title>{escape(str(label))}: {sv_number(value)}</title></rect>'
        )
        parts.append(_text(BAR_LABEL_WIDTH + width + 6, middle, sv_number(value), css="value"))
    return "".join(parts), height


def axis_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round axis values (1, 2 or 5 times a power of ten) from at most `low` to at least `high`."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = [math.floor(low / step) * step]
    while ticks[-1] < high - 1e-9 * step:
        ticks.append(ticks[-1] + step)
    return ticks


def _midnights(start: datetime, end: datetime) -> list[datetime]:
    """Swedish midnights between start and end, thinned to at most eight labels."""
    zone = display_zone()
    day = start.astimezone(zone).date() + timedelta(days=1)
    days = []
    while (midnight := datetime(day.year, day.month, day.day, tzinfo=zone)) <= end:
        days.append(midnight)
        day += timedelta(days=1)
    return days[:: max(1, math.ceil(len(days) / 8))]


# --- times and numbers for people ----------------------------------------------------------


def display_zone() -> tzinfo:
    """Swedish time, the time a resident reads; UTC when the system has no zone database."""
    try:
        return ZoneInfo("Europe/Stockholm")
    except ZoneInfoNotFoundError:
        return ZoneInfo("UTC")


def as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=ZoneInfo("UTC"))
    raise TypeError(f"not a time: {value!r}")


def local_time(value: object) -> str:
    """`28 okt 2026 14:00` in Swedish time."""
    local = as_datetime(value).astimezone(display_zone())
    return f"{local.day} {MONTHS_SV[local.month - 1]} {local.year} {local:%H:%M}"


def en_number(value: float) -> str:
    if float(value).is_integer():
        return f"{round(value):,}"
    return f"{value:,.{1 if abs(value) >= 10 else 2}f}"


def sv_number(value: float) -> str:
    """Swedish number form: a narrow space between thousands and a decimal comma."""
    return en_number(value).replace(",", "\u202f").replace(".", ",")
