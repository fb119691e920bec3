"""Svenska Bostäder's smart electricity meters: hourly readings per household, one CSV a day.

`smart_meters/<YYYY>/<MM>/timvarden_<YYYY-MM-DD>.csv`, `;`-delimited, decimal comma,
UTF-8, CRLF: `MätarID;Period start;kWh`, one row per meter and local hour, ordered by
meter and then time. `Period start` is local time without an offset (`YYYY-MM-DD HH:MM`),
so on the day the clocks go back every meter has two rows `… 02:00` (the earlier hour
first) and on the day they go forward none.

Every meter is a `smart_meter` of svbo's registry, one household each, ten households to
a building. Consumption has a base load (fridge, standby), morning and evening peaks
(later and flatter at weekends), more lighting when the days are short, and now and then
a washing machine or an oven.

Quirks: one negative reading (the meter's register wrapped: rejected) and one day's file
delivered twice under another name (`timvarden_<date>_2.csv`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from simulation.city import STOCKHOLM, City, Device, Period, local_hour_starts, local_midnight
from simulation.landing_files import GeneratedFile, LandingFile

SOURCE = "smart_meters"
HEADER = "MätarID;Period start;kWh"

# Share of a household's daily activity in each local hour (normalized below).
WEEKDAY_ACTIVITY = (0.3, 0.2, 0.2, 0.2, 0.2, 0.4, 1.6, 2.4, 1.6, 0.8, 0.6, 0.6,
                    0.8, 0.6, 0.6, 0.8, 1.4, 2.6, 3.2, 3.0, 2.6, 2.2, 1.5, 0.8)  # fmt: skip
WEEKEND_ACTIVITY = (0.5, 0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.7, 1.4, 2.0, 2.2, 2.2,
                    2.4, 2.0, 1.8, 1.8, 2.0, 2.6, 3.0, 2.8, 2.4, 2.0, 1.6, 1.0)  # fmt: skip


def _normalized(profile: tuple[float, ...]) -> tuple[float, ...]:
    total = sum(profile)
    return tuple(p / total for p in profile)


ACTIVITY = {False: _normalized(WEEKDAY_ACTIVITY), True: _normalized(WEEKEND_ACTIVITY)}


@dataclass(frozen=True)
class Household:
    meter: Device
    base_kw: float
    daily_activity_kwh: float
    appliance_chance: float  # per waking hour


@dataclass(frozen=True)
class Reading:
    meter_id: str
    hour_start: datetime  # UTC
    kwh: float


def make_households(meters: list[Device], rng: random.Random) -> list[Household]:
    households = []
    for meter in meters:
        persons = rng.choices([1, 2, 3, 4], weights=[45, 30, 14, 11])[0]
        households.append(
            Household(
                meter=meter,
                base_kw=rng.uniform(0.06, 0.14),
                daily_activity_kwh=rng.uniform(2.0, 3.5) * persons**0.6,
                appliance_chance=0.02 + 0.015 * persons,
            )
        )
    return households


def lighting_factor(day: date) -> float:
    """More light is switched on when the days are short (peaks at midwinter)."""
    return 1.0 + 0.25 * math.cos(2 * math.pi * (day.timetuple().tm_yday + 10) / 365.25)


def day_readings(household: Household, day: date, rng: random.Random) -> list[Reading]:
    weekend = day.weekday() >= 5
    profile = ACTIVITY[weekend]
    at_home = rng.gauss(1.0, 0.12) * (1.15 if weekend else 1.0)
    readings = []
    for start in local_hour_starts(day):
        hour = start.astimezone(STOCKHOLM).hour
        kwh = household.base_kw * rng.uniform(0.85, 1.15)
        kwh += household.daily_activity_kwh * profile[hour] * at_home * lighting_factor(day)
        kwh *= math.exp(rng.gauss(0, 0.18))
        if 7 <= hour <= 22 and rng.random() < household.appliance_chance:
            kwh += rng.uniform(0.6, 1.8)  # washing machine, dryer, oven
        readings.append(Reading(household.meter.device_id, start, round(kwh, 3)))
    return readings


def period_start_text(at: datetime) -> str:
    return f"{at.astimezone(STOCKHOLM):%Y-%m-%d %H:%M}"


def kwh_text(kwh: float) -> str:
    return f"{kwh:.3f}".replace(".", ",")


def day_path(day: date, suffix: str = "") -> str:
    return f"{SOURCE}/{day.year}/{day.month:02d}/timvarden_{day.isoformat()}{suffix}.csv"


def day_file(day: date, readings: list[Reading], broken_rows: int, suffix: str = "") -> LandingFile:
    lines = [HEADER] + [f"{r.meter_id};{period_start_text(r.hour_start)};{kwh_text(r.kwh)}" for r in readings]
    data = "".join(line + "\r\n" for line in lines).encode("utf-8")
    path = day_path(day, suffix)
    arrived = local_midnight(day + timedelta(days=1)) + timedelta(hours=4, minutes=40)
    return LandingFile(GeneratedFile(SOURCE, path, len(readings), arrived, broken_rows), data)


def generate(city: City, period: Period) -> list[LandingFile]:
    rng = random.Random(f"{city.seed}:{SOURCE}")
    meters = [d for d in city.devices_of("smart_meter") if any(d.in_service(day) for day in period.dates)]
    if not meters:
        return []
    households = make_households(meters, rng)
    wrapped_day = period.dates[min(2, period.days - 1)]
    files = []
    for day in period.dates:
        readings = [r for h in households if h.meter.in_service(day) for r in day_readings(h, day, rng)]
        broken = 0
        if day == wrapped_day and readings:
            index = rng.randrange(len(readings))
            readings[index] = Reading(readings[index].meter_id, readings[index].hour_start, -412.603)
            broken = 1
        files.append(day_file(day, readings, broken))
    copied = files[min(4, period.days - 1)]
    record = GeneratedFile(
        SOURCE,
        day_path(period.dates[min(4, period.days - 1)], "_2"),
        copied.record.rows,
        copied.record.arrived_at + timedelta(hours=26),
        copied.record.broken_rows,
        duplicate_of=copied.record.path,
    )
    files.append(LandingFile(record, copied.data))
    return files
