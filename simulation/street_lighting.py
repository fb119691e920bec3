"""Trafikkontoret's lighting-control system: one Excel export per local day.

`street_lighting/<YYYY>/belysning_<YYYY-MM-DD>.xlsx`, the data on the first sheet
(`Belysning`; a second sheet `Exportinfo` says what exported it), one row per smart
luminaire: `Armatur-ID`, `Datum`, `Energi (kWh)`, `Brinntid (h)`, `Felkod`.

A luminaire burns while the sun is more than two degrees below the horizon in central
Stockholm, so the burn time follows the length of the night: about 14 hours in late
October, 18 at midwinter, under 5 at midsummer, and an hour more on the day the clocks go
back (that local day has 25 hours). Each luminaire's photocell switches a little early or
late. Energy is the luminaire's power times its burn time, as the control system meters it.

Faults carry a code: `E12` lamp failure (no burn, no energy; it lasts until the lamp is
replaced a few days later), `E07` overheated driver (dimmed: less energy), `E21` supply
interruption (a few hours lost).

Quirks, all present in every generation of five days or more: a `Brinntid` above 24
(a counter glitch: rejected), `Datum` stored as a bare Excel serial number in one file
and as text `YYYY-MM-DD` in another (elsewhere a date cell), and one export cut off in
transfer (a truncated zip), which the system exports again complete as
`belysning_<date>_omexport.xlsx`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from simulation.city import STOCKHOLM, City, Device, Period, local_midnight
from simulation.landing_files import GeneratedFile, LandingFile
from simulation.workbook import Cell, Sheet, excel_serial, workbook_bytes

SOURCE = "street_lighting"
HEADER = ("Armatur-ID", "Datum", "Energi (kWh)", "Brinntid (h)", "Felkod")
STOCKHOLM_LAT, STOCKHOLM_LON = 59.33, 18.07
SWITCH_ALTITUDE = -2.0  # degrees: the photocells' threshold, a little after sunset
DARKNESS_STEP = timedelta(minutes=5)
POWERS_W = (27, 36, 45, 58, 72, 96)
GLITCH_BURN_HOURS = 31.25


@dataclass(frozen=True)
class Luminaire:
    device: Device
    power_w: int
    photocell_h: float  # switches on later and off earlier (> 0) or the opposite (< 0)


@dataclass(frozen=True)
class Reading:
    luminaire_id: str
    day: date
    energy_kwh: float
    burn_hours: float
    fault: str = ""


def solar_altitude(at: datetime, lat: float = STOCKHOLM_LAT, lon: float = STOCKHOLM_LON) -> float:
    """The sun's altitude in degrees (NOAA's low-precision formulas, about 0.5 degree)."""
    utc = at.astimezone(UTC)
    hour = utc.hour + utc.minute / 60
    gamma = 2 * math.pi / 365 * (utc.timetuple().tm_yday - 1 + (hour - 12) / 24)
    equation_of_time = 229.18 * (
        0.000075
        + 0.001868 * math.cos(gamma)
        - 0.032077 * math.sin(gamma)
        - 0.014615 * math.cos(2 * gamma)
        - 0.040849 * math.sin(2 * gamma)
    )
    declination = (
        0.006918
        - 0.399912 * math.cos(gamma)
        + 0.070257 * math.sin(gamma)
        - 0.006758 * math.cos(2 * gamma)
        + 0.000907 * math.sin(2 * gamma)
        - 0.002697 * math.cos(3 * gamma)
        + 0.00148 * math.sin(3 * gamma)
    )
    solar_minutes = hour * 60 + equation_of_time + 4 * lon
    hour_angle = math.radians(solar_minutes / 4 - 180)
    latitude = math.radians(lat)
    cos_zenith = math.sin(latitude) * math.sin(declination) + math.cos(latitude) * math.cos(
        declination
    ) * math.cos(hour_angle)
    return 90 - math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))


def darkness_hours(day: date) -> float:
    """Hours of the local day (23, 24 or 25 long) with the sun below the switch threshold."""
    at, end = local_midnight(day), local_midnight(day + timedelta(days=1))
    dark = 0
    while at < end:
        dark += solar_altitude(at + DARKNESS_STEP / 2) < SWITCH_ALTITUDE
        at += DARKNESS_STEP
    return dark * DARKNESS_STEP / timedelta(hours=1)


def make_luminaires(devices: list[Device], rng: random.Random) -> list[Luminaire]:
    return [Luminaire(d, rng.choice(POWERS_W), rng.uniform(-0.25, 0.25)) for d in devices]


@dataclass(frozen=True)
class Faults:
    """Which luminaire has which fault on which days."""

    by_day: dict[tuple[str, date], str]


def plan_faults(luminaires: list[Luminaire], period: Period, rng: random.Random) -> Faults:
    """A lamp failure for three days, a driver fault on two days, one supply interruption."""
    ids = [lum.device.device_id for lum in luminaires]
    lamp, driver, supply = rng.sample(ids, 3) if len(ids) >= 3 else (ids * 3)[:3]
    dates = period.dates
    faults: dict[tuple[str, date], str] = {}
    for day in dates[1:4] or dates[:1]:
        faults[(lamp, day)] = "E12"
    for day in (dates[0], dates[-1]):
        faults.setdefault((driver, day), "E07")
    faults.setdefault((supply, dates[min(5, len(dates) - 1)]), "E21")
    return Faults(faults)


def reading(luminaire: Luminaire, day: date, dark: float, fault: str, rng: random.Random) -> Reading:
    burn = max(0.0, dark - luminaire.photocell_h + rng.gauss(0, 0.04))
    load = 1.0
    if fault == "E12":
        burn, load = 0.0, 0.0
    elif fault == "E07":
        load = 0.55
    elif fault == "E21":
        burn = max(0.0, burn - rng.uniform(2.5, 4.5))
    energy = luminaire.power_w / 1000 * burn * load * rng.gauss(1.0, 0.01)
    return Reading(luminaire.device.device_id, day, round(energy, 3), round(burn, 2), fault)


def day_readings(luminaires: list[Luminaire], day: date, faults: Faults, rng: random.Random) -> list[Reading]:
    dark = darkness_hours(day)
    return [
        reading(lum, day, dark, faults.by_day.get((lum.device.device_id, day), ""), rng)
        for lum in luminaires
        if lum.device.in_service(day)
    ]


# ---------------------------------------------------------------------------- files


def date_cell(day: date, habit: str) -> Cell:
    """A date cell, or (quirks) the bare serial number, or the date typed as text."""
    if habit == "serial":
        return Cell(excel_serial(day))
    if habit == "text":
        return Cell(day.isoformat())
    return Cell(excel_serial(day), "date")


def export_sheets(readings: list[Reading], day: date, habit: str, exported: datetime) -> list[Sheet]:
    rows: list[list[Cell | None]] = [[Cell(name, "header") for name in HEADER]]
    for r in readings:
        rows.append(
            [
                Cell(r.luminaire_id),
                date_cell(r.day, habit),
                Cell(r.energy_kwh, "decimal3"),
                Cell(r.burn_hours, "decimal2"),
                Cell(r.fault) if r.fault else None,
            ]
        )
    info = [
        [Cell("System", "header"), Cell("Belysningsstyrning, Trafikkontoret")],
        [Cell("Rapport", "header"), Cell(f"Energi och brinntid per armatur {day.isoformat()}")],
        [Cell("Exporterad", "header"), Cell(f"{exported.astimezone(STOCKHOLM):%Y-%m-%d %H:%M}")],
    ]
    return [
        Sheet("Belysning", rows, widths=(13, 12, 13, 13, 8)),
        Sheet("Exportinfo", info, widths=(12, 48)),
    ]


def day_path(day: date, suffix: str = "") -> str:
    return f"{SOURCE}/{day.year}/belysning_{day.isoformat()}{suffix}.xlsx"


def export_file(
    readings: list[Reading], day: date, habit: str, exported: datetime, broken_rows: int, suffix: str = ""
) -> LandingFile:
    data = workbook_bytes(
        export_sheets(readings, day, habit, exported),
        author="Trafikkontoret",
        application="Belysningsstyrning",
        written_at=exported,
    )
    record = GeneratedFile(SOURCE, day_path(day, suffix), len(readings), exported, broken_rows)
    return LandingFile(record, data)


def truncated(file: LandingFile) -> LandingFile:
    record = file.record
    cut = GeneratedFile(
        SOURCE, record.path, 0, record.arrived_at, broken="truncated xlsx (zip cut off in transfer)"
    )
    return LandingFile(cut, file.data[: len(file.data) * 3 // 5])


def generate(city: City, period: Period) -> list[LandingFile]:
    rng = random.Random(f"{city.seed}:{SOURCE}")
    devices = [
        d for d in city.devices_of("smart_streetlight") if any(d.in_service(day) for day in period.dates)
    ]
    if not devices:
        return []
    luminaires = make_luminaires(devices, rng)
    faults = plan_faults(luminaires, period, rng)
    dates = period.dates
    habits = {dates[min(1, len(dates) - 1)]: "serial", dates[min(2, len(dates) - 1)]: "text"}
    glitch_day = dates[min(3, len(dates) - 1)]
    cut_day = dates[min(4, len(dates) - 1)]
    files = []
    for day in dates:
        readings = day_readings(luminaires, day, faults, rng)
        broken = 0
        if day == glitch_day and readings:
            healthy = [i for i, r in enumerate(readings) if not r.fault] or [0]
            index = rng.choice(healthy)
            readings[index] = Reading(
                readings[index].luminaire_id, day, readings[index].energy_kwh, GLITCH_BURN_HOURS
            )
            broken = 1
        exported = local_midnight(day + timedelta(days=1)) + timedelta(hours=1, minutes=35)
        file = export_file(readings, day, habits.get(day, "date"), exported, broken)
        if day == cut_day:
            again = exported + timedelta(hours=3, minutes=10)
            files += [truncated(file), export_file(readings, day, "date", again, broken, "_omexport")]
        else:
            files.append(file)
    return files
