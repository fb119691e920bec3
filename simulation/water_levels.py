"""Stockholm Vatten och Avfall's water-level and rain gauges: hourly JSON Lines batches.

Every station reports every 15 minutes: the water level in RH 2000 (metres) and the rain
in the 15 minutes before (millimetres, in the 0.2 mm steps of a tipping bucket). Batches
are named by the UTC hour they cover (`water_levels/<YYYY-MM-DD>/<HHMM>.jsonl`) and hold
every station's readings of that hour, `observed_at` in local time with its offset.

Stations on Saltsjön (the Baltic at Östermalm and Södermalm) see the sea level move with
wind and air pressure, a few decimetres over days around +0.3 m; stations on Mälaren (the
regulated lake) stay near +0.7 m and rise a little after heavy rain. Rain comes in spells
over the whole city, and on one day a cloudburst (skyfall) drops well over 10 mm in one
hour on one station.

Missing measurements, as the real feed has them: one station has no rain gauge (the key
is absent), a level sensor fails for some hours (`null`), a few rain readings are `null`.
Late and repeated data: one station's link is down for a few hours and its readings come
a day later in one batch; some batches start by repeating the previous batch's last
readings.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from simulation.city import STOCKHOLM, City, Device, Period
from simulation.landing_files import GeneratedFile, LandingFile

SOURCE = "water_levels"
STEP = timedelta(minutes=15)
SALTSJON_DISTRICTS = ("Östermalm", "Södermalm")
SKYFALL_QUARTERS_MM = (3.4, 5.8, 4.2, 1.6)  # the cloudburst's four quarters of an hour
RETRANSMITTED_READINGS = 3


@dataclass(frozen=True)
class Station:
    device: Device
    water_body: str  # Saltsjön | Mälaren
    datum_offset_m: float  # the gauge's own small offset
    rain_gauge: bool
    rain_factor: float  # how much of the city's rain this spot gets


@dataclass(frozen=True)
class Reading:
    station_id: str
    observed_at: datetime  # UTC
    water_level_m: float | None
    rainfall_mm: float | None  # None: null; the key is left out for stations without a gauge


def make_stations(gauges: list[Device], rng: random.Random) -> list[Station]:
    """Mälaren stations first (the first takes the cloudburst); the second has no rain gauge."""
    gauges = sorted(gauges, key=lambda g: (g.district in SALTSJON_DISTRICTS, g.device_id))
    no_rain_gauge = gauges[1].device_id if len(gauges) > 1 else ""
    return [
        Station(
            device=gauge,
            water_body="Saltsjön" if gauge.district in SALTSJON_DISTRICTS else "Mälaren",
            datum_offset_m=rng.gauss(0, 0.01),
            rain_gauge=gauge.device_id != no_rain_gauge,
            rain_factor=rng.uniform(0.75, 1.25),
        )
        for gauge in gauges
    ]


@dataclass(frozen=True)
class Weather:
    """Per 15-minute step: city rain (mm/h) and the Baltic's wind-driven level (m)."""

    rain_mm_h: tuple[float, ...]
    sea_level_m: tuple[float, ...]


def simulate_weather(period: Period, rng: random.Random) -> Weather:
    steps = int((period.utc_end - period.utc_start) / STEP)
    rain = [0.0] * steps
    per_day = int(timedelta(days=1) / STEP)
    for day in range(period.days):
        if rng.random() < 0.45:  # a rain spell of a few hours
            start = day * per_day + rng.randrange(per_day)
            length = rng.randrange(8, 28)
            intensity = rng.uniform(0.3, 2.0)
            for step in range(start, min(steps, start + length)):
                rain[step] += intensity * rng.uniform(0.4, 1.6)
    sea, level = [], rng.uniform(0.2, 0.4)
    for _ in range(steps):
        level = 0.30 + 0.995 * (level - 0.30) + rng.gauss(0, 0.006)
        sea.append(level)
    return Weather(tuple(rain), tuple(sea))


def skyfall_start(period: Period) -> datetime:
    """A clock hour in the afternoon of the period's third day (or its last, if shorter)."""
    day = period.dates[min(2, period.days - 1)]
    return datetime(day.year, day.month, day.day, 15, tzinfo=STOCKHOLM).astimezone(UTC)


def simulate(stations: list[Station], period: Period, rng: random.Random) -> list[Reading]:
    weather = simulate_weather(period, rng)
    burst_at = skyfall_start(period)
    hit = stations[0].device.device_id  # a Mälaren bay station takes the cloudburst
    readings = []
    for station in stations:
        tips, lake_rise = 0.0, 0.0
        lake_base = 0.70 + rng.gauss(0, 0.03)
        for step, rain_mm_h in enumerate(weather.rain_mm_h):
            at = period.utc_start + (step + 1) * STEP  # the reading closes its 15 minutes
            if not station.device.in_service(at.astimezone(STOCKHOLM).date()):
                continue
            fallen = rain_mm_h / 4 * station.rain_factor
            quarter = int((at - STEP - burst_at) / STEP)
            if station.device.device_id == hit and 0 <= quarter < len(SKYFALL_QUARTERS_MM):
                fallen = SKYFALL_QUARTERS_MM[quarter] + rng.uniform(0, 0.19)
            tips += fallen
            rainfall = math.floor(tips / 0.2 + 1e-9) * 0.2
            tips -= rainfall
            if station.water_body == "Saltsjön":
                level = weather.sea_level_m[step] + 0.02 * math.sin(2 * math.pi * step / 49.7)
            else:
                lake_rise = 0.998 * lake_rise + 0.0012 * fallen
                level = lake_base + lake_rise
            level += station.datum_offset_m + rng.gauss(0, 0.003)
            readings.append(Reading(station.device.device_id, at, round(level, 3), round(rainfall, 1)))
    return readings


def add_gaps(readings: list[Reading], stations: list[Station], period: Period, rng: random.Random) -> None:
    """A level sensor out for four hours on the second day; rare null rain readings."""
    faulty = stations[-1].device.device_id
    day = period.dates[min(1, period.days - 1)]
    out_from = datetime(day.year, day.month, day.day, 9, tzinfo=STOCKHOLM).astimezone(UTC)
    for index, reading in enumerate(readings):
        if reading.station_id == faulty and out_from <= reading.observed_at < out_from + timedelta(hours=4):
            readings[index] = Reading(reading.station_id, reading.observed_at, None, reading.rainfall_mm)
        elif rng.random() < 0.003:  # the rain gauge's counter did not answer
            readings[index] = Reading(reading.station_id, reading.observed_at, reading.water_level_m, None)


# ---------------------------------------------------------------------------- batches

BatchKey = datetime  # the UTC hour


def batch_key(at: datetime) -> BatchKey:
    return (at - timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0)


def assemble(
    readings: list[Reading], stations: list[Station], period: Period
) -> dict[BatchKey, list[Reading]]:
    """Readings by the hour they close; one station's link-down hours arrive a day late."""
    offline = stations[min(2, len(stations) - 1)].device.device_id
    first_day = period.dates[0]
    down_from = datetime(first_day.year, first_day.month, first_day.day, 20, tzinfo=STOCKHOLM).astimezone(UTC)
    down_until = down_from + timedelta(hours=5)
    delivered = batch_key(min(down_until + timedelta(days=1), period.utc_end))
    batches: dict[BatchKey, list[Reading]] = {}
    late = []
    for reading in sorted(readings, key=lambda r: (r.observed_at, r.station_id)):
        if reading.station_id == offline and down_from < reading.observed_at <= down_until:
            late.append(reading)
        else:
            batches.setdefault(batch_key(reading.observed_at), []).append(reading)
    batches.setdefault(delivered, []).extend(late)
    return batches


def add_retransmissions(batches: dict[BatchKey, list[Reading]], rng: random.Random) -> None:
    keys = sorted(batches)
    if len(keys) < 2:
        return
    for key in sorted({keys[len(keys) // 2]} | {k for k in keys[1:] if rng.random() < 0.05}):
        previous = batches[keys[keys.index(key) - 1]]
        batches[key] = previous[-RETRANSMITTED_READINGS:] + batches[key]


def json_line(reading: Reading, station: Station) -> str:
    record: dict[str, object] = {
        "station_id": reading.station_id,
        "observed_at": reading.observed_at.astimezone(STOCKHOLM).isoformat(),
        "water_level_m": reading.water_level_m,
    }
    if station.rain_gauge:
        record["rainfall_mm"] = reading.rainfall_mm
    return json.dumps(record, ensure_ascii=False)


def batch_file(key: BatchKey, readings: list[Reading], stations: dict[str, Station]) -> LandingFile:
    data = "".join(json_line(r, stations[r.station_id]) + "\n" for r in readings).encode()
    path = f"{SOURCE}/{key:%Y-%m-%d}/{key:%H%M}.jsonl"
    arrived = key + timedelta(hours=1, minutes=3)
    return LandingFile(GeneratedFile(SOURCE, path, len(readings), arrived), data)


def generate(city: City, period: Period) -> list[LandingFile]:
    rng = random.Random(f"{city.seed}:{SOURCE}")
    gauges = [
        d for d in city.devices_of("water_level_gauge") if any(d.in_service(day) for day in period.dates)
    ]
    if not gauges:
        return []
    stations = make_stations(gauges, rng)
    readings = simulate(stations, period, rng)
    add_gaps(readings, stations, period, rng)
    batches = assemble(readings, stations, period)
    add_retransmissions(batches, rng)
    by_id = {s.device.device_id: s for s in stations}
    return [batch_file(key, batches[key], by_id) for key in sorted(batches)]
