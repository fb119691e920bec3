"""Stockholm Vatten och Avfall's fill-level sensors in public waste containers: CSV batches.

Every container's ultrasonic sensor reports once an hour, at its own minute, with its
battery level and the temperature inside the container. The network server exports a
batch every six hours (`waste_fill_levels/<YYYY-MM-DD>/fyllnad_<YYYYMMDD>T<HH>00Z.csv`,
named by the UTC window it covers), `,`-delimited, UTF-8, `measured_at` in local time
with its offset.

Containers fill through the day (faster by day and at weekends) and are emptied by the
collection route: weekly or every other week, on the route's weekday, after which the
sensor reads 0-10 %. An overfull container reads 100. Batteries drain slowly.

The quirks of the real feed, all present in every generation of two days or more:
sensor glitches outside 0-100 (rejected rows), a container that reports before it is in
the registry (rejected rows), and retransmissions: some batches start by sending the
previous batch's last rows again, unchanged.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from simulation.city import STOCKHOLM, City, Device, Period
from simulation.landing_files import GeneratedFile, LandingFile

SOURCE = "waste_fill_levels"
HEADER = "container_id,measured_at,fill_level_pct,battery_pct,temperature_c"
BATCH_HOURS = 6
RETRANSMITTED_ROWS = 5
UNREGISTERED_CONTAINER = "WF-9999"  # above any id up to scale 100
GLITCHES = (255, -3, 117)  # what the sensors send when the echo is lost or reflected


@dataclass(frozen=True)
class Container:
    """One sensor-equipped container and the route that empties it."""

    device: Device
    route_weekday: int  # 0 = Monday
    biweekly: bool
    route_week_parity: int  # for biweekly routes: emptied in ISO weeks of this parity
    daily_fill_pct: float
    emptied_hour: int  # local hour the route passes
    residual_pct: float  # what stays in after emptying
    minute: int  # the sensor's reporting minute
    battery_start: float
    battery_drain: float  # percentage points per day


@dataclass(frozen=True)
class Measurement:
    container_id: str
    measured_at: datetime  # UTC
    fill_level_pct: int
    battery_pct: int
    temperature_c: float


def make_containers(devices: list[Device], rng: random.Random) -> list[Container]:
    containers = []
    for device in devices:
        biweekly = rng.random() < 0.35
        containers.append(
            Container(
                device=device,
                route_weekday=rng.randrange(5),
                biweekly=biweekly,
                route_week_parity=rng.randrange(2),
                daily_fill_pct=rng.uniform(5.5, 7.5) if biweekly else rng.uniform(10, 15),
                emptied_hour=rng.randrange(6, 14),
                residual_pct=rng.uniform(0, 7),
                minute=rng.randrange(60),
                battery_start=rng.uniform(35, 98),
                battery_drain=rng.uniform(0.15, 0.45),
            )
        )
    return containers


def is_route_day(container: Container, day: date) -> bool:
    if day.weekday() != container.route_weekday:
        return False
    return not container.biweekly or day.isocalendar().week % 2 == container.route_week_parity


def emptied_at(container: Container, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, container.emptied_hour, tzinfo=STOCKHOLM).astimezone(UTC)


def last_emptying(container: Container, before: datetime) -> datetime:
    """The route's most recent pass before an instant (routes run at least every 14 days)."""
    day = before.astimezone(STOCKHOLM).date()
    for back in range(16):
        candidate = day - timedelta(days=back)
        if is_route_day(container, candidate) and emptied_at(container, candidate) <= before:
            return emptied_at(container, candidate)
    raise ValueError(f"no emptying of {container.device.device_id} in the 16 days before {before}")


def fill_rate_weight(at: datetime) -> float:
    """Relative inflow of rubbish: mostly by day, more at weekends (mean about 1 per day)."""
    local = at.astimezone(STOCKHOLM)
    daytime = 1 + 0.8 * math.sin(2 * math.pi * (local.hour - 9) / 24)
    return daytime * (1.25 if local.weekday() >= 5 else 0.9)


def air_temperature(at: datetime, weather: float) -> float:
    """Stockholm's seasonal and daily temperature cycle, shifted by the day's weather."""
    local = at.astimezone(STOCKHOLM)
    day_of_year = local.timetuple().tm_yday
    seasonal = 7.0 - 11.0 * math.cos(2 * math.pi * (day_of_year - 25) / 365.25)
    daily = 2.5 * math.cos(2 * math.pi * (local.hour + local.minute / 60 - 14) / 24)
    return seasonal + daily + weather


def simulate(containers: list[Container], period: Period, rng: random.Random) -> list[Measurement]:
    """Hourly measurements, stepping each container's fill level through the period."""
    hours = int((period.utc_end - period.utc_start) / timedelta(hours=1))
    weather, weathers = rng.gauss(0, 2), []
    for _ in range(hours):
        weather = 0.97 * weather + rng.gauss(0, 0.35)
        weathers.append(weather)
    measurements = []
    for container in containers:
        device = container.device
        first = period.utc_start + timedelta(minutes=container.minute)
        emptied = last_emptying(container, first)
        level = container.residual_pct + container.daily_fill_pct * (first - emptied) / timedelta(days=1)
        for hour in range(hours):
            at = first + timedelta(hours=hour, seconds=rng.randrange(60))
            if not device.in_service(at.astimezone(STOCKHOLM).date()):
                continue
            if hour:
                level += container.daily_fill_pct / 24 * fill_rate_weight(at) * rng.uniform(0.5, 1.5)
            if last_emptying(container, at) > emptied:
                emptied = last_emptying(container, at)
                level = container.residual_pct + rng.uniform(0, 2)
            days = (at - period.utc_start) / timedelta(days=1)
            temperature = air_temperature(at, weathers[hour]) + 1.0 + rng.gauss(0, 0.3)
            battery = container.battery_start - container.battery_drain * days
            battery -= 2 if temperature < 0 else 0  # cold batteries read low
            measurements.append(
                Measurement(
                    container_id=device.device_id,
                    measured_at=at,
                    fill_level_pct=min(100, max(0, round(level + rng.gauss(0, 1.5)))),
                    battery_pct=max(1, round(battery)),
                    temperature_c=round(temperature, 1),
                )
            )
    return measurements


# ---------------------------------------------------------------------------- batches

Batch = list[Measurement]


def batch_start(at: datetime) -> datetime:
    utc = at.astimezone(UTC)
    return utc.replace(hour=utc.hour - utc.hour % BATCH_HOURS, minute=0, second=0, microsecond=0)


def assemble(measurements: list[Measurement]) -> dict[datetime, Batch]:
    batches: dict[datetime, Batch] = {}
    for measurement in sorted(measurements, key=lambda m: (m.measured_at, m.container_id)):
        batches.setdefault(batch_start(measurement.measured_at), []).append(measurement)
    return batches


def add_quirks(batches: dict[datetime, Batch], rng: random.Random) -> dict[datetime, int]:
    """Glitches, an unregistered container and retransmissions; returns broken rows per batch."""
    keys = sorted(batches)
    broken = dict.fromkeys(keys, 0)
    for number, value in enumerate(GLITCHES):
        key = keys[(number * 5 + 2) % len(keys)]
        position = rng.randrange(len(batches[key]))
        batches[key][position] = replace(batches[key][position], fill_level_pct=value)
        broken[key] += 1
    newcomer_key = keys[min(3, len(keys) - 1)]
    template = batches[newcomer_key][0]
    for hour in range(3):
        batches[newcomer_key].append(
            Measurement(
                UNREGISTERED_CONTAINER,
                newcomer_key + timedelta(hours=hour, minutes=41, seconds=7),
                4 + 2 * hour,
                100,
                template.temperature_c,
            )
        )
        broken[newcomer_key] += 1
    if len(keys) > 1:
        chosen = {keys[-1]} | {k for k in keys[1:] if rng.random() < 0.1}
        for key in sorted(chosen):
            previous = batches[keys[keys.index(key) - 1]]
            again = previous[-RETRANSMITTED_ROWS:]
            batches[key] = again + batches[key]
            broken[key] += sum(not valid(m) for m in again)
    return broken


def valid(measurement: Measurement) -> bool:
    return 0 <= measurement.fill_level_pct <= 100 and measurement.container_id != UNREGISTERED_CONTAINER


def csv_line(measurement: Measurement) -> str:
    local = measurement.measured_at.astimezone(STOCKHOLM).isoformat()
    return (
        f"{measurement.container_id},{local},{measurement.fill_level_pct},"
        f"{measurement.battery_pct},{measurement.temperature_c}"
    )


def batch_file(key: datetime, batch: Batch, broken_rows: int) -> LandingFile:
    data = "".join(line + "\n" for line in [HEADER, *map(csv_line, batch)]).encode()
    path = f"{SOURCE}/{key:%Y-%m-%d}/fyllnad_{key:%Y%m%dT%H}00Z.csv"
    arrived = key + timedelta(hours=BATCH_HOURS, minutes=17)
    return LandingFile(GeneratedFile(SOURCE, path, len(batch), arrived, broken_rows), data)


def generate(city: City, period: Period) -> list[LandingFile]:
    rng = random.Random(f"{city.seed}:{SOURCE}")
    devices = [
        d for d in city.devices_of("fill_level_sensor") if any(d.in_service(day) for day in period.dates)
    ]
    if not devices:
        return []
    batches = assemble(simulate(make_containers(devices, rng), period, rng))
    broken = add_quirks(batches, rng)
    return [batch_file(key, batches[key], broken[key]) for key in sorted(batches)]
