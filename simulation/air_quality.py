"""Miljöförvaltningen's air-quality gateways: hourly JSON Lines batches per gateway.

Each sensor reports NO2, PM10, PM2_5 and O3 every 10 minutes through the gateway of its
part of the city. Batches are named by the UTC hour they cover
(`air_quality/<gateway>/<YYYY-MM-DD>/<HHMM>.jsonl[.gz]`): the gateways' clocks run in
UTC, so the repeated October hour gets files of its own instead of overwriting one.

Concentrations follow the city's rhythm: NO2 and PM peak with the rush hours on weekdays,
O3 builds up in the afternoon and is eaten by NO2 at busy streets, and a shared
"weather" (dispersion) factor makes whole days cleaner or dirtier across all sensors.

The quirks of the real gateways, all present in every generation of two days or more:
older gateways send NO2 and O3 in ppb and/or `observed_at` without an offset (local
time; during the repeated October hour two readings then carry the same local time);
null values (sensor faults), maintenance and error statuses; retransmissions of the
previous batch's last readings, some with a corrected value; readings delayed by an
outage and delivered 1-6 days late; broken rows (invalid JSON, unknown pollutant,
unregistered device, negative and absurd values); and one truncated gzip batch, which
the gateway sends again complete as `<HHMM>-resend.jsonl.gz`.
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import NamedTuple

from simulation.city import STOCKHOLM, City, Device, Period, RegistryUpdate, local_midnight
from simulation.landing_files import GeneratedFile, LandingFile, gzip_bytes

SOURCE = "air_quality"
POLLUTANTS = ("NO2", "PM10", "PM2_5", "O3")
PPB_FACTORS = {"NO2": 1.88, "O3": 2.00}  # µg/m³ per ppb at 20 °C, 1013 hPa
STEP = timedelta(minutes=10)
RETRANSMITTED_READINGS = 6
UNREGISTERED_SENSOR = "AQ-9999"  # above any id up to scale 100


@dataclass(frozen=True)
class Gateway:
    """One gateway and the habits of its firmware."""

    name: str
    districts: tuple[str, ...]
    ppb: bool  # NO2 and O3 in ppb
    offset: bool  # observed_at with +01:00/+02:00, else local time without offset
    gzip: bool


GATEWAYS = (
    Gateway(
        "gw-innerstad",
        ("Norrmalm", "Östermalm", "Kungsholmen", "Södermalm"),
        ppb=False,
        offset=True,
        gzip=True,
    ),
    Gateway(
        "gw-soderort-ost",
        ("Enskede-Årsta-Vantör", "Skarpnäck", "Farsta"),
        ppb=True,
        offset=True,
        gzip=True,
    ),
    Gateway("gw-soderort-vast", ("Hägersten-Älvsjö", "Skärholmen"), ppb=False, offset=False, gzip=True),
    Gateway(
        "gw-vasterort",
        ("Rinkeby-Kista", "Spånga-Tensta", "Hässelby-Vällingby", "Bromma"),
        ppb=True,
        offset=False,
        gzip=False,
    ),
)


class Reading(NamedTuple):
    device_id: str
    observed_at: datetime  # UTC
    pollutant: str
    value: float | None  # µg/m³
    status: str = "ok"


BatchKey = tuple[str, datetime]  # gateway name, UTC hour
Line = Reading | str  # a reading, or a raw (broken) line as it will be written


def gateway_of(district: str) -> Gateway:
    for gateway in GATEWAYS:
        if district in gateway.districts:
            return gateway
    raise ValueError(f"no air-quality gateway serves district {district!r}")


# ---------------------------------------------------------------------------- the air


def _bell(hour: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((hour - centre) / width) ** 2)


def traffic_activity(hour: float, weekend: bool) -> float:
    """Relative road traffic through the local day: two rush hours on weekdays."""
    if weekend:
        return 0.12 + 0.55 * _bell(hour, 13.5, 3.5)
    return 0.12 + 0.9 * _bell(hour, 7.75, 1.0) + 0.8 * _bell(hour, 16.75, 1.4) + 0.3 * _bell(hour, 12.5, 3.0)


@dataclass(frozen=True)
class Weather:
    """City-wide conditions per 10-minute step: dispersion (log factor) and regional PM."""

    dispersion: tuple[float, ...]
    regional_pm: tuple[float, ...]


def simulate_weather(steps: int, rng: random.Random) -> Weather:
    dispersion, regional = [], []
    w, pm = rng.gauss(0, 0.25), rng.uniform(8, 14)
    for _ in range(steps):
        w = 0.985 * w + rng.gauss(0, 0.05)
        pm = max(3.0, 11 + 0.99 * (pm - 11) + rng.gauss(0, 0.5))
        dispersion.append(w)
        regional.append(pm)
    return Weather(tuple(dispersion), tuple(regional))


def concentrations(
    sensor: Device, activity: float, hour: float, dispersion: float, regional_pm: float
) -> dict[str, float]:
    """µg/m³ of each pollutant at a sensor, before sensor noise."""
    street = sensor.site_kind == "street"
    stagnation = math.exp(dispersion)
    no2 = (6 + (44 if street else 20) * activity) * stagnation
    o3 = max(2.0, 40 + 25 * _bell(hour, 14.5, 2.6) - 0.5 * no2 - 8 * dispersion)
    local_pm = (16 if street else 6) * activity
    pm10 = (regional_pm + local_pm) * (0.5 + 0.5 * stagnation)
    pm25 = (0.45 * regional_pm + 0.1 * local_pm + 1) * (0.6 + 0.4 * stagnation)
    return {"NO2": no2, "PM10": pm10, "PM2_5": pm25, "O3": o3}


def reporting_until(sensor: Device, update: RegistryUpdate, period: Period) -> datetime:
    """A sensor dropped from a later registry export stops reporting on that day."""
    if sensor.device_id in update.dropped:
        return local_midnight(update.exported_on)
    if sensor.decommissioned_at is not None:
        return min(local_midnight(sensor.decommissioned_at), period.utc_end)
    return period.utc_end


def simulate_readings(
    sensors: list[Device], period: Period, update: RegistryUpdate, rng: random.Random
) -> list[Reading]:
    steps = int((period.utc_end - period.utc_start) / STEP)
    weather = simulate_weather(steps, rng)
    gains = {s.device_id: {p: rng.gauss(1.0, 0.08) for p in POLLUTANTS} for s in sensors}
    starts = {s.device_id: local_midnight(s.installed_at) for s in sensors}
    ends = {s.device_id: reporting_until(s, update, period) for s in sensors}
    readings = []
    for step in range(steps):
        at = period.utc_start + step * STEP
        local = at.astimezone(STOCKHOLM)
        hour = local.hour + local.minute / 60
        activity = traffic_activity(hour, local.weekday() >= 5)
        for sensor in sensors:
            if not starts[sensor.device_id] <= at < ends[sensor.device_id]:
                continue
            air = concentrations(sensor, activity, hour, weather.dispersion[step], weather.regional_pm[step])
            for pollutant in POLLUTANTS:
                noisy = air[pollutant] * gains[sensor.device_id][pollutant]
                noisy *= math.exp(rng.gauss(0, 0.08))
                readings.append(Reading(sensor.device_id, at, pollutant, round(noisy, 1)))
    return readings


# ---------------------------------------------------------------------------- quirks


def local_time(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=STOCKHOLM).astimezone(UTC)


def apply_sensor_trouble(
    readings: list[Reading], sensors: list[Device], period: Period, rng: random.Random
) -> list[Reading]:
    """Maintenance, a PM fault with nulls, and rare random nulls and errors."""
    ids = [s.device_id for s in sensors]
    serviced, faulty = rng.sample(ids, 2)
    service_day = period.dates[min(1, period.days - 1)]
    service = (local_time(service_day, 9), local_time(service_day, 11))
    fault_day = period.dates[min(2, period.days - 1)]
    fault = (local_time(fault_day, 14), local_time(fault_day, 17))
    troubled = []
    for reading in readings:
        if reading.device_id == serviced and service[0] <= reading.observed_at < service[1]:
            reading = reading._replace(status="maintenance")
        elif (
            reading.device_id == faulty
            and reading.pollutant.startswith("PM")
            and fault[0] <= reading.observed_at < fault[1]
        ):
            reading = reading._replace(value=None, status="error")
        else:
            chance = rng.random()
            if chance < 0.001:
                reading = reading._replace(value=None)
            elif chance < 0.0015:
                reading = reading._replace(status="error")
        troubled.append(reading)
    return troubled


@cache
def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def batch_key(reading: Reading, gateways: dict[str, Gateway]) -> BatchKey:
    return gateways[reading.device_id].name, hour_of(reading.observed_at)


@dataclass(frozen=True)
class Outage:
    """A sensor's connection is down; its readings come later in one go."""

    device_id: str
    start: datetime
    end: datetime
    delivered_at: datetime  # the UTC hour of the batch that brings them


def plan_outages(sensors: list[Device], period: Period, rng: random.Random) -> list[Outage]:
    """Two outages on the first day: one delivered a day later, one at the end (≤ 6 days)."""
    first = period.dates[0]
    short_lag = period.dates[min(1, period.days - 1)]
    long_lag = period.dates[min(6, period.days - 1)]
    one, two = rng.sample([s.device_id for s in sensors], 2)
    return [
        Outage(one, local_time(first, 12), local_time(first, 18), local_time(short_lag, 20)),
        Outage(two, local_time(first, 6), local_time(first, 9), local_time(long_lag, 10)),
    ]


def assemble_batches(
    readings: list[Reading], gateways: dict[str, Gateway], outages: list[Outage]
) -> dict[BatchKey, list[Line]]:
    batches: dict[BatchKey, list[Line]] = defaultdict(list)
    late: dict[BatchKey, list[Line]] = defaultdict(list)
    offline = {o.device_id: o for o in outages}
    for reading in readings:
        outage = offline.get(reading.device_id)
        if outage is None or not outage.start <= reading.observed_at < outage.end:
            batches[batch_key(reading, gateways)].append(reading)
        else:
            late[(gateways[reading.device_id].name, outage.delivered_at)].append(reading)
    for key, lines in late.items():
        batches[key].extend(lines)
    return dict(batches)


def add_retransmissions(
    batches: dict[BatchKey, list[Line]], reserved: set[BatchKey], rng: random.Random
) -> None:
    """Some batches start by resending the previous batch's last readings, some corrected."""
    by_gateway: dict[str, list[BatchKey]] = defaultdict(list)
    for key in sorted(batches):
        by_gateway[key[0]].append(key)
    for keys in by_gateway.values():
        candidates = [k for k in keys[1:] if k not in reserved]
        if not candidates:
            continue
        chosen = {k for k in candidates if rng.random() < 0.08}
        chosen.add(rng.choice(candidates))
        for key in sorted(chosen):
            previous = keys[keys.index(key) - 1]
            again = [line for line in batches[previous] if isinstance(line, Reading)]
            resent = [_maybe_corrected(r, rng) for r in again[-RETRANSMITTED_READINGS:]]
            batches[key] = resent + batches[key]


def _maybe_corrected(reading: Reading, rng: random.Random) -> Reading:
    if rng.random() < 0.5:
        return reading
    base = reading.value if reading.value is not None else rng.uniform(5, 30)
    return reading._replace(value=round(max(0.1, base + rng.uniform(-3, 3)), 1), status="ok")


def add_broken_rows(batches: dict[BatchKey, list[Line]], reserved: set[BatchKey], rng: random.Random) -> None:
    """One of each kind of broken row, each in a different batch."""
    keys = rng.sample([k for k in sorted(batches) if k not in reserved], 5)
    invalid, unknown_pollutant, unknown_device, negative, absurd = keys

    def any_reading(key: BatchKey) -> tuple[int, Reading]:
        positions = [i for i, line in enumerate(batches[key]) if isinstance(line, Reading)]
        position = rng.choice(positions)
        return position, batches[key][position]

    position, reading = any_reading(invalid)
    line = serialize(reading, gateways_by_name()[invalid[0]])
    batches[invalid][position] = line[: len(line) // 2]
    position, reading = any_reading(unknown_pollutant)
    batches[unknown_pollutant].insert(position, reading._replace(pollutant="CO", value=0.3))
    position, reading = any_reading(unknown_device)
    batches[unknown_device].insert(position, reading._replace(device_id=UNREGISTERED_SENSOR))
    position, reading = any_reading(negative)
    batches[negative][position] = reading._replace(value=-4.2)
    position, reading = any_reading(absurd)
    batches[absurd][position] = reading._replace(value=98765.4)


def gateways_by_name() -> dict[str, Gateway]:
    return {g.name: g for g in GATEWAYS}


# ---------------------------------------------------------------------------- files


@cache
def observed_at_text(at: datetime, with_offset: bool) -> str:
    """Local time with its offset, or (older gateways) local time without one."""
    local = at.astimezone(STOCKHOLM)
    return local.isoformat() if with_offset else local.replace(tzinfo=None).isoformat()


@cache
def quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def serialize(reading: Reading, gateway: Gateway) -> str:
    """One JSON line, keys in the gateways' order (built directly: json.dumps is the
    generator's bottleneck, and every string goes through json quoting all the same)."""
    value, unit = reading.value, "ug/m3"
    if gateway.ppb and reading.pollutant in PPB_FACTORS:
        unit = "ppb"
        if value is not None:
            value = round(value / PPB_FACTORS[reading.pollutant], 1)
    return (
        f'{{"device_id": {quoted(reading.device_id)}, '
        f'"observed_at": {quoted(observed_at_text(reading.observed_at, gateway.offset))}, '
        f'"pollutant": {quoted(reading.pollutant)}, '
        f'"value": {"null" if value is None else repr(float(value))}, '
        f'"unit": {quoted(unit)}, "status": {quoted(reading.status)}}}'
    )


def batch_path(key: BatchKey, gateway: Gateway, suffix: str = "") -> str:
    gateway_name, hour = key
    extension = ".jsonl.gz" if gateway.gzip else ".jsonl"
    return f"{SOURCE}/{gateway_name}/{hour:%Y-%m-%d}/{hour:%H%M}{suffix}{extension}"


def batch_file(key: BatchKey, lines: list[Line], gateway: Gateway, broken_rows: int) -> LandingFile:
    text = "".join((line if isinstance(line, str) else serialize(line, gateway)) + "\n" for line in lines)
    data = text.encode()
    if gateway.gzip:
        data = gzip_bytes(data)
    arrived = key[1] + timedelta(hours=1, minutes=2 + GATEWAYS.index(gateway))
    record = GeneratedFile(SOURCE, batch_path(key, gateway), len(lines), arrived, broken_rows)
    return LandingFile(record, data)


def truncated(file: LandingFile) -> tuple[LandingFile, LandingFile]:
    """The batch cut off in transfer, and the complete copy the gateway sends after it."""
    record = file.record
    cut = replace(record, rows=0, broken_rows=0, broken="truncated gzip (transfer cut off)")
    stem = record.path.removesuffix(".jsonl.gz")
    resend = replace(
        record, path=f"{stem}-resend.jsonl.gz", arrived_at=record.arrived_at + timedelta(minutes=5)
    )
    return LandingFile(cut, file.data[: len(file.data) * 55 // 100]), LandingFile(resend, file.data)


def count_broken(lines: list[Line], registered: set[str]) -> int:
    def broken(line: Line) -> bool:
        if isinstance(line, str):
            return True
        return (
            line.pollutant not in POLLUTANTS
            or line.device_id not in registered
            or (line.value is not None and not 0 <= line.value <= 5000)
        )

    return sum(broken(line) for line in lines)


def generate(city: City, period: Period, update: RegistryUpdate) -> list[LandingFile]:
    rng = random.Random(f"{city.seed}:{SOURCE}")
    sensors = [
        s
        for s in city.devices_of("air_quality_sensor")
        if s.owner == "miljo"
        and local_midnight(s.installed_at) < reporting_until(s, update, period)
        and reporting_until(s, update, period) > period.utc_start
    ]
    gateways = {s.device_id: gateway_of(s.district) for s in sensors}
    readings = simulate_readings(sensors, period, update, rng)
    readings = apply_sensor_trouble(readings, sensors, period, rng)
    outages = plan_outages(sensors, period, rng)
    batches = assemble_batches(readings, gateways, outages)

    zipped = [k for k in sorted(batches) if gateways_by_name()[k[0]].gzip]
    cut_gateway = zipped[0][0]
    cut_candidates = [k for k in zipped if k[0] == cut_gateway]
    cut_key = cut_candidates[len(cut_candidates) // 2]
    reserved = {cut_key} | {(gateways[o.device_id].name, o.delivered_at) for o in outages}
    add_retransmissions(batches, {cut_key}, rng)
    add_broken_rows(batches, reserved, rng)

    registered = {d.device_id for d in city.devices}
    files = []
    for key in sorted(batches):
        gateway = gateways_by_name()[key[0]]
        file = batch_file(key, batches[key], gateway, count_broken(batches[key], registered))
        files.extend(truncated(file) if key == cut_key else [file])
    return files
