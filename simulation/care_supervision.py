"""Äldreförvaltningen's care system: night supervision visits (digital tillsyn), one CSV a day.

`care_supervision/<YYYY>/tillsyn_<YYYY-MM-DD>.csv`, `;`-delimited, Windows-1252, CRLF:
`Personnummer;Stadsdelsområde;Besökstid;Insatstyp;Varaktighet (min);Utförd`, the visits
of one local calendar day (the small hours of one night and the evening of the next), in
time order. `Besökstid` is local time without an offset (`YYYY-MM-DD HH:MM`), so the
repeated hour of the October night is ambiguous, as in the real export.

The persons are SYNTHETIC. Their personal identity numbers have the real format
(`YYYYMMDD-NNNC`, born 1925-1950, a correct Luhn check digit C) but the birth number NNN
is always 000, which Skatteverket never assigns (the series runs 001-999): no number
generated here can belong to a real person. They are drawn from a seeded generator, one
birth date per person, and the same persons recur night after night.

Each person has a plan: camera checks (Kamera, a minute or two, up to three a night) or
night visits (Besök, 10-30 minutes); anyone may raise an alarm (Larm, 15-45 minutes).
A camera check that fails to connect, or a visit the person declines, is `Utförd` Nej
with duration 0. Persons start and end their service during the period.

Quirks: one row with an invalid personnummer (a typing error: wrong check digit), one
with an unknown district (the care system already uses the 2023 name Norra innerstaden;
both rejected), and one with an empty `Varaktighet (min)` (missing, not a broken row).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from simulation.city import STOCKHOLM, City, Period, allocate, local_midnight
from simulation.landing_files import GeneratedFile, LandingFile

SOURCE = "care_supervision"
HEADER = "Personnummer;Stadsdelsområde;Besökstid;Insatstyp;Varaktighet (min);Utförd"
PERSONS_AT_SCALE_1 = 200
FIRST_BIRTH, LAST_BIRTH = date(1925, 1, 1), date(1950, 12, 31)
BIRTH_NUMBER = "000"  # never assigned by Skatteverket: synthetic by construction
UNKNOWN_DISTRICT = "Norra innerstaden"
CAMERA_TIMES = ((23, 0), (2, 0), (5, 0))  # planned checks; the first ones are kept
VISIT_TIMES = ((22, 30), (3, 30))
NIGHT_START_HOUR, NIGHT_END_HOUR = 22, 6


def luhn_digit(digits: str) -> int:
    """The personnummer check digit: Luhn over YYMMDDNNN with weights 2, 1, 2, …"""
    total = 0
    for position, character in enumerate(digits):
        product = int(character) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def personnummer(born: date, birth_number: str = BIRTH_NUMBER) -> str:
    digits = f"{born:%y%m%d}{birth_number}"
    return f"{born:%Y%m%d}-{birth_number}{luhn_digit(digits)}"


@dataclass(frozen=True)
class Person:
    personnummer: str
    district: str
    plan: str  # Kamera | Besök
    checks_per_night: int
    alarm_chance: float  # per night
    first_day: date  # the first and last evening whose night is supervised
    last_day: date


@dataclass(frozen=True)
class Visit:
    person: Person
    at: datetime  # UTC
    kind: str
    minutes: int | None
    done: bool
    district: str


def person_count(scale: float) -> int:
    """A few hundred persons at scale 1; at most one per birth date (the birth number is fixed)."""
    return min((LAST_BIRTH - FIRST_BIRTH).days, max(20, round(PERSONS_AT_SCALE_1 * scale)))


def make_persons(city: City, period: Period, rng: random.Random) -> list[Person]:
    count = person_count(city.scale)
    births = sorted(
        FIRST_BIRTH + timedelta(days=offset)
        for offset in rng.sample(range((LAST_BIRTH - FIRST_BIRTH).days), count)
    )
    rng.shuffle(births)
    weights = {d.name: float(d.latest_population()) for d in city.districts}
    districts = [name for name, n in allocate(count, weights).items() for _ in range(n)]
    persons = []
    for born, district in zip(births, districts, strict=True):
        churn = rng.random()
        first, last = period.start - timedelta(days=1), period.dates[-1]  # evenings served
        if churn < 0.05:
            first = period.dates[rng.randrange(period.days)]
        elif churn < 0.10:
            last = period.dates[rng.randrange(period.days)]
        plan = "Kamera" if rng.random() < 0.65 else "Besök"
        persons.append(
            Person(
                personnummer=personnummer(born),
                district=district,
                plan=plan,
                checks_per_night=rng.choice([1, 2, 3]) if plan == "Kamera" else rng.choice([1, 1, 2]),
                alarm_chance=rng.uniform(0.01, 0.08),
                first_day=first,
                last_day=last,
            )
        )
    return sorted(persons, key=lambda p: p.personnummer)


def local_instant(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=STOCKHOLM).astimezone(UTC)


def night_visits(person: Person, evening: date, rng: random.Random) -> list[Visit]:
    """The visits of the night that starts on the evening of `evening`."""
    times = CAMERA_TIMES if person.plan == "Kamera" else VISIT_TIMES
    visits = []
    for hour, minute in times[: person.checks_per_night]:
        day = evening if hour >= 12 else evening + timedelta(days=1)
        at = local_instant(day, hour, minute) + timedelta(minutes=rng.randrange(-15, 25))
        if person.plan == "Kamera":
            done = rng.random() > 0.03
            minutes = rng.randint(1, 3) if done else 0
        else:
            done = rng.random() > 0.02
            minutes = rng.randint(10, 30) if done else 0
        visits.append(Visit(person, at, person.plan, minutes, done, person.district))
    if rng.random() < person.alarm_chance:
        night_start = local_instant(evening, NIGHT_START_HOUR, 0)
        night_end = local_instant(evening + timedelta(days=1), NIGHT_END_HOUR, 0)
        seconds = int((night_end - night_start).total_seconds())
        at = night_start + timedelta(seconds=rng.randrange(seconds))
        visits.append(Visit(person, at, "Larm", rng.randint(15, 45), True, person.district))
    return visits


def simulate(persons: list[Person], period: Period, rng: random.Random) -> dict[date, list[Visit]]:
    """Visits by local day, including the night before the period's first evening."""
    by_day: dict[date, list[Visit]] = {day: [] for day in period.dates}
    evenings = [period.start - timedelta(days=1), *period.dates]
    for person in persons:
        for evening in evenings:
            if not person.first_day <= evening <= person.last_day:
                continue
            for visit in night_visits(person, evening, rng):
                day = visit.at.astimezone(STOCKHOLM).date()
                if day in by_day:
                    by_day[day].append(visit)
    for visits in by_day.values():
        visits.sort(key=lambda v: (v.at, v.person.personnummer, v.kind))
    return by_day


def break_rows(by_day: dict[date, list[Visit]], period: Period, rng: random.Random) -> dict[date, int]:
    """A mistyped personnummer and an unknown district (broken), an empty duration (missing)."""
    broken = dict.fromkeys(by_day, 0)
    typo_day = period.dates[min(1, period.days - 1)]
    district_day = period.dates[min(3, period.days - 1)]
    empty_day = period.dates[min(5, period.days - 1)]
    for day, kind in ((typo_day, "typo"), (district_day, "district"), (empty_day, "empty")):
        visits = by_day[day]
        if not visits:
            continue
        index = rng.randrange(len(visits))
        visit = visits[index]
        if kind == "typo":
            number = visit.person.personnummer
            wrong = f"{number[:-1]}{(int(number[-1]) + 1) % 10}"
            visits[index] = replace(visit, person=replace(visit.person, personnummer=wrong))
            broken[day] += 1
        elif kind == "district":
            visits[index] = replace(visit, district=UNKNOWN_DISTRICT)
            broken[day] += 1
        else:
            visits[index] = replace(visit, minutes=None, done=True)
    return broken


def csv_line(visit: Visit) -> str:
    minutes = "" if visit.minutes is None else str(visit.minutes)
    return ";".join(
        [
            visit.person.personnummer,
            visit.district,
            f"{visit.at.astimezone(STOCKHOLM):%Y-%m-%d %H:%M}",
            visit.kind,
            minutes,
            "Ja" if visit.done else "Nej",
        ]
    )


def day_file(day: date, visits: list[Visit], broken_rows: int) -> LandingFile:
    lines = [HEADER, *map(csv_line, visits)]
    data = "".join(line + "\r\n" for line in lines).encode("cp1252")
    path = f"{SOURCE}/{day.year}/tillsyn_{day.isoformat()}.csv"
    arrived = local_midnight(day + timedelta(days=1)) + timedelta(hours=6, minutes=45)
    return LandingFile(GeneratedFile(SOURCE, path, len(visits), arrived, broken_rows), data)


def generate(city: City, period: Period) -> list[LandingFile]:
    rng = random.Random(f"{city.seed}:{SOURCE}")
    persons = make_persons(city, period, rng)
    by_day = simulate(persons, period, rng)
    broken = break_rows(by_day, period, rng)
    return [day_file(day, by_day[day], broken[day]) for day in period.dates]
