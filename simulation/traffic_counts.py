"""Trafikkontoret's daily exports from the traffic-counting system: one CSV per local day.

`traffic_counts/<YYYY>/trafik_<YYYY-MM-DD>.csv`, `;`-delimited, decimal comma, one row
per site, local hour, direction and vehicle class. Every site counts both directions of
its street (N/S or Ö/V), motor vehicles in four classes and, at some sites, bicycles.
Weekdays have morning and evening peaks (inbound in the morning, outbound in the
evening), weekends one broad midday hump; speeds drop on busy arterials at peak.

On the autumn DST day the local hour 2 happens twice: both are exported, with the same
`Timme`, the earlier first. On the spring DST day hour 2 does not exist.

The export's habits: Windows-1252 on some days and UTF-8 with a byte-order mark on
others, CRLF line endings on some, a closing `Summa;;;;;<n>;` line (n = the total of
the numeric Antal column) on some. Broken on purpose: a non-numeric and a negative
Antal, an unknown Riktning, Timme 24, a site not in the registry, on the spring DST day
a row at the non-existent hour 2, a manual re-export with an old header, and one day's
file dropped twice under another name.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from simulation.city import STOCKHOLM, City, Device, Period, local_hour_starts, local_midnight
from simulation.landing_files import GeneratedFile, LandingFile

SOURCE = "traffic_counts"
HEADER = "Mätplats;Datum;Timme;Riktning;Fordonsklass;Antal;Medelhastighet (km/h)"
OLD_HEADER = "Matplats;Datum;Timme;Riktning;Fordonsklass;Antal"
MOTOR_CLASSES = ("Personbil", "Lastbil", "Buss", "MC")
CLASS_SHARES = {"Personbil": 0.85, "Lastbil": 0.08, "Buss": 0.04, "MC": 0.03}
UNREGISTERED_SITE = "TR-9999"  # above any id up to scale 100

# Share of a day's traffic in each local hour (normalized below).
WEEKDAY_PROFILE = (0.6, 0.35, 0.25, 0.25, 0.5, 1.6, 4.5, 7.2, 7.0, 5.2, 4.6, 4.8,
                   5.0, 5.1, 5.5, 6.6, 7.6, 7.4, 5.6, 4.2, 3.3, 2.7, 2.0, 1.3)  # fmt: skip
WEEKEND_PROFILE = (1.4, 1.0, 0.8, 0.5, 0.5, 0.7, 1.2, 2.2, 3.4, 4.8, 6.0, 6.8,
                   7.2, 7.3, 7.2, 7.0, 6.8, 6.3, 5.5, 4.5, 3.6, 2.9, 2.3, 1.7)  # fmt: skip
BIKE_WEEKDAY_PROFILE = (0.2, 0.1, 0.05, 0.05, 0.1, 0.6, 3.5, 11.0, 9.0, 4.0, 3.0, 3.5,
                        4.0, 4.0, 4.5, 7.0, 11.0, 9.0, 5.0, 3.0, 2.0, 1.5, 1.0, 0.5)  # fmt: skip
BIKE_WEEKEND_PROFILE = (0.3, 0.2, 0.1, 0.05, 0.05, 0.2, 0.8, 2.0, 4.0, 7.0, 9.0, 10.0,
                        10.5, 10.5, 10.0, 9.0, 8.0, 6.5, 4.5, 3.0, 2.0, 1.3, 0.8, 0.5)  # fmt: skip


def _normalized(profile: tuple[float, ...]) -> tuple[float, ...]:
    total = sum(profile)
    return tuple(p / total for p in profile)


PROFILES = {
    (False, False): _normalized(WEEKDAY_PROFILE),
    (False, True): _normalized(WEEKEND_PROFILE),
    (True, False): _normalized(BIKE_WEEKDAY_PROFILE),
    (True, True): _normalized(BIKE_WEEKEND_PROFILE),
}  # (bicycles, weekend) -> profile


@dataclass(frozen=True)
class SiteKind:
    """A kind of street: weekday motor vehicles per direction, speed limit, cycling."""

    daily_per_direction: int
    speed_limit: int
    congestion: float  # how much peak traffic slows it down
    bike_share: float  # chance that a site of this kind also counts bicycles
    daily_bikes: int


SITE_KINDS = {
    "infart": SiteKind(22_000, 70, 0.35, 0.3, 500),
    "huvudgata": SiteKind(9_000, 50, 0.2, 0.6, 1_200),
    "innerstadsgata": SiteKind(6_500, 40, 0.15, 0.9, 2_500),
    "lokalgata": SiteKind(1_800, 30, 0.05, 0.5, 400),
}


@dataclass(frozen=True)
class Site:
    device: Device
    kind: SiteKind
    directions: tuple[str, str]
    inbound: str  # the direction that carries the morning peak
    volume: float
    speed_factor: float
    bikes: float  # weekday bicycles per direction, 0 when the site does not count them
    measures_bike_speed: bool


def make_sites(counters: list[Device], rng: random.Random) -> list[Site]:
    sites = []
    for device in counters:
        kind = SITE_KINDS[device.site_kind]
        directions = rng.choice([("N", "S"), ("Ö", "V")])
        counts_bikes = rng.random() < kind.bike_share
        sites.append(
            Site(
                device=device,
                kind=kind,
                directions=directions,
                inbound=rng.choice(directions),
                volume=kind.daily_per_direction * rng.uniform(0.7, 1.3),
                speed_factor=rng.uniform(0.9, 1.05),
                bikes=kind.daily_bikes * rng.uniform(0.6, 1.4) if counts_bikes else 0.0,
                measures_bike_speed=rng.random() < 0.5,
            )
        )
    return sites


def poisson(mean: float, rng: random.Random) -> int:
    """Poisson draw: exact for small means, the normal approximation for large ones."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def class_share(vehicle_class: str, hour: int) -> float:
    """Lorries run in working hours, buses less at night."""
    share = CLASS_SHARES[vehicle_class]
    if vehicle_class == "Lastbil":
        share *= 0.5 + 0.9 * math.exp(-0.5 * ((hour - 11) / 3.5) ** 2)
    if vehicle_class == "Buss" and (hour < 5 or hour > 22):
        share *= 0.4
    return share


def speed(site: Site, vehicle_class: str, hour: int, load: float, rng: random.Random) -> float:
    if vehicle_class == "Cykel":
        return rng.gauss(19, 1.5)
    free_flow = site.kind.speed_limit * site.speed_factor * (1.05 if hour < 5 else 1.0)
    car = free_flow * (1 - site.kind.congestion * load**3)
    offset = {"Personbil": 0.0, "Lastbil": -4.0, "Buss": -7.0, "MC": 3.0}[vehicle_class]
    return max(5.0, car + offset + rng.gauss(0, 1.2))


def site_rows(site: Site, day: date, rng: random.Random) -> list[list[str]]:
    """All rows of one site and day, in the export's order: hour, direction, class."""
    weekend = day.weekday() >= 5
    day_factor = rng.gauss(1.0, 0.05) * (0.75 if weekend else 1.0)
    motor_profile = PROFILES[(False, weekend)]
    peak = max(motor_profile)
    rows = []
    for start in local_hour_starts(day):
        hour = start.astimezone(STOCKHOLM).hour
        load = motor_profile[hour] / peak
        for direction in site.directions:
            inbound = direction == site.inbound
            tide = 1.25 if (inbound == (hour < 12)) else 0.75
            for vehicle_class in MOTOR_CLASSES + (("Cykel",) if site.bikes else ()):
                if vehicle_class == "Cykel":
                    bike_factor = 0.6 if weekend else 1.0
                    mean = site.bikes * bike_factor * PROFILES[(True, weekend)][hour] * tide
                else:
                    share = class_share(vehicle_class, hour)
                    mean = site.volume * day_factor * motor_profile[hour] * tide * share
                count = poisson(mean, rng)
                shown = ""
                measurable = not (
                    (vehicle_class == "MC" and rng.random() < 0.25)
                    or (vehicle_class == "Cykel" and not site.measures_bike_speed)
                )
                if count > 0 and measurable:
                    shown = f"{speed(site, vehicle_class, hour, load, rng):.1f}".replace(".", ",")
                rows.append(
                    [
                        site.device.device_id,
                        day.isoformat(),
                        str(hour),
                        direction,
                        vehicle_class,
                        str(count),
                        shown,
                    ]
                )
    return rows


@dataclass(frozen=True)
class ExportHabits:
    """How a day's file was written."""

    encoding: str  # cp1252 or utf-8-sig
    crlf: bool
    summary: bool


def export_habits(period: Period, rng: random.Random) -> list[ExportHabits]:
    """Alternate the habits so that any two days show both encodings and a summary line."""
    encoding_offset, summary_offset = rng.randrange(2), rng.randrange(3)
    habits = []
    for index in range(period.days):
        cp1252 = (index + encoding_offset) % 2 == 0
        habits.append(
            ExportHabits(
                encoding="cp1252" if cp1252 else "utf-8-sig",
                crlf=cp1252 or index % 3 == 0,
                summary=(index + summary_offset) % 3 != 2,
            )
        )
    return habits


def break_rows(day_rows: dict[date, list[list[str]]], rng: random.Random) -> dict[date, int]:
    """Spoil a few rows, each kind on a different day; returns broken rows per day."""
    days = sorted(day_rows)
    broken = dict.fromkeys(days, 0)
    kinds = ["non_numeric", "negative", "direction", "hour_24", "unknown_site"]
    for number, kind in enumerate(kinds):
        day = days[number % len(days)]
        rows = day_rows[day]
        index = rng.randrange(len(rows))
        if kind == "non_numeric":
            rows[index][5] = "saknas"
        elif kind == "negative":
            rows[index][5] = f"-{rng.randint(1, 9)}"
        else:
            extra = list(rows[index])
            if kind == "direction":
                extra[3] = "NÖ"
            elif kind == "hour_24":
                extra[2] = "24"
            else:
                extra[0] = UNREGISTERED_SITE
            rows.insert(index + 1, extra)
        broken[day] += 1
    for day in days:
        if len(local_hour_starts(day)) == 23:  # spring: the hour 02:00-03:00 does not exist
            rows = day_rows[day]
            index = rng.randrange(len(rows))
            rows.insert(index, [rows[index][0], day.isoformat(), "2", *rows[index][3:]])
            broken[day] += 1
    return broken


def summary_total(rows: list[list[str]]) -> int:
    return sum(int(row[5]) for row in rows if row[5].lstrip("-").isdigit())


def encode(lines: list[str], habits: ExportHabits) -> bytes:
    end = "\r\n" if habits.crlf else "\n"
    return (end.join(lines) + end).encode(habits.encoding)


def day_path(day: date, suffix: str = "") -> str:
    return f"{SOURCE}/{day.year}/trafik_{day.isoformat()}{suffix}.csv"


def arrival(day: date) -> datetime:
    """The export runs in the night after the day."""
    return local_midnight(day + timedelta(days=1)) + timedelta(hours=2, minutes=30)


def old_header_export(day: date, rows: list[list[str]]) -> LandingFile:
    """A manual re-export from the old system version: no speed column, so a wrong header."""
    sites = sorted({row[0] for row in rows})[:2]
    lines = [OLD_HEADER] + [";".join(row[:6]) for row in rows if row[0] in sites]
    data = encode(lines, ExportHabits("cp1252", crlf=True, summary=False))
    record = GeneratedFile(
        SOURCE,
        day_path(day, "_manuell"),
        rows=0,
        arrived_at=arrival(day) + timedelta(hours=7),
        broken="wrong header (old export without Medelhastighet)",
    )
    return LandingFile(record, data)


def generate(city: City, period: Period) -> list[LandingFile]:
    rng = random.Random(f"{city.seed}:{SOURCE}")
    counters = [
        d for d in city.devices_of("traffic_counter") if any(d.in_service(day) for day in period.dates)
    ]
    sites = make_sites(counters, rng)
    day_rows = {
        day: [row for site in sites if site.device.in_service(day) for row in site_rows(site, day, rng)]
        for day in period.dates
    }
    broken = break_rows(day_rows, rng)
    habits = export_habits(period, rng)
    files = []
    for index, day in enumerate(period.dates):
        rows = day_rows[day]
        lines = [HEADER] + [";".join(row) for row in rows]
        if habits[index].summary:
            lines.append(f"Summa;;;;;{summary_total(rows)};")
        record = GeneratedFile(SOURCE, day_path(day), len(rows), arrival(day), broken[day])
        files.append(LandingFile(record, encode(lines, habits[index])))
    wrong_header_day = period.dates[min(2, period.days - 1)]
    files.append(old_header_export(wrong_header_day, day_rows[wrong_header_day]))
    copied = files[min(3, period.days - 1)]
    copy = GeneratedFile(
        SOURCE,
        day_path(period.dates[min(3, period.days - 1)], "_kopia"),
        copied.record.rows,
        copied.record.arrived_at + timedelta(days=1, hours=6),
        copied.record.broken_rows,
        duplicate_of=copied.record.path,
    )
    files.append(LandingFile(copy, copied.data))
    return files
