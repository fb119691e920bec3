"""Invariants for the sources holding personal data, under arbitrary input.

Whatever follows valid rows, every row read is accounted for (see test_ingestion_properties),
and no identifier that was in the input appears outside the quarantine: not in bronze, not in
a reason, not in the ledger.
"""

import json
import re
import tempfile
from pathlib import Path

import polars as pl
from conftest import TEST_PSEUDONYM_KEY, luhn_completed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingestion_properties import assert_accounted_for, text_in

PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

people = st.sampled_from(
    [luhn_completed("19380412-482"), luhn_completed("19450371-123"), "19121212-1213", "191212121212"]
    + ["19451332-1234", "121212-1212", " 19421130-7716 "]
)
care_tokens = st.one_of(
    people,
    st.sampled_from(
        ["Bromma", "Södermalm", "Solna", "", "2026-03-02 23:30", "2026-03-29 02:30", "2026-10-25 02:00"]
    ),
    st.sampled_from(
        ["Kamera", "Larm", "Besök", "Telefon", "Ja", "Nej", "4", "-1", "2,5", '"', '"a;b"', "Summa"]
    ),
    st.text(max_size=10),
)
care_lines = st.lists(st.lists(care_tokens, max_size=8).map(";".join), max_size=8).map("\r\n".join)
care_tails = st.one_of(
    st.binary(max_size=300),
    care_lines.map(lambda text: text.encode("windows-1252", "replace")),
    care_lines.map(lambda text: text.encode("utf-8", "surrogatepass")),
)


def identifiers_in(data: bytes) -> set[str]:
    """Every personnummer-like run in the input, in the forms it could be stored in."""
    text = data.decode("windows-1252", "replace")
    found = set()
    for match in re.finditer(r"\d{6,8}-?\d{4}", text):
        digits = match.group().replace("-", "")
        found |= {match.group(), digits} | ({digits[2:]} if len(digits) == 12 else set())
    return {f for f in found if len(f.replace("-", "")) >= 10}


def assert_not_outside_quarantine(landing, entry, secrets: set[str], table: str) -> None:
    outside = [entry.reason or "", (landing.paths.ledger / f"{entry.source}.jsonl").read_text("utf-8")]
    outside += list(landing.rejections(entry).values()) if entry.status == "loaded" else []
    bronze = landing.bronze_path(table, entry.sha256)
    if bronze.exists():
        outside.append(pl.read_parquet(bronze).select(pl.all().cast(pl.String)).write_csv())
    for secret in secrets:
        assert all(secret not in text for text in outside), secret


@PROPERTY_SETTINGS
@given(
    tail=care_tails, with_valid_rows=st.booleans(), encoding=st.sampled_from(["windows-1252", "utf-8-sig"])
)
def test_anything_after_valid_care_rows_is_accounted_for_and_kept_private(
    tail, with_valid_rows, encoding, landing_at, care_csv, care_row
):
    rows = [care_row(district="Östermalm"), care_row(kind="Besök", minutes="")] if with_valid_rows else []
    data = care_csv(*rows).encode(encoding) + tail
    with tempfile.TemporaryDirectory() as home:
        landing = landing_at(Path(home))
        original = landing.write("care_supervision", "tillsyn.csv", data)
        [entry] = landing.ingest("care_supervision", pseudonym_key=TEST_PSEUDONYM_KEY)
        valid_rows = [2, 3] if with_valid_rows else []
        assert_accounted_for(landing, entry, original, valid_rows, text_in(data, encoding))
        assert_not_outside_quarantine(landing, entry, identifiers_in(data), "care_supervision")


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["web", "app", "phone", "Bromma", "2026-03-29T02:30:00", "2026-03-02T10:00:00Z", "true"]),
)
secret_refs = st.integers(min_value=0, max_value=10**6).map(lambda n: f"u-secret-{n}")
session_fields = st.sampled_from(
    ["service_id", "service_name", "started_at", "completed", "channel", "district"]
)
sessions = st.builds(
    lambda fields, ref: fields | {"user_ref": ref},
    st.dictionaries(session_fields, json_scalars, max_size=6),
    secret_refs,
)
elements = st.one_of(
    sessions,
    json_scalars,
    st.lists(json_scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), json_scalars, max_size=3),
)


@PROPERTY_SETTINGS
@given(
    extra=st.lists(elements, max_size=8),
    cut=st.one_of(st.none(), st.integers(min_value=0, max_value=2000)),
)
def test_any_session_array_or_cut_of_it_is_accounted_for_and_kept_private(
    extra, cut, landing_at, eservice_session
):
    valid = [eservice_session(user_ref="u-secret-valid-1"), eservice_session(user_ref="u-secret-valid-2")]
    document = json.dumps(valid + extra)
    document = document if cut is None else document[:cut]
    with tempfile.TemporaryDirectory() as home:
        landing = landing_at(Path(home))
        original = landing.write("eservice_usage", "sessions.json", document)
        [entry] = landing.ingest("eservice_usage", pseudonym_key=TEST_PSEUDONYM_KEY)
        whole = cut is None or cut >= len(json.dumps(valid + extra))
        assert_accounted_for(landing, entry, original, [1, 2] if whole else [], text=whole)
        if whole:
            assert entry.rows_read == 2 + len(extra)
        secrets = set(re.findall(r"u-secret-[\w-]+", document))
        assert_not_outside_quarantine(landing, entry, secrets, "eservice_usage")
