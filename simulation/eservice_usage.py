"""Stadsledningskontoret's e-service platform: one JSON document of sessions per day.

`eservice_usage/<YYYY>/<MM>/sessioner_<YYYY-MM-DD>.json` holds an array of sessions
`{"service_id", "service_name", "started_at", "completed", "channel", "district",
"user_ref"}`, one per line inside the array, `started_at` in local time with its offset,
in time order.

Users are synthetic: a pool of residents, each with a home district (weighted by
population), a preferred channel and a habit of using the services more or less often;
`user_ref` (`u-` and twelve hex digits, drawn from the seed) stays the same across days.
The web is used all day and evening, the app mostly in the evening, the phone service
only in office hours on weekdays; weekends are quieter. Long applications (bygglov,
ekonomiskt bistånd) are abandoned more often than short reports.

Quirks: one session with a channel the contract does not know (`kiosk`), one phone
session without `user_ref` (an unidentified caller: the key is absent; both rejected,
as the contract requires a known channel and a user reference), and one
day's export cut off in transfer (truncated JSON), which the platform exports again
complete as `sessioner_<date>_2.json`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from simulation.city import STOCKHOLM, City, Period, local_hour_starts, local_midnight
from simulation.landing_files import GeneratedFile, LandingFile

SOURCE = "eservice_usage"
SESSIONS_PER_DAY_AT_SCALE_1 = 600
USERS_PER_SESSION_PER_DAY = 6  # the pool: enough that most users come back now and then
CHANNELS = ("web", "app", "phone")
UNKNOWN_CHANNEL = "kiosk"


@dataclass(frozen=True)
class Service:
    service_id: str
    name: str
    weight: float
    completion: float


SERVICES = (
    Service("felanmalan-gata-park", "Felanmälan gata och park", 20, 0.93),
    Service("forskola-ansokan", "Ansök om förskoleplats", 12, 0.82),
    Service("skolval", "Skolval", 9, 0.85),
    Service("parkeringstillstand", "Ansök om parkeringstillstånd", 10, 0.78),
    Service("bygglov-ansokan", "Ansök om bygglov", 6, 0.52),
    Service("ekonomiskt-bistand", "Ansök om ekonomiskt bistånd", 7, 0.61),
    Service("hemtjanst-ansokan", "Ansök om hemtjänst", 4, 0.74),
    Service("bostadsanpassning", "Ansök om bostadsanpassningsbidrag", 3, 0.66),
    Service("synpunkter", "Lämna synpunkter och klagomål", 8, 0.9),
    Service("serveringstillstand", "Ansök om serveringstillstånd", 2, 0.58),
    Service("felanmalan-belysning", "Felanmälan gatubelysning", 5, 0.95),
    Service("kulturskolan", "Anmälan till Kulturskolan", 6, 0.88),
)
# Share of a channel's daily sessions in each local hour (normalized below).
WEB_HOURS = (0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.6, 1.5, 3.0, 4.0, 4.2, 4.0,
             3.8, 4.0, 4.0, 3.6, 3.0, 2.6, 2.6, 3.0, 3.2, 2.6, 1.6, 0.8)  # fmt: skip
APP_HOURS = (0.6, 0.3, 0.2, 0.1, 0.1, 0.2, 0.8, 1.8, 2.0, 1.8, 1.8, 2.0,
             2.6, 2.2, 2.0, 2.2, 2.8, 3.4, 3.8, 4.2, 4.4, 3.8, 2.6, 1.4)  # fmt: skip
PHONE_HOURS = (0, 0, 0, 0, 0, 0, 0, 0, 3.0, 4.0, 4.0, 3.0,
               2.0, 3.5, 3.5, 3.0, 2.0, 0, 0, 0, 0, 0, 0, 0)  # fmt: skip


def _normalized(profile: tuple[float, ...]) -> tuple[float, ...]:
    total = sum(profile)
    return tuple(p / total for p in profile)


HOURS = {"web": _normalized(WEB_HOURS), "app": _normalized(APP_HOURS), "phone": _normalized(PHONE_HOURS)}


@dataclass(frozen=True)
class User:
    user_ref: str
    district: str
    channel: str
    activity: float


@dataclass(frozen=True)
class Session:
    service: Service
    started_at: datetime  # UTC
    completed: bool
    channel: str
    district: str
    user_ref: str | None  # None: the key is absent


def make_users(city: City, rng: random.Random) -> list[User]:
    count = max(100, round(SESSIONS_PER_DAY_AT_SCALE_1 * USERS_PER_SESSION_PER_DAY * city.scale))
    names = [d.name for d in city.districts]
    weights = [d.latest_population() for d in city.districts]
    refs: set[str] = set()
    users = []
    while len(users) < count:
        ref = f"u-{rng.getrandbits(48):012x}"
        if ref in refs:
            continue
        refs.add(ref)
        users.append(
            User(
                user_ref=ref,
                district=rng.choices(names, weights)[0],
                channel=rng.choices(CHANNELS, weights=[60, 32, 8])[0],
                activity=rng.paretovariate(1.6),
            )
        )
    return users


def day_sessions(
    users: list[User], activities: list[float], day: date, scale: float, rng: random.Random
) -> list[Session]:
    weekend = day.weekday() >= 5
    expected = SESSIONS_PER_DAY_AT_SCALE_1 * scale * (0.6 if weekend else 1.0)
    count = max(1, round(rng.gauss(expected, expected**0.5)))
    starts = local_hour_starts(day)  # 23, 24 or 25 hours: DST shapes the day
    hour_weights = {
        channel: [HOURS[channel][start.astimezone(STOCKHOLM).hour] for start in starts]
        for channel in CHANNELS
    }
    sessions = []
    for user in rng.choices(users, weights=activities, k=count):
        channel = user.channel
        if rng.random() < 0.15:
            channel = rng.choice(CHANNELS)
        if channel == "phone" and weekend:
            channel = "web"  # the phone service is closed at weekends
        started = rng.choices(starts, hour_weights[channel])[0] + timedelta(seconds=rng.randrange(3600))
        service = rng.choices(SERVICES, weights=[s.weight for s in SERVICES])[0]
        completion = 0.95 if channel == "phone" else service.completion
        sessions.append(
            Session(service, started, rng.random() < completion, channel, user.district, user.user_ref)
        )
    return sorted(sessions, key=lambda s: (s.started_at, s.user_ref or "", s.service.service_id))


def session_json(session: Session) -> str:
    record: dict[str, object] = {
        "service_id": session.service.service_id,
        "service_name": session.service.name,
        "started_at": session.started_at.astimezone(STOCKHOLM).isoformat(),
        "completed": session.completed,
        "channel": session.channel,
        "district": session.district,
    }
    if session.user_ref is not None:
        record["user_ref"] = session.user_ref
    return json.dumps(record, ensure_ascii=False)


def document(sessions: list[Session]) -> bytes:
    body = ",\n".join(session_json(s) for s in sessions)
    return f"[\n{body}\n]\n".encode()


def day_path(day: date, suffix: str = "") -> str:
    return f"{SOURCE}/{day.year}/{day.month:02d}/sessioner_{day.isoformat()}{suffix}.json"


def add_quirks(by_day: dict[date, list[Session]], period: Period, rng: random.Random) -> dict[date, int]:
    """A session on an unknown channel and a phone session without user_ref (both broken)."""
    broken = dict.fromkeys(by_day, 0)
    kiosk_day = period.dates[min(1, period.days - 1)]
    sessions = by_day[kiosk_day]
    if sessions:
        index = rng.randrange(len(sessions))
        sessions[index] = replace(sessions[index], channel=UNKNOWN_CHANNEL)
        broken[kiosk_day] += 1
    for day in period.dates[min(2, period.days - 1) :] + period.dates:
        phone = [i for i, s in enumerate(by_day[day]) if s.channel == "phone"]
        if phone:
            by_day[day][phone[0]] = replace(by_day[day][phone[0]], user_ref=None)
            broken[day] += 1
            break
    return broken


def generate(city: City, period: Period) -> list[LandingFile]:
    rng = random.Random(f"{city.seed}:{SOURCE}")
    users = make_users(city, rng)
    activities = [u.activity for u in users]
    by_day = {day: day_sessions(users, activities, day, city.scale, rng) for day in period.dates}
    broken = add_quirks(by_day, period, rng)
    cut_day = period.dates[min(3, period.days - 1)]
    files = []
    for day in period.dates:
        data = document(by_day[day])
        exported = local_midnight(day + timedelta(days=1)) + timedelta(hours=1, minutes=10)
        record = GeneratedFile(SOURCE, day_path(day), len(by_day[day]), exported, broken[day])
        if day != cut_day:
            files.append(LandingFile(record, data))
            continue
        cut = GeneratedFile(SOURCE, record.path, 0, exported, broken="truncated JSON (transfer cut off)")
        files.append(LandingFile(cut, data[: len(data) * 2 // 3]))
        again = GeneratedFile(
            SOURCE, day_path(day, "_2"), record.rows, exported + timedelta(hours=5), broken[day]
        )
        files.append(LandingFile(again, data))
    return files
