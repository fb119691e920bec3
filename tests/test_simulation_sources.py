"""The generator's six later sources: formats as sources.md describes them, and every quirk.

waste_fill_levels, street_lighting, smart_meters, water_levels, care_supervision and
eservice_usage. Files are parsed here on their own terms (csv, json, zipfile, fastexcel,
an independent Luhn check), never through the generator's code, so a generator bug cannot
hide behind shared code.
"""

from __future__ import annotations

import csv
import json
import re
import time
import zipfile
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import fastexcel
import pytest

from simulation import GenerationSummary, generate_landing

STOCKHOLM = ZoneInfo("Europe/Stockholm")
THIRTEEN = {
    "Rinkeby-Kista", "Spånga-Tensta", "Hässelby-Vällingby", "Bromma", "Kungsholmen", "Norrmalm",
    "Östermalm", "Södermalm", "Enskede-Årsta-Vantör", "Skarpnäck", "Farsta", "Hägersten-Älvsjö",
    "Skärholmen",
}  # fmt: skip
NEW_SOURCES = (
    "waste_fill_levels",
    "street_lighting",
    "smart_meters",
    "water_levels",
    "care_supervision",
    "eservice_usage",
)
WASTE_HEADER = ["container_id", "measured_at", "fill_level_pct", "battery_pct", "temperature_c"]
LIGHTING_HEADER = ["Armatur-ID", "Datum", "Energi (kWh)", "Brinntid (h)", "Felkod"]
METER_HEADER = "MätarID;Period start;kWh"
CARE_HEADER = "Personnummer;Stadsdelsområde;Besökstid;Insatstyp;Varaktighet (min);Utförd"
SESSION_KEYS = {"service_id", "service_name", "started_at", "completed", "channel", "district", "user_ref"}
OFFSET = re.compile(r"[+-]\d\d:\d\d$")


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("landing")
    began = time.perf_counter()
    summary = generate_landing(out)
    elapsed = time.perf_counter() - began
    sizes = Counter()
    for path in out.rglob("*"):
        if path.is_file():
            sizes[path.relative_to(out).parts[0]] += path.stat().st_size
    print(f"\ndefault generation: {elapsed:.2f} s, {sum(sizes.values()) / 1e6:.1f} MB")
    print("  " + ", ".join(f"{source} {sizes[source] / 1e6:.2f} MB" for source in NEW_SOURCES))
    return out, summary


def files_of(out: Path, summary: GenerationSummary, source: str, readable: bool = True) -> list[Path]:
    """A source's files in arrival order; readable ones only unless asked (duplicates included)."""
    records = [f for f in summary.files if f.source == source and not (readable and f.broken)]
    return [out / f.path for f in sorted(records, key=lambda f: (f.arrived_at, f.path))]


def registered(out: Path, device_type: str) -> dict[str, dict[str, str]]:
    devices = {}
    for path in sorted((out / "iot_devices").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as file:
            for row in csv.DictReader(file):
                if row["device_type"] == device_type:
                    devices[row["device_id"]] = row
    return devices


def luhn_valid(number: str) -> bool:
    """Independent Luhn check over the 10 digits YYMMDDNNNC."""
    digits = [int(c) for c in number[2:].replace("-", "")]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


# ---------------------------------------------------------------------------- parsing


def waste_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        assert reader.fieldnames == WASTE_HEADER, path
        return list(reader)


def lighting_rows(path: Path) -> list[dict]:
    sheet = fastexcel.read_excel(path.read_bytes()).load_sheet(0)
    frame = sheet.to_polars()
    assert frame.columns == LIGHTING_HEADER, path
    return frame.to_dicts()


def meter_rows(path: Path) -> list[list[str]]:
    lines = path.read_bytes().decode("utf-8").split("\r\n")
    assert lines[0] == METER_HEADER and lines[-1] == "", path
    return [line.split(";") for line in lines[1:-1]]


def water_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def care_rows(path: Path) -> list[list[str]]:
    lines = path.read_bytes().decode("cp1252").split("\r\n")
    assert lines[0] == CARE_HEADER and lines[-1] == "", path
    return [line.split(";") for line in lines[1:-1]]


def sessions(path: Path) -> list[dict]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, list), path
    return document


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(STOCKHOLM)


# ---------------------------------------------------------------------------- all six


def test_same_seed_gives_identical_bytes_including_xlsx_and_another_seed_differs(tmp_path):
    arguments = {"days": 3, "scale": 0.3, "start": date(2026, 10, 23)}
    generate_landing(tmp_path / "a", seed=5, **arguments)
    time.sleep(1.1)  # a wall-clock time leaking into the xlsx would now differ
    generate_landing(tmp_path / "b", seed=5, **arguments)
    generate_landing(tmp_path / "c", seed=6, **arguments)
    for source in NEW_SOURCES:
        names = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a" / source).rglob("*.*"))
        assert names, source
        assert names == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b" / source).rglob("*.*"))
        for name in names:
            a, b = tmp_path / "a" / name, tmp_path / "b" / name
            assert a.read_bytes() == b.read_bytes(), name
            assert a.stat().st_mtime == b.stat().st_mtime, name
        changed = [n for n in names if (tmp_path / "c" / n).exists()]
        assert any((tmp_path / "a" / n).read_bytes() != (tmp_path / "c" / n).read_bytes() for n in changed)


def test_every_device_read_is_registered_except_the_deliberate_newcomer(landing):
    out, summary = landing
    containers = {
        row["container_id"] for p in files_of(out, summary, "waste_fill_levels") for row in waste_rows(p)
    }
    luminaires = {
        row["Armatur-ID"] for p in files_of(out, summary, "street_lighting") for row in lighting_rows(p)
    }
    meters = {row[0] for p in files_of(out, summary, "smart_meters") for row in meter_rows(p)}
    stations = {r["station_id"] for p in files_of(out, summary, "water_levels") for r in water_records(p)}
    assert containers - set(registered(out, "fill_level_sensor")) == {"WF-9999"}
    assert luminaires and luminaires <= set(registered(out, "smart_streetlight"))
    assert meters and meters <= set(registered(out, "smart_meter"))
    assert stations and stations <= set(registered(out, "water_level_gauge"))
    assert {row["owner"] for row in registered(out, "smart_meter").values()} == {"svbo"}


def test_summary_counts_the_rows_a_reader_finds(landing):
    out, summary = landing
    duplicates = set(summary.duplicate_files)
    readers = {
        "waste_fill_levels": waste_rows,
        "street_lighting": lighting_rows,
        "smart_meters": meter_rows,
        "water_levels": water_records,
        "care_supervision": care_rows,
        "eservice_usage": sessions,
    }
    for source, read in readers.items():
        paths = [p for p in files_of(out, summary, source) if p.relative_to(out).as_posix() not in duplicates]
        assert summary.row_counts[source] == sum(len(read(p)) for p in paths), source
    assert summary.file_counts["street_lighting"] == 7 + 1  # a day cut off, and its re-export
    assert summary.file_counts["smart_meters"] == 7 + 1  # a day delivered twice
    assert summary.file_counts["care_supervision"] == 7
    assert summary.file_counts["eservice_usage"] == 7 + 1


# ---------------------------------------------------------------------------- waste


def test_waste_fill_levels_rise_and_drop_at_emptying_with_glitches(landing):
    out, summary = landing
    by_container: dict[str, dict[str, dict]] = defaultdict(dict)
    glitches = unknown = 0
    known = set(registered(out, "fill_level_sensor"))
    for path in files_of(out, summary, "waste_fill_levels"):
        assert path.read_bytes().decode("utf-8")
        for row in waste_rows(path):
            assert OFFSET.search(row["measured_at"]), row
            level = float(row["fill_level_pct"])
            if not 0 <= level <= 100:
                glitches += 1
                continue
            if row["container_id"] not in known:
                unknown += 1
                continue
            by_container[row["container_id"]][row["measured_at"]] = row
    assert glitches >= 2 and unknown >= 1
    assert summary.broken_row_counts["waste_fill_levels"] == glitches + unknown

    emptied = 0
    for rows in by_container.values():
        series = sorted(rows.values(), key=lambda r: local(r["measured_at"]))
        levels = [float(r["fill_level_pct"]) for r in series]
        drops = [i for i in range(1, len(levels)) if levels[i - 1] - levels[i] > 25]
        assert len(drops) <= 1  # weekly or biweekly routes: at most one emptying in a week
        for i in drops:
            assert levels[i] <= 10  # emptied, not a glitch
            if i + 24 < len(levels):
                assert levels[i + 24] > levels[i]  # and filling again
            emptied += 1
        batteries = [float(r["battery_pct"]) for r in series]
        assert batteries[-1] <= batteries[0]
        assert all(-10 <= float(r["temperature_c"]) <= 25 for r in series)
    assert emptied >= len(by_container) // 2
    draining = [rows for rows in by_container.values() if len({r["battery_pct"] for r in rows.values()}) > 1]
    assert draining


def test_waste_batches_retransmit_earlier_rows_unchanged(landing):
    out, summary = landing
    seen: dict[tuple[str, str], list[tuple[Path, tuple]]] = defaultdict(list)
    for path in files_of(out, summary, "waste_fill_levels"):
        for row in waste_rows(path):
            seen[(row["container_id"], row["measured_at"])].append((path, tuple(row.values())))
    repeated = [v for v in seen.values() if len({p for p, _ in v}) > 1]
    assert repeated
    assert all(len({values for _, values in v}) == 1 for v in repeated)


# ---------------------------------------------------------------------------- lighting


def test_lighting_exports_are_real_xlsx_with_the_exact_header_on_the_first_sheet(landing):
    out, summary = landing
    paths = files_of(out, summary, "street_lighting")
    assert len(paths) == 7
    for path in paths:
        reader = fastexcel.read_excel(path.read_bytes())
        assert reader.sheet_names[0] == "Belysning" and len(reader.sheet_names) > 1
        rows = lighting_rows(path)
        assert len(rows) >= 20
        with zipfile.ZipFile(path) as package:
            assert package.testzip() is None
            assert {info.date_time for info in package.infolist()} != {(1980, 1, 1, 0, 0, 0)}
            core = package.read("docProps/core.xml").decode()
        stem_day = date.fromisoformat(re.search(r"\d{4}-\d\d-\d\d", path.name).group())
        created = re.search(r"<dcterms:created[^>]*>([^<]+)<", core).group(1)
        assert local(created.replace("Z", "+00:00")).date() == stem_day + timedelta(days=1)


def test_lighting_datum_is_a_date_a_serial_or_text_and_one_file_is_truncated(landing):
    out, summary = landing
    kinds: dict[str, str] = {}
    for path in files_of(out, summary, "street_lighting"):
        stem_day = date.fromisoformat(re.search(r"\d{4}-\d\d-\d\d", path.name).group())
        for row in lighting_rows(path):
            value = row["Datum"]
            if isinstance(value, datetime):
                assert value.date() == stem_day
                kinds[path.name] = "date"
            elif isinstance(value, float):
                assert date(1899, 12, 30) + timedelta(days=int(value)) == stem_day
                kinds[path.name] = "serial"
            else:
                assert value == stem_day.isoformat()
                kinds[path.name] = "text"
    assert Counter(kinds.values()) == {"date": 5, "serial": 1, "text": 1}

    [broken] = [f for f in summary.files if f.source == "street_lighting" and f.broken]
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(out / broken.path)
    again = out / broken.path.replace(".xlsx", "_omexport.xlsx")
    assert len(lighting_rows(again)) > 0
    assert again.stat().st_mtime > (out / broken.path).stat().st_mtime


def test_lighting_burns_through_the_night_and_meters_power_times_hours(landing):
    out, summary = landing
    burn_by_day: dict[date, list[float]] = defaultdict(list)
    ratios: dict[str, list[float]] = defaultdict(list)
    faults, too_long = Counter(), 0
    for path in files_of(out, summary, "street_lighting"):
        day = date.fromisoformat(re.search(r"\d{4}-\d\d-\d\d", path.name).group())
        for row in lighting_rows(path):
            hours, energy = row["Brinntid (h)"], row["Energi (kWh)"]
            if hours > 24:
                too_long += 1
                continue
            if row["Felkod"]:
                assert re.fullmatch(r"E\d\d", row["Felkod"])
                faults[row["Felkod"]] += 1
                if row["Felkod"] == "E12":
                    assert hours == 0 and energy == 0
                continue
            burn_by_day[day].append(hours)
            ratios[row["Armatur-ID"]].append(energy / hours)
    assert too_long == 1 == summary.broken_row_counts["street_lighting"]
    assert len(faults) >= 2 and sum(faults.values()) <= 12
    means = {day: sum(v) / len(v) for day, v in burn_by_day.items()}
    assert all(12.5 < m < 16 for m in means.values())  # late October: about 14 hours of dark
    assert 0.8 < means[date(2026, 10, 25)] - means[date(2026, 10, 24)] < 1.3  # the 25-hour day
    for luminaire, values in ratios.items():
        assert 0.02 < min(values) and max(values) < 0.12, luminaire  # 20-120 W LED luminaires
        assert max(values) / min(values) < 1.06, luminaire  # the same power every night


@pytest.mark.parametrize(
    ("day", "low", "high"), [(date(2026, 6, 21), 3.5, 6.0), (date(2026, 12, 21), 16.5, 18.5)]
)
def test_lighting_burn_time_follows_the_season(tmp_path, day, low, high):
    summary = generate_landing(tmp_path, days=1, scale=0.2, start=day)
    [path] = files_of(tmp_path, summary, "street_lighting")
    hours = [r["Brinntid (h)"] for r in lighting_rows(path) if not r["Felkod"] and r["Brinntid (h)"] <= 24]
    assert hours and low < sum(hours) / len(hours) < high


# ---------------------------------------------------------------------------- smart meters


def test_smart_meters_format_and_households_enough_for_aggregates(landing):
    out, summary = landing
    meters = registered(out, "smart_meter")
    assert len(meters) >= 50
    buildings = Counter((row["lat"], row["lon"]) for row in meters.values())
    assert sum(1 for count in buildings.values() if count >= 5) >= 3
    by_hour: dict[int, list[float]] = defaultdict(list)
    negative = 0
    duplicates = set(summary.duplicate_files)
    for path in files_of(out, summary, "smart_meters"):
        if path.relative_to(out).as_posix() in duplicates:
            continue
        for _meter, start, kwh in meter_rows(path):
            assert re.fullmatch(r"-?\d+,\d{3}", kwh), kwh
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", start), start
            value = float(kwh.replace(",", "."))
            if value < 0:
                negative += 1
            else:
                by_hour[int(start[11:13])].append(value)
    assert negative == 1 == summary.broken_row_counts["smart_meters"]
    mean = {hour: sum(v) / len(v) for hour, v in by_hour.items()}
    assert 0.15 < sum(mean.values()) / 24 < 0.6  # 1 300-5 000 kWh a year per flat
    assert min(mean[h] for h in (18, 19, 20)) > 2 * max(mean[h] for h in (2, 3, 4))

    [copy] = [f for f in summary.files if f.source == "smart_meters" and f.duplicate_of]
    assert (out / copy.path).read_bytes() == (out / copy.duplicate_of).read_bytes()


def test_smart_meters_autumn_day_repeats_two_oclock_in_order(landing):
    out, summary = landing
    [path] = [p for p in files_of(out, summary, "smart_meters") if p.name == "timvarden_2026-10-25.csv"]
    hours: dict[str, list[str]] = defaultdict(list)
    for meter, start, _ in meter_rows(path):
        assert start.startswith("2026-10-25 ")
        hours[meter].append(start[11:])
    expected = ["00:00", "01:00", "02:00", "02:00", *(f"{h:02d}:00" for h in range(3, 24))]
    assert hours and all(v == expected for v in hours.values())


def test_smart_meters_spring_day_has_no_two_oclock(tmp_path):
    generate_landing(tmp_path, days=1, scale=0.2, start=date(2026, 3, 29))
    path = tmp_path / "smart_meters/2026/03/timvarden_2026-03-29.csv"
    hours: dict[str, list[str]] = defaultdict(list)
    for meter, start, _ in meter_rows(path):
        hours[meter].append(start[11:])
    expected = ["00:00", "01:00", *(f"{h:02d}:00" for h in range(3, 24))]
    assert hours and all(v == expected for v in hours.values())


# ---------------------------------------------------------------------------- water


def test_water_levels_skyfall_missing_values_and_rh2000_levels(landing):
    out, summary = landing
    rain_per_hour: Counter = Counter()
    absent_rain = null_rain = null_level = 0
    levels: dict[str, list[float]] = defaultdict(list)
    for path in files_of(out, summary, "water_levels"):
        for record in water_records(path):
            assert set(record) <= {"station_id", "observed_at", "water_level_m", "rainfall_mm"}
            assert OFFSET.search(record["observed_at"])
            if "rainfall_mm" not in record:
                absent_rain += 1
            elif record["rainfall_mm"] is None:
                null_rain += 1
            else:
                assert record["rainfall_mm"] >= 0
                ended = local(record["observed_at"]) - timedelta(minutes=1)
                rain_per_hour[(record["station_id"], ended.strftime("%Y-%m-%d %H"))] += record["rainfall_mm"]
            if record.get("water_level_m") is None:
                null_level += 1
            else:
                levels[record["station_id"]].append(record["water_level_m"])
    assert absent_rain and null_rain and null_level
    assert max(rain_per_hour.values()) >= 10  # a cloudburst
    assert sorted(rain_per_hour.values())[-2] < 10  # only one hour of it
    assert all(0.0 < min(v) and max(v) < 1.2 for v in levels.values())
    means = sorted(sum(v) / len(v) for v in levels.values())
    assert means[0] < 0.5 < means[-1]  # Saltsjön below Mälaren


def test_water_levels_arrive_late_and_again(landing):
    out, summary = landing
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    lags = []
    for path in files_of(out, summary, "water_levels"):
        batch = datetime.strptime(f"{path.parent.name} {path.stem}", "%Y-%m-%d %H%M").replace(
            tzinfo=ZoneInfo("UTC")
        )
        for record in water_records(path):
            seen[(record["station_id"], record["observed_at"])].add(path.name + path.parent.name)
            lags.append(batch - datetime.fromisoformat(record["observed_at"]))
    assert any(len(files) > 1 for files in seen.values())
    assert max(lags) > timedelta(hours=12)


# ---------------------------------------------------------------------------- care


def test_care_supervision_is_windows_1252_with_synthetic_personnummer(landing):
    out, summary = landing
    paths = files_of(out, summary, "care_supervision")
    numbers: Counter = Counter()
    days_seen: dict[str, set[str]] = defaultdict(set)
    invalid, unknown_districts, empty_durations = [], [], 0
    kinds, done = Counter(), Counter()
    for path in paths:
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")  # å, ä, ö in Windows-1252
        file_day = re.search(r"\d{4}-\d\d-\d\d", path.name).group()
        for number, district, visited, kind, minutes, performed in care_rows(path):
            assert re.fullmatch(r"(\d{4})(\d\d)(\d\d)-\d{4}", number), number
            born = date(int(number[:4]), int(number[4:6]), int(number[6:8]))
            assert date(1925, 1, 1) <= born <= date(1950, 12, 31)
            assert number[9:12] == "000"  # a birth number Skatteverket never assigns
            if not luhn_valid(number):
                invalid.append(number)
            numbers[number] += 1
            days_seen[number].add(file_day)
            if district not in THIRTEEN:
                unknown_districts.append(district)
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", visited)
            assert visited[:10] == file_day and (visited[11:13] >= "21" or visited[11:13] <= "07")
            kinds[kind] += 1
            done[performed] += 1
            if minutes == "":
                empty_durations += 1
            else:
                assert 0 <= int(minutes) <= 60
    assert len(invalid) == 1 and numbers[invalid[0]] == 1
    assert unknown_districts and len(unknown_districts) == 1
    assert empty_durations == 1
    assert set(kinds) == {"Kamera", "Larm", "Besök"}
    assert set(done) == {"Ja", "Nej"} and done["Nej"] < done["Ja"] / 10
    recurring = [n for n, days in days_seen.items() if len(days) >= 5]
    assert len(recurring) > 0.7 * len(days_seen)
    assert summary.broken_row_counts["care_supervision"] == 2


# ---------------------------------------------------------------------------- e-services


def test_eservice_sessions_are_json_arrays_with_stable_users(landing):
    out, summary = landing
    paths = files_of(out, summary, "eservice_usage")
    channels, missing_ref = Counter(), 0
    district_of: dict[str, set[str]] = defaultdict(set)
    days_of: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        for session in sessions(path):
            assert set(session) in (SESSION_KEYS, SESSION_KEYS - {"user_ref"}), session
            assert isinstance(session["completed"], bool)
            assert session["district"] in THIRTEEN
            started = local(session["started_at"])
            assert OFFSET.search(session["started_at"])
            channels[session["channel"]] += 1
            if session["channel"] == "phone":
                assert started.weekday() < 5 and 8 <= started.hour < 17
            if "user_ref" not in session:
                missing_ref += 1
                continue
            assert re.fullmatch(r"u-[0-9a-f]{12}", session["user_ref"])
            district_of[session["user_ref"]].add(session["district"])
            days_of[session["user_ref"]].add(path.name)
    assert missing_ref == 1
    assert {"web", "app", "phone"} < set(channels) and len(channels) == 4
    assert channels["web"] > channels["app"] > channels["phone"]
    assert all(len(d) == 1 for d in district_of.values())  # a user lives in one district
    assert sum(1 for days in days_of.values() if len(days) > 1) > 100
    assert summary.broken_row_counts["eservice_usage"] == 2


def test_one_eservice_export_is_truncated_and_sent_again(landing):
    out, summary = landing
    [broken] = [f for f in summary.files if f.source == "eservice_usage" and f.broken]
    with pytest.raises(json.JSONDecodeError):
        json.loads((out / broken.path).read_text(encoding="utf-8"))
    again = out / broken.path.replace(".json", "_2.json")
    complete = sessions(again)
    assert len(complete) > 100
    assert again.read_bytes().startswith((out / broken.path).read_bytes())
