"""The simulated city: real district polygons, the departments' devices, the period simulated.

Every source generator draws from this one model, so that readings refer to devices that
are registered, and devices stand inside the real district they are said to be in. The
model depends on the seed and the scale only (not on the simulated period), so that two
generations for different weeks describe the same city.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

STOCKHOLM = ZoneInfo("Europe/Stockholm")
REFERENCE = Path(__file__).parent / "reference"
STADSDELAR_FILE = REFERENCE / "stockholm_stadsdelar_simplified.geo.json"
AREAS_FILE = REFERENCE / "stadsdelsomraden.yaml"
COORDINATE_DECIMALS = 6
EARTH_RADIUS_M = 6_371_008.8

Ring = tuple[tuple[float, float], ...]  # (lon, lat) pairs, closed
Polygon = tuple[Ring, ...]  # outer ring, then holes


class ReferenceDataError(ValueError):
    """The reference data in simulation/reference does not fit together."""


# ---------------------------------------------------------------------------- districts


@dataclass(frozen=True)
class District:
    """One stadsdelsområde: its stadsdelar's polygons (rounded as published) and people."""

    name: str
    area: str  # innerstad | vasterort | soderort
    stadsdelar: tuple[str, ...]
    polygons: tuple[Polygon, ...]
    population: tuple[tuple[int, int], ...]  # (year, inhabitants)
    persons_per_household: float

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """(min_lon, min_lat, max_lon, max_lat) over all outer rings."""
        points = [point for polygon in self.polygons for point in polygon[0]]
        lons = [lon for lon, _ in points]
        lats = [lat for _, lat in points]
        return min(lons), min(lats), max(lons), max(lats)

    def contains(self, lon: float, lat: float) -> bool:
        return any(polygon_contains(polygon, lon, lat) for polygon in self.polygons)

    def latest_population(self) -> int:
        return max(self.population)[1]


def ring_contains(ring: Ring, lon: float, lat: float) -> bool:
    """Even-odd ray casting: does a ray from the point towards east cross the ring oddly often."""
    inside = False
    previous_lon, previous_lat = ring[-1]
    for point_lon, point_lat in ring:
        if (point_lat > lat) != (previous_lat > lat):
            crossing = (previous_lon - point_lon) * (lat - point_lat) / (previous_lat - point_lat) + point_lon
            if lon < crossing:
                inside = not inside
        previous_lon, previous_lat = point_lon, point_lat
    return inside


def polygon_contains(polygon: Polygon, lon: float, lat: float) -> bool:
    outer, *holes = polygon
    return ring_contains(outer, lon, lat) and not any(ring_contains(hole, lon, lat) for hole in holes)


def _rounded_ring(coordinates: list[list[float]]) -> Ring:
    """Round to the published precision, dropping points that collapse onto their neighbour."""
    ring: list[tuple[float, float]] = []
    for lon, lat, *_ in coordinates:
        point = (round(lon, COORDINATE_DECIMALS), round(lat, COORDINATE_DECIMALS))
        if not ring or ring[-1] != point:
            ring.append(point)
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    if len(ring) < 4:
        raise ReferenceDataError(f"ring with fewer than 4 distinct points: {coordinates[:3]}...")
    return tuple(ring)


def _stadsdel_polygons(geometry: dict) -> list[Polygon]:
    if geometry["type"] == "Polygon":
        parts = [geometry["coordinates"]]
    elif geometry["type"] == "MultiPolygon":
        parts = geometry["coordinates"]
    else:
        raise ReferenceDataError(f"unexpected geometry type {geometry['type']}")
    return [tuple(_rounded_ring(ring) for ring in part) for part in parts]


@cache
def load_stadsdelar() -> dict[str, tuple[Polygon, ...]]:
    """The 117 real stadsdelar, by their upper-case name."""
    collection = json.loads(STADSDELAR_FILE.read_text(encoding="utf-8"))
    stadsdelar: dict[str, tuple[Polygon, ...]] = {}
    for feature in collection["features"]:
        name = feature["properties"]["name"]
        if name in stadsdelar:
            raise ReferenceDataError(f"stadsdel {name} appears twice in {STADSDELAR_FILE.name}")
        stadsdelar[name] = tuple(_stadsdel_polygons(feature["geometry"]))
    return stadsdelar


def stadsdel_mapping() -> dict[str, str]:
    """stadsdel -> stadsdelsområde, exactly as listed in stadsdelsomraden.yaml."""
    mapping: dict[str, str] = {}
    for entry in yaml.safe_load(AREAS_FILE.read_text(encoding="utf-8"))["stadsdelsomraden"]:
        for stadsdel in entry["stadsdelar"]:
            if stadsdel in mapping:
                raise ReferenceDataError(
                    f"stadsdel {stadsdel} listed under both {mapping[stadsdel]} and {entry['name']}"
                )
            mapping[stadsdel] = entry["name"]
    return mapping


@cache
def load_districts() -> tuple[District, ...]:
    """The stadsdelsområden in the YAML's order, each the union of its stadsdelar's polygons.

    Fails, naming them, when a stadsdel of the GeoJSON is not mapped or the YAML names
    a stadsdel the GeoJSON does not hold: a silently dropped stadsdel would leave a hole
    in the city.
    """
    stadsdelar = load_stadsdelar()
    mapping = stadsdel_mapping()
    unmapped = sorted(set(stadsdelar) - set(mapping))
    unknown = sorted(set(mapping) - set(stadsdelar))
    if unmapped or unknown:
        raise ReferenceDataError(
            f"stadsdelar not mapped to a stadsdelsområde: {unmapped}; "
            f"mapped but not in {STADSDELAR_FILE.name}: {unknown}"
        )
    entries = yaml.safe_load(AREAS_FILE.read_text(encoding="utf-8"))["stadsdelsomraden"]
    return tuple(
        District(
            name=entry["name"],
            area=entry["area"],
            stadsdelar=tuple(sorted(entry["stadsdelar"])),
            polygons=tuple(polygon for name in sorted(entry["stadsdelar"]) for polygon in stadsdelar[name]),
            population=tuple(sorted((int(y), int(p)) for y, p in entry["population"].items())),
            persons_per_household=float(entry["persons_per_household"]),
        )
        for entry in entries
    )


# ---------------------------------------------------------------------------- geometry


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def random_point_in(district: District, rng: random.Random) -> tuple[float, float]:
    """A uniformly random (lat, lon) inside the district, rounded as published."""
    min_lon, min_lat, max_lon, max_lat = district.bbox
    for _ in range(100_000):
        lon = round(rng.uniform(min_lon, max_lon), COORDINATE_DECIMALS)
        lat = round(rng.uniform(min_lat, max_lat), COORDINATE_DECIMALS)
        if district.contains(lon, lat):
            return lat, lon
    raise ReferenceDataError(f"could not place a point inside {district.name}")


def point_near(
    district: District, lat: float, lon: float, metres: float, rng: random.Random
) -> tuple[float, float]:
    """A point about `metres` from (lat, lon), still inside the district."""
    for _ in range(360):
        bearing = math.radians(rng.uniform(0, 360))
        new_lat = lat + math.degrees(metres * math.cos(bearing) / EARTH_RADIUS_M)
        new_lon = lon + math.degrees(
            metres * math.sin(bearing) / (EARTH_RADIUS_M * math.cos(math.radians(lat)))
        )
        new_lat = round(new_lat, COORDINATE_DECIMALS)
        new_lon = round(new_lon, COORDINATE_DECIMALS)
        if district.contains(new_lon, new_lat):
            return new_lat, new_lon
    raise ReferenceDataError(f"no point {metres} m from ({lat}, {lon}) inside {district.name}")


# ---------------------------------------------------------------------------- devices


@dataclass(frozen=True)
class Device:
    """One registered device, as its owner's registry export lists it."""

    device_id: str
    owner: str
    device_type: str
    purpose: str
    lat: float
    lon: float
    district: str
    installed_at: date
    decommissioned_at: date | None = None
    shared_with: tuple[str, ...] = ()
    site_kind: str = ""  # what kind of place, e.g. street / background, infart / lokalgata

    def in_service(self, on: date) -> bool:
        ended = self.decommissioned_at is not None and self.decommissioned_at <= on
        return self.installed_at <= on and not ended


@dataclass(frozen=True)
class DeviceKind:
    """How many devices of a type the city has at scale 1, whose they are and where they go."""

    device_type: str
    owner: str
    id_format: str
    purpose: str
    count: int
    minimum: int
    placement: str  # population | uniform | waterfront | inner_city


DEVICE_KINDS = (
    DeviceKind("air_quality_sensor", "miljo", "AQ-{:04d}", "air_quality_monitoring", 20, 4, "population"),
    DeviceKind("traffic_counter", "trafik", "TR-{:04d}", "traffic_counting", 15, 3, "inner_city"),
    DeviceKind("fill_level_sensor", "svoa", "WF-{:04d}", "waste_collection", 12, 2, "population"),
    DeviceKind("smart_streetlight", "trafik", "SL-{:04d}", "street_lighting", 24, 3, "uniform"),
    DeviceKind("water_level_gauge", "svoa", "WL-{:02d}", "flood_warning", 5, 2, "waterfront"),
)
SMART_METER = DeviceKind("smart_meter", "svbo", "SM-{:04d}", "electricity_metering", 6, 1, "population")
METERS_PER_BUILDING = 10  # enough households per building for aggregates of at least 5
WATERFRONT = ("Södermalm", "Kungsholmen", "Östermalm", "Hägersten-Älvsjö", "Bromma")
FIRST_INSTALL = date(2016, 1, 1)
LAST_INSTALL = date(2025, 12, 31)


@dataclass(frozen=True)
class City:
    districts: tuple[District, ...]
    devices: tuple[Device, ...]
    seed: int
    scale: float

    def district(self, name: str) -> District:
        return next(d for d in self.districts if d.name == name)

    def devices_of(self, device_type: str) -> list[Device]:
        return [d for d in self.devices if d.device_type == device_type]

    def device(self, device_id: str) -> Device:
        return next(d for d in self.devices if d.device_id == device_id)

    def owners(self) -> list[str]:
        return sorted({d.owner for d in self.devices})


def scaled_count(kind: DeviceKind, scale: float) -> int:
    return max(kind.minimum, round(kind.count * scale))


def allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split `total` over districts by weight (largest remainder), one each first if possible.

    Deterministic, so the same scale always gives every district the same share.
    """
    names = sorted(weights, key=lambda n: (-weights[n], n))
    counts = dict.fromkeys(names, 0)
    if total >= len(names):
        counts = dict.fromkeys(names, 1)
    remaining = total - sum(counts.values())
    weight_sum = sum(weights.values())
    quotas = {n: remaining * weights[n] / weight_sum for n in names}
    for name in names:
        counts[name] += int(quotas[name])
    leftovers = sorted(names, key=lambda n: (-(quotas[n] - int(quotas[n])), names.index(n)))
    for name in leftovers[: total - sum(counts.values())]:
        counts[name] += 1
    return counts


def _weights(kind: DeviceKind, districts: tuple[District, ...]) -> dict[str, float]:
    if kind.placement == "uniform":
        return {d.name: 1.0 for d in districts}
    if kind.placement == "waterfront":
        return {d.name: 1.0 for d in districts if d.name in WATERFRONT}
    boost = 1.6 if kind.placement == "inner_city" else 1.0
    return {d.name: d.latest_population() * (boost if d.area == "innerstad" else 1.0) for d in districts}


def _install_date(rng: random.Random) -> date:
    return FIRST_INSTALL + timedelta(days=rng.randrange((LAST_INSTALL - FIRST_INSTALL).days))


def _site_kind(device_type: str, district: District, rng: random.Random) -> str:
    """Where in the street a sensor stands: it decides its pollution or traffic profile."""
    if device_type == "air_quality_sensor":
        street_share = 0.7 if district.area == "innerstad" else 0.3
        return "street" if rng.random() < street_share else "background"
    if device_type == "traffic_counter":
        if district.area == "innerstad":
            return rng.choice(["innerstadsgata", "innerstadsgata", "huvudgata"])
        return rng.choices(["infart", "huvudgata", "lokalgata"], weights=[4, 4, 2])[0]
    return ""


def _place_kind(
    kind: DeviceKind, count: int, districts: tuple[District, ...], rng: random.Random
) -> list[Device]:
    by_name = {d.name: d for d in districts}
    counts = allocate(count, _weights(kind, districts))
    devices = []
    number = 1
    for district in districts:  # the YAML order, so ids run through the city
        for _ in range(counts.get(district.name, 0)):
            lat, lon = random_point_in(by_name[district.name], rng)
            devices.append(
                Device(
                    device_id=kind.id_format.format(number),
                    owner=kind.owner,
                    device_type=kind.device_type,
                    purpose=kind.purpose,
                    lat=lat,
                    lon=lon,
                    district=district.name,
                    installed_at=_install_date(rng),
                    site_kind=_site_kind(kind.device_type, district, rng),
                )
            )
            number += 1
    return devices


def _place_smart_meters(scale: float, districts: tuple[District, ...], rng: random.Random) -> list[Device]:
    """Meters come in buildings: several households share one address."""
    buildings = scaled_count(SMART_METER, scale)
    outer = [d for d in districts if d.area != "innerstad"]
    meters = []
    for building in range(buildings):
        district = outer[rng.randrange(len(outer))]
        lat, lon = random_point_in(district, rng)
        installed = _install_date(rng)
        for flat in range(METERS_PER_BUILDING):
            number = building * METERS_PER_BUILDING + flat + 1
            meters.append(
                Device(
                    device_id=SMART_METER.id_format.format(number),
                    owner=SMART_METER.owner,
                    device_type=SMART_METER.device_type,
                    purpose=SMART_METER.purpose,
                    lat=lat,
                    lon=lon,
                    district=district.name,
                    installed_at=installed,
                )
            )
    return meters


def _add_registry_realism(
    devices: list[Device], districts: tuple[District, ...], rng: random.Random
) -> list[Device]:
    """What real registries hold besides clean rows: decommissioned, shared and
    overlapping devices.

    - an old air-quality sensor (the highest AQ id) and one fill-level sensor are
      decommissioned;
    - trafikkontoret has its own air-quality sensor 25 m from miljö's first street
      station: same purpose, different owners, within 50 m (to be flagged to ks);
    - two of svoa's fill-level sensors stand 15 m apart (same owner: not flagged) and a
      smart streetlight stands 30 m from an air-quality sensor (different purpose: not
      flagged), so that the flagging rule has near misses to get right;
    - some devices are shared with other departments.
    """
    by_name = {d.name: d for d in districts}
    by_id = {d.device_id: d for d in devices}
    sensors = [d for d in devices if d.device_type == "air_quality_sensor"]
    street = next((d for d in sensors if d.site_kind == "street"), sensors[0])
    lat, lon = random_point_in(by_name[sensors[-1].district], rng)
    extra_sensor = replace(
        sensors[-1],
        device_id=f"AQ-{len(sensors) + 1:04d}",
        lat=lat,
        lon=lon,
        installed_at=date(2017, 4, 3),
        decommissioned_at=date(2025, 6, 30),
    )
    lat, lon = point_near(by_name[street.district], street.lat, street.lon, 25, rng)
    trafik_sensor = replace(
        street, device_id="TK-AQ01", owner="trafik", lat=lat, lon=lon, installed_at=date(2024, 5, 20)
    )
    by_id[extra_sensor.device_id] = extra_sensor
    by_id[trafik_sensor.device_id] = trafik_sensor

    fill = [d for d in devices if d.device_type == "fill_level_sensor"]
    lat, lon = point_near(by_name[fill[0].district], fill[0].lat, fill[0].lon, 15, rng)
    by_id[fill[1].device_id] = replace(fill[1], lat=lat, lon=lon, district=fill[0].district)
    by_id[fill[-1].device_id] = replace(fill[-1], decommissioned_at=date(2026, 4, 15))

    light = next(d for d in devices if d.device_type == "smart_streetlight")
    lit = sensors[-1]
    lat, lon = point_near(by_name[lit.district], lit.lat, lit.lon, 30, rng)
    by_id[light.device_id] = replace(light, lat=lat, lon=lon, district=lit.district)

    streets = [d for d in sensors if d.site_kind == "street"]
    for sensor in streets[:2]:
        by_id[sensor.device_id] = replace(sensor, shared_with=("trafik",))
    gauge = next(d for d in devices if d.device_type == "water_level_gauge")
    by_id[gauge.device_id] = replace(gauge, shared_with=("miljo", "trafik"))
    counter = next(d for d in devices if d.device_type == "traffic_counter")
    by_id[counter.device_id] = replace(counter, shared_with=("miljo",))
    return [by_id[key] for key in sorted(by_id)]


@cache
def build_city(seed: int = 42, scale: float = 1.0) -> City:
    """The districts and every department's devices for a seed and scale."""
    districts = load_districts()
    rng = random.Random(f"{seed}:city")
    devices: list[Device] = []
    for kind in DEVICE_KINDS:
        devices += _place_kind(kind, scaled_count(kind, scale), districts, rng)
    devices += _place_smart_meters(scale, districts, rng)
    devices = _add_registry_realism(devices, districts, rng)
    return City(districts=districts, devices=tuple(devices), seed=seed, scale=scale)


# ---------------------------------------------------------------------------- time


@dataclass(frozen=True)
class Period:
    """The local days simulated, from local midnight of `start`, `days` days long."""

    start: date
    days: int
    dates: tuple[date, ...] = field(init=False)

    def __post_init__(self) -> None:
        dates = tuple(self.start + timedelta(days=i) for i in range(self.days))
        object.__setattr__(self, "dates", dates)

    @property
    def end(self) -> date:
        """The first local day after the period."""
        return self.start + timedelta(days=self.days)

    @property
    def utc_start(self) -> datetime:
        return local_midnight(self.start)

    @property
    def utc_end(self) -> datetime:
        return local_midnight(self.end)


def local_midnight(day: date) -> datetime:
    """Local midnight of a day, in UTC (midnight never falls in a DST gap in Stockholm)."""
    return datetime(day.year, day.month, day.day, tzinfo=STOCKHOLM).astimezone(UTC)


def local_hour_starts(day: date) -> list[datetime]:
    """The UTC instants at which each local hour of the day starts: 23, 24 or 25 of them."""
    start, end = local_midnight(day), local_midnight(day + timedelta(days=1))
    return [start + timedelta(hours=h) for h in range(int((end - start).total_seconds() // 3600))]


@dataclass(frozen=True)
class RegistryUpdate:
    """A later registry export from one owner that no longer lists some devices."""

    owner: str
    exported_on: date
    dropped: tuple[str, ...]


def plan_registry_update(city: City, period: Period) -> RegistryUpdate:
    """Half-way through the period miljö exports its registry again, without one sensor.

    The sensor stops reporting from that day; its earlier readings stay valid.
    """
    exported_on = period.start + timedelta(days=max(1, period.days // 2))
    in_service = [
        d for d in city.devices_of("air_quality_sensor") if d.owner == "miljo" and d.in_service(period.start)
    ]
    return RegistryUpdate(owner="miljo", exported_on=exported_on, dropped=(in_service[-1].device_id,))
