"""eservice_usage: one JSON array of sessions per file; user_ref replaced by a keyed pseudonym."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import polars as pl
import pytest

from ingestion.pseudonyms import MissingPseudonymKey, pseudonym

DISTRICTS = (
    "Rinkeby-Kista, Spånga-Tensta, Hässelby-Vällingby, Bromma, Kungsholmen, Norrmalm, Östermalm, "
    "Södermalm, Enskede-Årsta-Vantör, Skarpnäck, Farsta, Hägersten-Älvsjö, Skärholmen"
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def loaded(read: int, rejected: int = 0) -> dict:
    return {
        "status": "loaded",
        "rows_read": read,
        "rows_loaded": read - rejected,
        "rows_rejected": rejected,
        "bronze_rows": read - rejected,
        "quarantined_rows": rejected,
        "file_quarantined": False,
    }


def expected_pseudonym(user_ref: str, key: str) -> str:
    return "ps_" + hmac.new(key.encode(), user_ref.strip().encode(), hashlib.sha256).hexdigest()[:32]


def test_sessions_load_with_user_ref_replaced(landing, pseudonym_key, eservice_json, eservice_session):
    document = eservice_json(
        eservice_session(),
        eservice_session(channel="app", completed=False, district="Östermalm", user_ref="u-77aa"),
        eservice_session(channel="phone", started_at="2026-03-02T10:15:00", user_ref=" u-83b1c0ffee "),
    )
    landing.write("eservice_usage", "sessions-2026-03-02.json", document)
    [entry] = landing.ingest("eservice_usage")
    assert landing.outcome(entry) == loaded(3)
    rows = landing.bronze(entry)
    assert "user_ref" not in rows.columns
    assert rows["user_pseudonym"].to_list() == [
        expected_pseudonym("u-83b1c0ffee", pseudonym_key),
        expected_pseudonym("u-77aa", pseudonym_key),
        expected_pseudonym("u-83b1c0ffee", pseudonym_key),  # blanks around it are not part of it
    ]
    assert rows["user_pseudonym"][0] == pseudonym("u-83b1c0ffee", pseudonym_key)
    assert rows["completed"].to_list() == [True, False, True]
    assert rows["channel"].to_list() == ["web", "app", "phone"]
    assert rows["district"].to_list() == ["Bromma", "Östermalm", "Bromma"]
    assert rows["started_at"].to_list() == [utc("2026-03-02T09:15:00")] * 3
    assert rows["service_name"].to_list() == ["Ansök om bygglov"] * 3
    assert rows["_row_number"].to_list() == [1, 2, 3]  # array index + 1

    data = landing.bronze_path("eservice_usage", entry.sha256).read_bytes()
    values = rows.select(pl.all().cast(pl.String)).write_csv()
    ledger = (landing.paths.ledger / "eservice_usage.jsonl").read_text("utf-8")
    for user_ref in ("u-83b1c0ffee", "u-77aa", "83b1c0ffee"):
        assert user_ref.encode() not in data
        assert user_ref not in values
        assert user_ref not in ledger


def test_empty_array_is_a_file_with_no_sessions(landing, pseudonym_key):
    landing.write("eservice_usage", "quiet.json", " [ ]\n")
    [entry] = landing.ingest("eservice_usage")
    assert landing.outcome(entry) == loaded(0)


def _document(eservice_json, eservice_session) -> str:
    return eservice_json(
        eservice_session(), eservice_session(user_ref="u-2"), eservice_session(user_ref="u-3")
    )


UNREADABLE = [
    ("empty", lambda doc: "", "empty file"),
    ("cut-inside-an-element", lambda doc: doc[: doc.index('"u-2"')], "invalid JSON in element 2: "),
    ("cut-after-a-comma", lambda doc: doc[: doc.rindex("},") + 2], "invalid JSON in element 3: truncated"),
    ("cut-before-the-end", lambda doc: doc.rstrip()[:-1], "invalid JSON: truncated after element 3"),
    (
        "garbage-inside",
        lambda doc: doc.replace('"u-2"', "u-2", 1),
        "invalid JSON in element 2: Expecting value (line",
    ),
    (
        "missing-comma",
        lambda doc: doc.replace("},", "}", 1),
        "invalid JSON: expected ',' or ']' after element 1",
    ),
    ("extra-data", lambda doc: doc + "\n[]", "invalid JSON: extra data after the array"),
    (
        "object",
        lambda doc: json.dumps({"sessions": json.loads(doc)}),
        "expected a JSON array of records, got an object",
    ),
    (
        "json-lines",
        lambda doc: "\n".join(json.dumps(s) for s in json.loads(doc)),
        "invalid JSON: expected an array",
    ),
    ("number", lambda doc: "42", "expected a JSON array of records, got a number"),
    ("nested-too-deep", lambda doc: "[" * 100_000 + "]" * 100_000, "invalid JSON: nested too deeply"),
]


@pytest.mark.parametrize(("damage", "reason"), [c[1:] for c in UNREADABLE], ids=[c[0] for c in UNREADABLE])
def test_broken_document_is_quarantined_byte_for_byte(
    landing, pseudonym_key, eservice_json, eservice_session, damage, reason
):
    original = landing.write(
        "eservice_usage", "sessions.json", damage(_document(eservice_json, eservice_session))
    )
    [entry] = landing.ingest("eservice_usage")
    landing.assert_file_rejected(entry, original, reason)
    assert "u-2" not in entry.reason


@pytest.mark.parametrize(
    ("element", "reason"),
    [
        ("5", "not a JSON object but a number"),
        ("null", "not a JSON object but null"),
        ('"u-secret"', "not a JSON object but a string"),
        ('[{"user_ref": "u-secret"}]', "not a JSON object but an array"),
        (
            '{"channel": {"kind": "web"}, "user_ref": "u-secret"}',
            "channel: expected a single value, got dict",
        ),
        ('{"completed": NaN, "user_ref": "u-secret"}', "invalid JSON: NaN is not valid JSON"),
        ('{"user_ref": "u-secret\\ud800"}', "user_ref: invalid JSON string (a lone surrogate escape)"),
    ],
    ids=["number", "null", "string", "array", "nested-value", "nan", "lone-surrogate"],
)
def test_element_that_is_not_a_flat_record_rejects_only_itself(
    landing, pseudonym_key, eservice_json, eservice_session, element, reason
):
    document = (
        "[" + ",\n".join([json.dumps(eservice_session()), element, json.dumps(eservice_session())]) + "]"
    )
    landing.write("eservice_usage", "sessions.json", document)
    [entry] = landing.ingest("eservice_usage")
    assert landing.outcome(entry) == loaded(3, rejected=1)
    assert landing.rejections(entry) == {2: reason}
    assert landing.quarantined_raw(entry)[2] == element  # as it stood in the document


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"channel": "fax"}, "channel: value is not one of web, app, phone"),
        ({"channel": None}, "channel: missing"),
        ({"completed": "kanske"}, "completed: not a boolean"),
        ({"completed": None}, "completed: missing"),
        ({"started_at": "yesterday"}, "started_at: not an ISO 8601 timestamp"),
        (
            {"started_at": "2026-03-29T02:30:00"},
            "started_at: local time does not exist (daylight-saving gap)",
        ),
        ({"district": "Solna"}, f"district: value is not one of {DISTRICTS}"),
        ({"service_id": ""}, "service_id: missing"),
        ({"user_ref": None}, "user_ref: missing"),
        ({"user_ref": "   "}, "user_ref: missing"),
    ],
    ids=[
        "unknown-channel",
        "no-channel",
        "completed-text",
        "completed-null",
        "time-text",
        "dst-spring-gap",
        "district-outside-the-city",
        "service-id-empty",
        "user-ref-null",
        "user-ref-blank",
    ],
)
def test_session_breaking_the_contract_is_quarantined_without_quoting_values(
    landing, pseudonym_key, eservice_json, eservice_session, fields, reason
):
    bad = eservice_session(**fields)
    landing.write(
        "eservice_usage", "sessions.json", eservice_json(eservice_session(), bad, eservice_session())
    )
    [entry] = landing.ingest("eservice_usage")
    assert landing.outcome(entry) == loaded(3, rejected=1)
    assert landing.rejections(entry) == {2: reason}
    assert json.loads(landing.quarantined_raw(entry)[2]) == bad


def test_missing_field_is_missing_not_an_error(landing, pseudonym_key, eservice_json, eservice_session):
    without_district = eservice_session()
    del without_district["district"]
    landing.write("eservice_usage", "sessions.json", eservice_json(without_district))
    [entry] = landing.ingest("eservice_usage")
    assert landing.rejections(entry) == {1: "district: missing"}


def test_same_user_in_two_files_has_one_pseudonym(landing, pseudonym_key, eservice_json, eservice_session):
    landing.write("eservice_usage", "a.json", eservice_json(eservice_session(user_ref="u-1")))
    landing.write(
        "eservice_usage",
        "b.json",
        eservice_json(eservice_session(user_ref="u-2"), eservice_session(user_ref="u-1")),
    )
    a, b = landing.ingest("eservice_usage")
    first, later = (
        landing.bronze(a)["user_pseudonym"].to_list(),
        landing.bronze(b)["user_pseudonym"].to_list(),
    )
    assert later[1] == first[0] != later[0]


def test_without_the_key_nothing_is_ingested(landing, no_pseudonym_key, eservice_json, eservice_session):
    landing.write("eservice_usage", "sessions.json", eservice_json(eservice_session()))
    with pytest.raises(
        MissingPseudonymKey, match="^eservice_usage: not ingested: STADSDATA_PSEUDONYM_KEY is not set"
    ):
        landing.ingest("eservice_usage")
    assert not (landing.paths.ledger / "eservice_usage.jsonl").exists()
    assert [p.name for p in (landing.paths.bronze / "eservice_usage").iterdir()] == ["_schema.parquet"]
