"""care_supervision: personnummer checked and replaced by a keyed pseudonym, never stored.

Only the quarantine (owner-only) may keep a rejected row as it came; bronze, the ledger
and every reason hold no personnummer in any of its forms.
"""

import hashlib
import hmac
import re
from datetime import UTC, datetime

import polars as pl
import pytest
from conftest import OTHER_PSEUDONYM_KEY

from ingestion.pseudonyms import KEY_VARIABLE, PSEUDONYM_PATTERN, MissingPseudonymKey

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


def expected_pseudonym(personnummer: str, key: str) -> str:
    """The documented formula, computed here independently of ingestion."""
    digits = personnummer.replace("-", "").encode()
    return "ps_" + hmac.new(key.encode(), digits, hashlib.sha256).hexdigest()[:32]


def forms(personnummer: str) -> list[str]:
    """Every way the number could be written down: with and without dash, 10 and 12 digits."""
    digits = personnummer.replace("-", "")
    return [personnummer, digits, digits[2:], f"{digits[2:8]}-{digits[8:]}"]


def assert_nowhere_outside_quarantine(landing, entry, personnummer: str) -> None:
    """No form of the number in bronze (values and file bytes) or in the ledger."""
    bronze_path = landing.bronze_path("care_supervision", entry.sha256)
    data = bronze_path.read_bytes()
    text = landing.bronze(entry).select(pl.all().cast(pl.String)).write_csv()
    ledger = (landing.paths.ledger / "care_supervision.jsonl").read_text("utf-8")
    for form in forms(personnummer):
        assert form.encode() not in data
        assert form not in text
        assert form not in ledger


@pytest.mark.parametrize(
    ("encoding", "newline"),
    [("windows-1252", "\r\n"), ("windows-1252", "\n"), ("utf-8-sig", "\r\n"), ("utf-8", "\r\n")],
)
def test_export_reads_the_same_in_each_encoding(
    landing, pseudonym_key, care_csv, care_row, personnummer, encoding, newline
):
    anna, bertil = personnummer("19380412-482"), personnummer("19421130-771")
    text = care_csv(
        care_row(person=anna, district="Östermalm", visited="2026-03-02 23:30", kind="Besök"),
        care_row(person=bertil, district="Hägersten-Älvsjö", kind="Larm", minutes="", done="Nej"),
        care_row(person=anna, visited="2026-03-03 01:05", kind="Kamera", minutes="2,5"),
        newline=newline,
    )
    landing.write("care_supervision", "tillsyn.csv", text, encoding=encoding)
    [entry] = landing.ingest("care_supervision")
    assert landing.outcome(entry) == loaded(3)
    rows = landing.bronze(entry)
    assert rows.columns[:6] == [
        "person_pseudonym",
        "district",
        "visited_at",
        "intervention_type",
        "duration_min",
        "performed",
    ]
    assert rows["person_pseudonym"].to_list() == [
        expected_pseudonym(anna, pseudonym_key),
        expected_pseudonym(bertil, pseudonym_key),
        expected_pseudonym(anna, pseudonym_key),
    ]
    assert all(re.fullmatch(PSEUDONYM_PATTERN, p) for p in rows["person_pseudonym"])
    assert rows["district"].to_list() == ["Östermalm", "Hägersten-Älvsjö", "Bromma"]
    assert rows["visited_at"].to_list() == [
        utc("2026-03-02T22:30:00"),
        utc("2026-03-02T22:30:00"),
        utc("2026-03-03T00:05:00"),
    ]
    assert rows["intervention_type"].to_list() == ["Besök", "Larm", "Kamera"]
    assert rows["duration_min"].to_list() == [4.0, None, 2.5]  # empty stays missing, not 0
    assert rows["performed"].to_list() == [True, False, True]
    for number in (anna, bertil):
        assert_nowhere_outside_quarantine(landing, entry, number)


def test_rejected_rows_keep_the_number_only_in_the_private_quarantine(
    landing, pseudonym_key, care_csv, care_row, personnummer
):
    good = personnummer("19380412-482")
    bad_check_digit = good[:-1] + str((int(good[-1]) + 1) % 10)
    wrong_district = personnummer("19290101-338")
    rows = [
        care_row(person=good),
        care_row(person=bad_check_digit),
        care_row(person=wrong_district, district="Solna"),
    ]
    landing.write("care_supervision", "tillsyn.csv", care_csv(*rows), encoding="windows-1252")
    [entry] = landing.ingest("care_supervision")
    assert landing.outcome(entry) == loaded(3, rejected=2)
    assert landing.rejections(entry) == {
        3: "Personnummer: invalid check digit",
        4: f"district: value is not one of {DISTRICTS}",
    }
    assert landing.quarantined_raw(entry) == {3: rows[1], 4: rows[2]}  # kept as it came, to repair
    for number in (good, bad_check_digit, wrong_district):
        assert_nowhere_outside_quarantine(landing, entry, number)
    quarantine = landing.paths.quarantine / "care_supervision"
    assert (quarantine.stat().st_mode & 0o777, (quarantine / "rows").stat().st_mode & 0o777) == (0o700, 0o700)
    assert landing.rows_path(entry).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("person", "reason"),
    [
        ("19121212-1213", "Personnummer: invalid check digit"),
        ("121212-1212", "Personnummer: not in the form YYYYMMDD-NNNN"),
        ("191212121212", "Personnummer: not in the form YYYYMMDD-NNNN"),
        ("19121212+1212", "Personnummer: not in the form YYYYMMDD-NNNN"),
        ("1912121a-1212", "Personnummer: not in the form YYYYMMDD-NNNN"),
        ("19121212-12120", "Personnummer: not in the form YYYYMMDD-NNNN"),
        ("19451332-1234", "Personnummer: not a valid date of birth"),
        ("19450230-1234", "Personnummer: not a valid date of birth"),
        ("19450100-1234", "Personnummer: not a valid date of birth"),
        ("", "Personnummer: missing"),
    ],
    ids=[
        "check-digit",
        "ten-digits",
        "no-dash",
        "plus-sign",
        "letter",
        "too-long",
        "month-13",
        "february-30",
        "day-0",
        "empty",
    ],
)
def test_invalid_personnummer_rejects_the_row_without_quoting_it(
    landing, pseudonym_key, care_csv, care_row, person, reason
):
    text = care_csv(care_row(), care_row(person=person), care_row(visited="2026-03-03 00:30"))
    landing.write("care_supervision", "tillsyn.csv", text, encoding="windows-1252")
    [entry] = landing.ingest("care_supervision")
    assert landing.outcome(entry) == loaded(3, rejected=1)
    assert landing.rejections(entry) == {3: reason}
    assert landing.quarantined_raw(entry) == {3: care_row(person=person)}


def test_valid_date_forms_pass_the_check(landing, pseudonym_key, care_csv, care_row, personnummer):
    """A leap day, a samordningsnummer (day + 60) and the number padded with blanks."""
    leap_day = personnummer("19480229-123")
    coordination = personnummer("19450371-123")  # born 11 March 1945
    padded = personnummer("19121212-121")
    text = care_csv(care_row(person=leap_day), care_row(person=coordination), care_row(person=f" {padded} "))
    landing.write("care_supervision", "tillsyn.csv", text, encoding="windows-1252")
    [entry] = landing.ingest("care_supervision")
    assert landing.outcome(entry) == loaded(3)
    assert landing.bronze(entry)["person_pseudonym"].to_list() == [
        expected_pseudonym(n, pseudonym_key) for n in (leap_day, coordination, padded)
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("Bromma;2026-03-02 23:30;Kamera;4", "expected 6 fields, found 5"),
        (";2026-03-02 23:30;Kamera;4;Ja", "district: missing"),
        ("Sundbyberg;2026-03-02 23:30;Kamera;4;Ja", f"district: value is not one of {DISTRICTS}"),
        (
            "Bromma;2026-03-02 23:30;Telefon;4;Ja",
            "intervention_type: value is not one of Kamera, Larm, Besök",
        ),
        ("Bromma;2026-03-02 23:30;Kamera;4;Kanske", "performed: not a boolean"),
        ("Bromma;2026-03-02 23:30;Kamera;4;", "performed: missing"),
        ("Bromma;2026-03-02 23:30;Kamera;-1;Ja", "duration_min: value is below 0"),
        ("Bromma;2026-03-02 23:30;Kamera;1441;Ja", "duration_min: value is above 1440"),
        ("Bromma;2026-03-02 23:30;Kamera;fyra;Ja", "duration_min: not a float"),
        (
            "Bromma;2026-03-02T23:30:00+01:00;Kamera;4;Ja",
            "visited_at: not a time in the form YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS",
        ),
        ("Bromma;2026-02-30 23:30;Kamera;4;Ja", "visited_at: not a time in the form"),
        ("Bromma;;Kamera;4;Ja", "visited_at: missing"),
        (
            "Bromma;2026-03-29 02:30;Kamera;4;Ja",
            "visited_at: local time does not exist (daylight-saving gap)",
        ),
    ],
    ids=[
        "too-few-fields",
        "district-empty",
        "district-outside-the-city",
        "unknown-insatstyp",
        "utford-not-ja-nej",
        "utford-empty",
        "duration-negative",
        "duration-over-a-day",
        "duration-text",
        "time-with-offset",
        "no-such-date",
        "time-empty",
        "dst-spring-gap",
    ],
)
def test_row_breaking_the_contract_is_quarantined_with_its_reason(
    landing, pseudonym_key, care_csv, care_row, personnummer, row, reason
):
    person = personnummer("19380412-482")
    text = care_csv(care_row(), f"{person};{row}", care_row(visited="2026-03-03 00:30"))
    landing.write("care_supervision", "tillsyn.csv", text, encoding="windows-1252")
    [entry] = landing.ingest("care_supervision")
    assert landing.outcome(entry) == loaded(3, rejected=1)
    reasons = landing.rejections(entry)
    assert list(reasons) == [3]
    assert reasons[3].startswith(reason)
    assert landing.quarantined_raw(entry) == {3: f"{person};{row}"}
    assert_nowhere_outside_quarantine(landing, entry, person)


def test_a_shifted_row_does_not_leak_the_number_through_another_columns_reason(
    landing, pseudonym_key, care_csv, personnummer
):
    """An export that lost its first field puts the number where the district belongs."""
    person = personnummer("19380412-482")
    shifted = f"Bromma;{person};2026-03-02 23:30;Kamera;4;Ja"
    landing.write("care_supervision", "tillsyn.csv", care_csv(shifted), encoding="windows-1252")
    [entry] = landing.ingest("care_supervision")
    assert landing.outcome(entry) == loaded(1, rejected=1)
    assert landing.rejections(entry) == {2: "Personnummer: not in the form YYYYMMDD-NNNN"}
    for name, row, reason in [
        ("district.csv", f"{person};{person};2026-03-02 23:30;Kamera;4;Ja", "district: value is not one of"),
        ("duration.csv", f"{person};Bromma;2026-03-02 23:30;Kamera;{person};Ja", "duration_min: not a float"),
        ("time.csv", f"{person};Bromma;{person};Kamera;4;Ja", "visited_at: not a time in the form"),
    ]:
        landing.write("care_supervision", name, care_csv(row), encoding="windows-1252")
        [entry] = landing.ingest("care_supervision")
        [kept] = landing.rejections(entry).values()
        assert kept.startswith(reason)
        assert all(form not in kept for form in forms(person))


def test_autumn_hour_twice_is_two_distinct_visits(landing, pseudonym_key, care_csv, care_row, personnummer):
    other = personnummer("19421130-771")
    text = care_csv(
        care_row(visited="2026-10-25 02:15"),  # CEST
        care_row(visited="2026-10-25 02:15", person=other),  # CEST, another person
        care_row(visited="2026-10-25 02:15"),  # CET: the hour again
        care_row(visited="2026-10-25 03:15"),
    )
    landing.write("care_supervision", "tillsyn.csv", text, encoding="windows-1252")
    [entry] = landing.ingest("care_supervision")
    assert landing.outcome(entry) == loaded(4)
    assert landing.bronze(entry)["visited_at"].to_list() == [
        utc("2026-10-25T00:15:00"),
        utc("2026-10-25T00:15:00"),
        utc("2026-10-25T01:15:00"),
        utc("2026-10-25T02:15:00"),
    ]


def test_file_without_its_header_is_rejected_without_quoting_its_first_line(
    landing, pseudonym_key, care_csv, care_row, personnummer
):
    person = personnummer("19380412-482")
    text = care_csv(care_row(person=person), care_row())
    original = landing.write("care_supervision", "tillsyn.csv", text.split("\r\n", 1)[1], "windows-1252")
    [entry] = landing.ingest("care_supervision")
    landing.assert_file_rejected(
        entry,
        original,
        "wrong header: expected 'Personnummer;Stadsdelsområde;Besökstid;Insatstyp;Varaktighet (min);Utförd'; "
        "missing Personnummer, Stadsdelsområde, Besökstid, Insatstyp, Varaktighet (min), Utförd "
        "(the first line is not quoted: the source holds personal data)",
    )
    assert all(form not in entry.reason for form in forms(person))
    ledger = (landing.paths.ledger / "care_supervision.jsonl").read_text("utf-8")
    assert all(form not in ledger for form in forms(person))


UNREADABLE = [
    ("empty.csv", b"", "empty file"),
    (
        "no-encoding-fits.csv",
        "Personnummer;Stadsdelsområde;Besökstid;Insatstyp;Varaktighet (min);Utförd\r\n".encode("cp1252")
        + b"19121212-1212;Bromma;2026-03-02 23:30;\x81\xc3;4;Ja\r\n",
        "not valid text in any accepted encoding (utf-8, windows-1252)",
    ),
    (
        "utf16.csv",
        "\ufeffPersonnummer;Stadsdelsområde\r\n".encode("utf-16-le"),
        "UTF-16 text is not an accepted encoding",
    ),
    (
        "comma.csv",
        b"Personnummer,Stadsdelsomr\xe5de,Bes\xf6kstid,Insatstyp,Varaktighet (min),Utf\xf6rd\r\n",
        "wrong header",
    ),
]


@pytest.mark.parametrize(("name", "data", "reason"), UNREADABLE, ids=[c[0] for c in UNREADABLE])
def test_unreadable_export_is_quarantined_byte_for_byte(landing, pseudonym_key, name, data, reason):
    original = landing.write("care_supervision", name, data)
    [entry] = landing.ingest("care_supervision")
    landing.assert_file_rejected(entry, original, reason)


def test_file_cut_mid_line_loses_only_the_cut_line(landing, pseudonym_key, care_csv, care_row):
    text = care_csv(care_row(), care_row(visited="2026-03-03 00:30"))
    landing.write("care_supervision", "cut.csv", text[: text.rindex(";Kamera")], "windows-1252")
    [entry] = landing.ingest("care_supervision")
    assert landing.outcome(entry) == loaded(2, rejected=1)
    assert landing.rejections(entry) == {3: "expected 6 fields, found 3"}


def test_pseudonyms_are_stable_across_files_and_differ_between_keys(
    landing, landing_at, tmp_path, pseudonym_key, care_csv, care_row, personnummer
):
    anna, bertil = personnummer("19380412-482"), personnummer("19421130-771")
    first = care_csv(care_row(person=anna), care_row(person=bertil))
    later = care_csv(care_row(person=bertil, visited="2026-03-04 22:00"), care_row(person=anna, kind="Larm"))
    landing.write("care_supervision", "2026-03-03.csv", first, "windows-1252")
    landing.write("care_supervision", "2026-03-04.csv", later, "windows-1252")
    a, b = landing.ingest("care_supervision")
    in_first = landing.bronze(a)["person_pseudonym"].to_list()
    in_later = landing.bronze(b)["person_pseudonym"].to_list()
    assert in_later == in_first[::-1]
    assert in_first[0] != in_first[1]

    elsewhere = landing_at(tmp_path / "other-home")
    elsewhere.write("care_supervision", "2026-03-03.csv", first, "windows-1252")
    [c] = elsewhere.ingest("care_supervision", pseudonym_key=OTHER_PSEUDONYM_KEY)
    with_other_key = elsewhere.bronze(c)["person_pseudonym"].to_list()
    assert with_other_key == [expected_pseudonym(n, OTHER_PSEUDONYM_KEY) for n in (anna, bertil)]
    assert set(with_other_key).isdisjoint(in_first)


def only_schema_files(landing, table: str) -> list[str]:
    return sorted(p.name for p in (landing.paths.bronze / table).iterdir())


def test_without_the_key_nothing_is_ingested_and_the_files_wait(
    landing, no_pseudonym_key, monkeypatch, care_csv, care_row, traffic_csv, traffic_row
):
    landing.write("care_supervision", "tillsyn.csv", care_csv(care_row()), "windows-1252")
    with pytest.raises(MissingPseudonymKey) as error:
        landing.ingest("care_supervision")
    assert str(error.value) == (
        "care_supervision: not ingested: STADSDATA_PSEUDONYM_KEY is not set; set "
        "STADSDATA_PSEUDONYM_KEY to a secret of at least 32 characters (its files stay in the "
        "landing zone until then)"
    )
    assert error.value.source == "care_supervision"
    assert not (landing.paths.ledger / "care_supervision.jsonl").exists()
    assert only_schema_files(landing, "care_supervision") == ["_schema.parquet"]  # no rows
    assert not (landing.paths.quarantine / "care_supervision").exists()

    landing.write("traffic_counts", "export.csv", traffic_csv(traffic_row()), "windows-1252")
    [other] = landing.ingest("traffic_counts")  # other sources go on without the key
    assert other.status == "loaded"

    monkeypatch.setenv(KEY_VARIABLE, "k" * 32)
    [entry] = landing.ingest("care_supervision")  # the next run with the key takes the file in
    assert (entry.file, entry.status, entry.rows_loaded) == ("care_supervision/tillsyn.csv", "loaded", 1)


def test_without_the_key_and_nothing_new_there_is_nothing_to_refuse(landing, monkeypatch, care_csv, care_row):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    assert landing.ingest("care_supervision") == []  # no files: the key is not needed
    landing.write("care_supervision", "tillsyn.csv", care_csv(care_row()), "windows-1252")
    monkeypatch.setenv(KEY_VARIABLE, "k" * 32)
    [entry] = landing.ingest("care_supervision")
    monkeypatch.delenv(KEY_VARIABLE)
    assert landing.ingest("care_supervision") == []  # all taken in already
    landing.write(
        "care_supervision", "tillsyn.csv", care_csv(care_row(), care_row(kind="Larm")), "windows-1252"
    )
    with pytest.raises(MissingPseudonymKey):  # same name, new content: a new file
        landing.ingest("care_supervision")
    assert landing.ledger("care_supervision") == [entry]


@pytest.mark.parametrize("key", ["k" * 31, " " * 40, "short" + " " * 30], ids=["31-chars", "blank", "padded"])
def test_a_short_key_is_refused_like_a_missing_one(landing, monkeypatch, care_csv, care_row, key):
    landing.write("care_supervision", "tillsyn.csv", care_csv(care_row()), "windows-1252")
    monkeypatch.setenv(KEY_VARIABLE, key)
    with pytest.raises(MissingPseudonymKey, match="^care_supervision: not ingested: STADSDATA_PSEUDONYM_KEY"):
        landing.ingest("care_supervision")
    with pytest.raises(MissingPseudonymKey, match="shorter than 32 characters|is not set"):
        landing.ingest("care_supervision", pseudonym_key=key)
    assert not (landing.paths.ledger / "care_supervision.jsonl").exists()


def test_same_export_twice_is_loaded_once(landing, pseudonym_key, care_csv, care_row):
    text = care_csv(care_row())
    landing.write("care_supervision", "tillsyn.csv", text, "windows-1252")
    landing.write("care_supervision", "tillsyn (1).csv", text, "windows-1252")
    first, second = landing.ingest("care_supervision")
    assert (first.status, second.status) == ("loaded", "duplicate")
    assert landing.ingest("care_supervision") == []
