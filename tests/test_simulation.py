"""The demo landing-zone generator: deterministic, realistic, and with every quirk it promises.

Parsing here is written independently of the generator (its own point-in-polygon, its own
decoding), so that a generator bug cannot hide behind shared code.
"""

from __future__ import annotations

import csv
import functools
import gzip
import json
import math
import re
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from simulation import GenerationSummary, generate_landing
from simulation import city as city_model
from simulation.landing import SOURCES

STOCKHOLM = ZoneInfo("Europe/Stockholm")
REFERENCE = Path(city_model.__file__).parent / "reference"
TRAFFIC_HEADER = "Mätplats;Datum;Timme;Riktning;Fordonsklass;Antal;Medelhastighet (km/h)"
THIRTEEN = {
    "Rinkeby-Kista",
    "Spånga-Tensta",
    "Hässelby-Vällingby",
    "Bromma",
    "Kungsholmen",
    "Norrmalm",
    "Östermalm",
    "Södermalm",
    "Enskede-Årsta-Vantör",
    "Skarpnäck",
    "Farsta",
    "Hägersten-Älvsjö",
    "Skärholmen",
}


@pytest.fixture(scope="module")
def default_landing(tmp_path_factory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("landing")
    began = time.perf_counter()
    summary = generate_landing(out)
    elapsed = time.perf_counter() - began
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"\ndefault generation (7 days, scale 1): {elapsed:.2f} s, {size / 1e6:.1f} MB")
    return out, summary


@pytest.fixture(scope="module")
def air(default_landing) -> list[tuple[str, str, dict | None]]:
    """(file, line, the line parsed or None) for every line of every readable batch."""
    out, _ = default_landing
    return [(name, line, _parsed(line)) for name, line in air_lines(out)]


def _parsed(line: str) -> dict | None:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def landing_files(out: Path) -> dict[str, Path]:
    return {p.relative_to(out).as_posix(): p for p in sorted(out.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------- parsing


def traffic_text(path: Path) -> str:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    return data.decode("cp1252")


def traffic_rows(path: Path) -> list[list[str]]:
    lines = traffic_text(path).splitlines()
    return [line.split(";") for line in lines[1:] if not line.startswith("Summa;")]


def day_files(out: Path) -> list[Path]:
    return sorted(
        p for p in out.glob("traffic_counts/*/trafik_*.csv") if re.fullmatch(r"trafik_[\d-]+", p.stem)
    )


def air_lines(out: Path) -> list[tuple[str, str]]:
    """(file, line) for every line of every readable batch."""
    lines = []
    for name, path in landing_files(out).items():
        if not name.startswith("air_quality/"):
            continue
        data = path.read_bytes()
        if name.endswith(".gz"):
            try:
                data = gzip.decompress(data)
            except EOFError:
                continue
        lines += [(name, line) for line in data.decode("utf-8").splitlines()]
    return lines


@functools.cache
def parse_observed_at(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=STOCKHOLM)


@functools.cache
def batch_hour(name: str) -> datetime:
    """The UTC hour a batch file is named after."""
    hour = datetime.strptime(name.split("/", 2)[2][:15], "%Y-%m-%d/%H%M")
    return hour.replace(tzinfo=ZoneInfo("UTC"))


def registry(out: Path, name: str) -> list[dict[str, str]]:
    with (out / "iot_devices" / name).open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def first_exports(out: Path) -> list[dict[str, str]]:
    return [
        row
        for path in sorted((out / "iot_devices").glob("*_devices.csv"))
        for row in registry(out, path.name)
    ]


def winding_number_contains(ring: list[list[float]], lon: float, lat: float) -> bool:
    """Point in polygon by winding number (the generator uses even-odd ray casting)."""
    winding = 0
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        cross = (x2 - x1) * (lat - y1) - (lon - x1) * (y2 - y1)
        if y1 <= lat < y2 and cross > 0:
            winding += 1
        elif y2 <= lat < y1 and cross < 0:
            winding -= 1
    return winding != 0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


# ---------------------------------------------------------------------------- determinism


def test_same_arguments_give_identical_bytes_and_a_new_seed_differs(tmp_path):
    arguments = {"days": 3, "scale": 0.3, "start": date(2026, 10, 23)}
    first = generate_landing(tmp_path / "a", seed=5, **arguments)
    generate_landing(tmp_path / "b", seed=5, **arguments)
    generate_landing(tmp_path / "c", seed=6, **arguments)
    a, b, c = (landing_files(tmp_path / name) for name in "abc")
    assert sorted(a) == sorted(b) == sorted(f.path for f in first.files)
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name
        assert a[name].stat().st_mtime == b[name].stat().st_mtime, name
    changed = [n for n in a if n in c and a[n].read_bytes() != c[n].read_bytes()]
    assert any(n.startswith("air_quality/") for n in changed)
    assert any(n.startswith("traffic_counts/") for n in changed)
    assert any(n.startswith("iot_devices/") for n in changed)


def test_default_generation_writes_every_source_modestly(default_landing):
    out, summary = default_landing
    files = landing_files(out)
    for source in SOURCES:
        assert any(name.startswith(f"{source}/") for name in files), source
    assert "broken file: traffic_counts/" in summary.describe()
    assert sorted(files) == sorted(f.path for f in summary.files)
    assert summary.file_counts["traffic_counts"] == 7 + 2  # 7 days, a broken file, a copy
    assert sum(p.stat().st_size for p in files.values()) < 12_000_000
    assert not [name for name in files if name.endswith(".tmp")]


def test_summary_row_counts_match_what_a_reader_finds(default_landing):
    out, summary = default_landing
    duplicates = set(summary.duplicate_files)
    broken = set(summary.broken_files)
    traffic = sum(
        len(traffic_rows(out / f.path))
        for f in summary.files
        if f.source == "traffic_counts" and f.path not in duplicates | broken
    )
    assert summary.row_counts["traffic_counts"] == traffic
    assert summary.row_counts["air_quality"] == len(air_lines(out))
    devices = sum(len(registry(out, p.name)) for p in (out / "iot_devices").glob("*.csv"))
    assert summary.row_counts["iot_devices"] == devices


def test_refuses_to_overwrite_a_different_generation_and_repeats_harmlessly(tmp_path):
    arguments = {"days": 1, "scale": 0.2}
    generate_landing(tmp_path, seed=1, **arguments)
    before = {name: path.read_bytes() for name, path in landing_files(tmp_path).items()}
    generate_landing(tmp_path, seed=1, **arguments)  # same content: nothing changes
    with pytest.raises(FileExistsError, match="different content"):
        generate_landing(tmp_path, seed=2, **arguments)
    after = {name: path.read_bytes() for name, path in landing_files(tmp_path).items()}
    assert after == before


@pytest.mark.parametrize(
    "arguments",
    [{"days": 0}, {"days": 2.5}, {"scale": 0}, {"scale": -1}, {"start": date(2015, 6, 1)}],
)
def test_bad_arguments_are_refused(tmp_path, arguments):
    with pytest.raises(ValueError):
        generate_landing(tmp_path, **arguments)
    assert not any(tmp_path.iterdir())


# ---------------------------------------------------------------------------- districts


def test_all_117_stadsdelar_are_mapped_to_the_13_areas():
    geo = json.loads((REFERENCE / "stockholm_stadsdelar_simplified.geo.json").read_text("utf-8"))
    stadsdelar = [f["properties"]["name"] for f in geo["features"]]
    areas = yaml.safe_load((REFERENCE / "stadsdelsomraden.yaml").read_text("utf-8"))
    listed = [s for area in areas["stadsdelsomraden"] for s in area["stadsdelar"]]
    assert len(stadsdelar) == 117
    assert sorted(listed) == sorted(stadsdelar)  # each exactly once
    assert {area["name"] for area in areas["stadsdelsomraden"]} == THIRTEEN


def test_an_unmapped_stadsdel_stops_generation(tmp_path, monkeypatch):
    areas = yaml.safe_load((REFERENCE / "stadsdelsomraden.yaml").read_text("utf-8"))
    areas["stadsdelsomraden"][0]["stadsdelar"].remove("KISTA")
    partial = tmp_path / "areas.yaml"
    partial.write_text(yaml.safe_dump(areas, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(city_model, "AREAS_FILE", partial)
    with pytest.raises(city_model.ReferenceDataError, match="KISTA"):
        city_model.load_districts.__wrapped__()


def test_districts_geojson_holds_13_multipolygons_in_wgs84(default_landing):
    out, _ = default_landing
    text = (out / "districts/districts.geojson").read_text("utf-8")
    collection = json.loads(text)
    assert collection["type"] == "FeatureCollection"
    assert {f["properties"]["name"] for f in collection["features"]} == THIRTEEN
    for feature in collection["features"]:
        assert feature["geometry"]["type"] == "MultiPolygon"
        for polygon in feature["geometry"]["coordinates"]:
            for ring in polygon:
                assert ring[0] == ring[-1] and len(ring) >= 4
                for lon, lat in ring:
                    assert 17.7 < lon < 18.3 and 59.2 < lat < 59.45
    assert not re.search(r"\d\.\d{7,}", text)  # at most 6 decimals


def test_population_has_every_district_for_a_couple_of_years(default_landing):
    out, _ = default_landing
    with (out / "districts/population.csv").open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["district", "year", "population", "households"]
    years = {row["year"] for row in rows}
    assert len(years) >= 2
    assert {row["district"] for row in rows} == THIRTEEN
    total = sum(int(row["population"]) for row in rows if row["year"] == max(years))
    assert 850_000 < total < 1_100_000  # Stockholm has about a million inhabitants
    for row in rows:
        assert 1.5 < int(row["population"]) / int(row["households"]) < 3.0


# ---------------------------------------------------------------------------- devices


def test_every_device_stands_inside_its_district(default_landing):
    out, _ = default_landing
    collection = json.loads((out / "districts/districts.geojson").read_text("utf-8"))
    polygons = {f["properties"]["name"]: f["geometry"]["coordinates"] for f in collection["features"]}
    city = city_model.build_city(42, 1.0)
    district_of = {d.device_id: d.district for d in city.devices}
    rows = first_exports(out)
    assert {row["device_id"] for row in rows} == set(district_of)
    for row in rows:
        lat, lon = float(row["lat"]), float(row["lon"])
        inside = [
            name
            for name, parts in polygons.items()
            if any(winding_number_contains(part[0], lon, lat) for part in parts)
        ]
        assert district_of[row["device_id"]] in inside, row


def test_registry_is_realistic(default_landing):
    out, _ = default_landing
    rows = first_exports(out)
    by_type = Counter((row["owner"], row["device_type"]) for row in rows if not row["decommissioned_at"])
    assert 18 <= by_type[("miljo", "air_quality_sensor")] <= 22
    assert 13 <= by_type[("trafik", "traffic_counter")] <= 17
    for kind in [
        ("svoa", "fill_level_sensor"),
        ("trafik", "smart_streetlight"),
        ("svbo", "smart_meter"),
        ("svoa", "water_level_gauge"),
    ]:
        assert by_type[kind] > 0, kind
    assert all(re.fullmatch(r"AQ-\d{4}", r["device_id"]) for r in rows if r["owner"] == "miljo")
    assert all(
        re.fullmatch(r"TR-\d{4}", r["device_id"]) for r in rows if r["device_type"] == "traffic_counter"
    )
    assert "miljo|trafik" in {row["shared_with"] for row in rows}
    assert 1 <= sum(bool(row["decommissioned_at"]) for row in rows) <= 3
    assert len({row["device_id"] for row in rows}) == len(rows)


def test_a_pair_of_departments_overlaps_within_50_metres(default_landing):
    out, _ = default_landing
    rows = first_exports(out)
    overlaps = [
        (a["device_id"], b["device_id"])
        for i, a in enumerate(rows)
        for b in rows[i + 1 :]
        if a["purpose"] == b["purpose"]
        and a["owner"] != b["owner"]
        and haversine_m(float(a["lat"]), float(a["lon"]), float(b["lat"]), float(b["lon"])) <= 50
    ]
    assert overlaps


def test_a_later_export_from_miljo_drops_one_sensor_which_then_falls_silent(default_landing, air):
    out, _ = default_landing
    later_files = sorted((out / "iot_devices").glob("miljo_devices_*.csv"))
    assert len(later_files) == 1
    first = {row["device_id"] for row in registry(out, "miljo_devices.csv")}
    later = {row["device_id"] for row in registry(out, later_files[0].name)}
    assert later < first and len(first - later) == 1
    assert later_files[0].stat().st_mtime > (out / "iot_devices/miljo_devices.csv").stat().st_mtime
    dropped = (first - later).pop()
    export_day = date.fromisoformat(later_files[0].stem.removeprefix("miljo_devices_"))
    silenced = datetime(export_day.year, export_day.month, export_day.day, tzinfo=STOCKHOLM)
    times = [
        parse_observed_at(r["observed_at"]) for _, _, r in air if r is not None and r["device_id"] == dropped
    ]
    assert times and max(times) < silenced


# ---------------------------------------------------------------------------- air quality


def test_air_quality_quirks_are_present(default_landing, air):
    out, summary = default_landing
    names = [f.path for f in summary.files if f.source == "air_quality"]
    assert any(n.endswith(".jsonl") for n in names) and any(n.endswith(".jsonl.gz") for n in names)
    assert all(
        re.fullmatch(r"air_quality/[\w-]+/\d{4}-\d\d-\d\d/\d{4}(-resend)?\.jsonl(\.gz)?", n) for n in names
    )
    readings = [r for _, _, r in air if r is not None]
    assert {r["unit"] for r in readings if r["pollutant"] in ("NO2", "O3")} == {"ppb", "ug/m3"}
    assert {r["unit"] for r in readings if r["pollutant"] in ("PM10", "PM2_5")} == {"ug/m3"}
    offsets = Counter(bool(re.search(r"[+-]\d\d:\d\d$", r["observed_at"])) for r in readings)
    assert offsets[True] > 1000 and offsets[False] > 1000
    assert {"+01:00", "+02:00"} <= {r["observed_at"][-6:] for r in readings}
    assert any(r["value"] is None for r in readings)
    assert {"ok", "maintenance", "error"} <= {r["status"] for r in readings}
    registered = {row["device_id"] for row in first_exports(out)}
    assert any(r["device_id"] not in registered for r in readings)
    assert any(r["pollutant"] not in ("NO2", "PM10", "PM2_5", "O3") for r in readings)
    assert any(r["value"] is not None and r["value"] < 0 for r in readings)
    assert any(r["value"] is not None and r["value"] > 5000 for r in readings)
    invalid = [line for _, line, r in air if r is None]
    assert len(invalid) == 1


def test_one_truncated_gzip_batch_is_sent_again_complete(default_landing):
    out, summary = default_landing
    broken = [f for f in summary.broken_files if f.startswith("air_quality/")]
    assert len(broken) == 1 and broken[0].endswith(".jsonl.gz")
    with pytest.raises(EOFError):
        gzip.decompress((out / broken[0]).read_bytes())
    resend = out / broken[0].replace(".jsonl.gz", "-resend.jsonl.gz")
    assert gzip.decompress(resend.read_bytes()).startswith(b'{"device_id"')
    assert resend.stat().st_mtime > (out / broken[0]).stat().st_mtime


def test_retransmissions_and_late_readings_arrive_in_later_files(air):
    seen: dict[tuple, list[tuple[str, object]]] = defaultdict(list)
    late_days = []
    for name, _, r in air:
        if r is None or "-resend" in name:
            continue
        key = (r["device_id"], r["observed_at"], r["pollutant"])
        seen[key].append((name, r["value"]))
        lag = batch_hour(name) - parse_observed_at(r["observed_at"])
        late_days.append(lag / timedelta(days=1))
    repeated = {k: v for k, v in seen.items() if len({n for n, _ in v}) > 1}
    assert repeated
    assert any(len({value for _, value in v}) > 1 for v in repeated.values())  # corrected
    assert any(len({value for _, value in v}) == 1 for v in repeated.values())  # same again
    assert any(1 <= lag <= 7 for lag in late_days)
    assert max(late_days) <= 7


def test_air_quality_follows_the_city_rhythm(air):
    by_hour: dict[tuple[str, int, bool], list[float]] = defaultdict(list)
    for _, _, r in air:
        if r is None:
            continue
        value = r["value"]
        if r["status"] != "ok" or value is None or not 0 <= value <= 5000:
            continue
        if r["unit"] == "ppb":
            value *= {"NO2": 1.88, "O3": 2.00}[r["pollutant"]]
        local = parse_observed_at(r["observed_at"]).astimezone(STOCKHOLM)
        by_hour[(r["pollutant"], local.hour, local.weekday() >= 5)].append(value)

    def mean(pollutant: str, hours: range, weekend: bool = False) -> float:
        values = [v for h in hours for v in by_hour[(pollutant, h, weekend)]]
        return sum(values) / len(values)

    assert mean("NO2", range(7, 9)) > 2 * mean("NO2", range(1, 4))
    assert mean("NO2", range(16, 18)) > 2 * mean("NO2", range(1, 4))
    assert mean("NO2", range(7, 9)) > 1.5 * mean("NO2", range(7, 9), weekend=True)
    assert mean("O3", range(13, 16)) > 1.3 * mean("O3", range(7, 9))
    assert 10 <= mean("NO2", range(24)) <= 60
    assert 10 <= mean("PM10", range(24)) <= 40
    assert 3 <= mean("PM2_5", range(24)) <= 15


# ---------------------------------------------------------------------------- traffic


def test_traffic_files_have_the_exports_format_and_habits(default_landing):
    out, summary = default_landing
    files = day_files(out)
    assert [p.stem for p in files] == [f"trafik_{date(2026, 10, 19) + timedelta(days=i)}" for i in range(7)]
    boms = [p for p in files if p.read_bytes().startswith(b"\xef\xbb\xbf")]
    cp1252 = [p for p in files if p not in boms]
    assert boms and cp1252
    for path in cp1252:
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")  # really Windows-1252, not UTF-8
    assert any(b"\r\n" in p.read_bytes() for p in files)
    assert any(b"\r\n" not in p.read_bytes() for p in files)
    with_summary = 0
    for path in files:
        lines = traffic_text(path).splitlines()
        assert lines[0] == TRAFFIC_HEADER
        rows = traffic_rows(path)
        assert all(len(row) == 7 for row in rows)
        if lines[-1].startswith("Summa;"):
            with_summary += 1
            assert re.fullmatch(r"Summa;;;;;\d+;", lines[-1])
            numeric = sum(int(row[5]) for row in rows if re.fullmatch(r"-?\d+", row[5]))
            assert int(lines[-1].split(";")[5]) == numeric
        for row in rows:
            if row[5] == "0":
                assert row[6] == ""
            if row[6]:
                assert re.fullmatch(r"\d+,\d", row[6])
    assert 0 < with_summary < len(files)


def test_traffic_counts_look_like_a_city(default_landing):
    out, _ = default_landing
    per_hour: Counter = Counter()
    classes, directions = set(), set()
    for path in day_files(out)[:5]:  # Monday to Friday
        for _site, _day, hour, direction, vehicle_class, count, _speed in traffic_rows(path):
            if re.fullmatch(r"\d+", count) and hour.isdigit():
                per_hour[int(hour)] += int(count)
                classes.add(vehicle_class)
                directions.add(direction)
    assert classes == {"Personbil", "Lastbil", "Buss", "MC", "Cykel"}
    assert {"N", "S", "Ö", "V"} <= directions
    assert per_hour[8] > 5 * per_hour[3] and per_hour[17] > 5 * per_hour[3]
    assert per_hour[8] > per_hour[11] and per_hour[17] > per_hour[12]


def test_autumn_dst_day_repeats_hour_two_in_order(default_landing):
    out, _ = default_landing
    registered = {row["device_id"] for row in first_exports(out)}
    rows = traffic_rows(out / "traffic_counts/2026/trafik_2026-10-25.csv")
    hours_per_key: dict[tuple, list[int]] = defaultdict(list)
    for site, _day, hour, direction, vehicle_class, *_ in rows:
        if site in registered and direction in {"N", "S", "Ö", "V"}:
            hours_per_key[(site, direction, vehicle_class)].append(int(hour))
    expected = [0, 1, 2, 2, *range(3, 24)]  # the file order: the earlier hour 2 first
    assert hours_per_key
    assert all(hours == expected for hours in hours_per_key.values())


def test_spring_dst_day_has_no_hour_two_but_one_broken_row(tmp_path):
    summary = generate_landing(tmp_path, days=3, scale=0.3, start=date(2026, 3, 28))
    rows = traffic_rows(tmp_path / "traffic_counts/2026/trafik_2026-03-29.csv")
    hours = Counter(row[2] for row in rows)
    assert hours["2"] == 1
    assert hours["1"] > 1 and hours["3"] > 1
    record = next(f for f in summary.files if f.path.endswith("trafik_2026-03-29.csv"))
    assert record.broken_rows >= 1


def test_traffic_broken_rows_wrong_header_and_duplicate_file(default_landing):
    out, summary = default_landing
    rows = [row for path in day_files(out) for row in traffic_rows(path)]
    assert any(not re.fullmatch(r"-?\d+", row[5]) for row in rows)
    assert any(re.fullmatch(r"-\d+", row[5]) for row in rows)
    assert any(row[3] not in ("N", "S", "Ö", "V") for row in rows)
    assert any(row[2] == "24" for row in rows)
    registered = {row["device_id"] for row in first_exports(out)}
    assert any(row[0] not in registered for row in rows)
    assert summary.broken_row_counts["traffic_counts"] == 5

    broken = [f for f in summary.broken_files if f.startswith("traffic_counts/")]
    assert len(broken) == 1
    assert traffic_text(out / broken[0]).splitlines()[0] != TRAFFIC_HEADER

    [copy] = [f for f in summary.files if f.duplicate_of and f.source == "traffic_counts"]
    assert (out / copy.path).read_bytes() == (out / copy.duplicate_of).read_bytes()
    assert copy.path != copy.duplicate_of
