"""The privacy gate: each rule with a case it lets through and a case it stops, on real
Parquet and CSV files written by DuckDB, and the gate stopping a real publish_release."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.pseudonyms import pseudonym
from publishing import (
    Column,
    NotPublishable,
    OpenDataset,
    PrivacyViolation,
    open_datasets_from_manifest,
    publish_release,
)
from publishing.privacy import PSEUDONYM_PATTERN, check_privacy, flag_personnummer, flag_pseudonyms
from publishing.suppression import Suppression

CARE_COLUMNS = [
    Column("district", "string"),
    Column("month", "string"),
    Column("visit_type", "string"),
    Column("visits", "integer"),
]
CARE_TABLE = "district VARCHAR, month VARCHAR, visit_type VARCHAR, visits INTEGER"
CARE_RULE = Suppression(
    min_count=5,
    count_columns=("visits",),
    dimensions=("district", "month", "visit_type"),
    totals={"visit_type": "Alla"},
)
# Care visits per district, month and visit type, with the total per district and month
# (visit_type 'Alla'). None is a suppressed cell. Every line is protected: where a count
# of 1-4 is hidden, a second cell is hidden too, and the hidden cells together hold at
# least 5. Zero is published.
PROTECTED = [
    ("Södermalm", "2026-01", "Kamera", 12),
    ("Södermalm", "2026-01", "Larm", None),  # 3
    ("Södermalm", "2026-01", "Besök", None),  # 2
    ("Södermalm", "2026-01", "Alla", 17),
    ("Södermalm", "2026-02", "Kamera", 20),
    ("Södermalm", "2026-02", "Larm", 9),
    ("Södermalm", "2026-02", "Besök", 0),
    ("Södermalm", "2026-02", "Alla", 29),
    ("Bromma", "2026-01", "Kamera", None),  # 4
    ("Bromma", "2026-01", "Larm", None),  # 1
    ("Bromma", "2026-01", "Besök", 11),
    ("Bromma", "2026-01", "Alla", 16),
]


def write_dataset(folder: Path, name: str, columns: str, rows: list[tuple]) -> None:
    """`<name>.parquet` and `<name>.csv` as the release writes them: Parquet first, CSV from it."""
    folder.mkdir(parents=True, exist_ok=True)
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE t ({columns})")
        if rows:
            con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(rows[0]))})", rows)
        con.execute(f"COPY t TO '{parquet}' (FORMAT parquet)")
        con.execute(f"COPY (FROM '{parquet}') TO '{csv}' (FORMAT csv, HEADER true)")


def dataset(name: str, columns: list[Column], **fields) -> OpenDataset:
    return OpenDataset(name, name, "", "aldre", "open", "CC0-1.0", "monthly", columns, [], **fields)


def care_dataset(rule: Suppression = CARE_RULE) -> OpenDataset:
    return dataset("open_care_visits", CARE_COLUMNS, suppression=rule)


def check_care(tmp_path: Path, rows: list[tuple], rule: Suppression = CARE_RULE) -> list[str]:
    """The problems the gate finds in a care-visits table; empty when it passes."""
    folder = tmp_path / "release"
    write_dataset(folder, "open_care_visits", CARE_TABLE, rows)
    try:
        check_privacy(folder, [care_dataset(rule)])
    except PrivacyViolation as violation:
        assert str(violation).startswith("privacy gate")
        return violation.problems
    return []


def replaced(rows: list[tuple], **cells: int | None) -> list[tuple]:
    """The rows with some cells' counts replaced; a cell is named `<district>_<month>_<type>`."""
    changes = {tuple(key.split("_")): value for key, value in cells.items()}
    return [(d, m, t, changes.get((d, m, t), v)) for d, m, t, v in rows]


# --- (c) small counts, (d) complementary suppression -------------------------------------------


def test_a_protected_table_with_zeros_passes(tmp_path):
    assert check_care(tmp_path, PROTECTED) == []


def test_a_published_count_below_min_count_is_refused_in_both_files(tmp_path):
    rows = replaced(PROTECTED, **{"Södermalm_2026-02_Besök": 3, "Södermalm_2026-02_Alla": 32})
    problems = check_care(tmp_path, rows)
    assert len(problems) == 2, problems
    for problem, file_name in zip(
        problems, ("open_care_visits.csv", "open_care_visits.parquet"), strict=True
    ):
        assert problem.startswith(f"open_care_visits: column visits in {file_name}: 1 cell(s)")
        assert "below 5" in problem and "district=Södermalm, month=2026-02, visit_type=Besök" in problem


def test_a_small_total_is_refused_too(tmp_path):
    rows = [
        ("Bromma", "2026-03", "Kamera", 0),
        ("Bromma", "2026-03", "Larm", None),
        ("Bromma", "2026-03", "Alla", 2),
    ]
    problems = check_care(tmp_path, rows)
    assert any("visit_type=Alla" in p and "below 5" in p for p in problems), problems


def test_one_suppressed_cell_beside_its_total_is_refused(tmp_path):
    rows = replaced(
        PROTECTED, **{"Bromma_2026-01_Kamera": 8, "Bromma_2026-01_Alla": 20}
    )  # Larm (1) alone hidden
    problems = check_care(tmp_path, rows)
    assert problems == [
        "open_care_visits: column visits: the suppressed cell (district=Bromma, month=2026-01, "
        "visit_type=Larm) equals its total over visit_type minus the other cells"
    ]


def test_a_suppressed_total_over_published_cells_is_refused(tmp_path):
    rows = replaced(PROTECTED, **{"Södermalm_2026-02_Alla": None})
    problems = check_care(tmp_path, rows)
    assert problems == [
        "open_care_visits: column visits: the suppressed cell (district=Södermalm, month=2026-02, "
        "visit_type=Alla) equals the sum of the published cells it totals"
    ]


def test_suppressed_cells_that_together_count_fewer_than_min_count_are_refused(tmp_path):
    # Kamera 1 and Larm 2 hidden, Besök 13 published: the hidden pair is a group of 3
    rows = replaced(PROTECTED, **{"Bromma_2026-01_Besök": 13})
    problems = check_care(tmp_path, rows)
    assert len(problems) == 1 and problems[0].startswith("open_care_visits: column visits: ")
    assert "(district=Bromma, month=2026-01, visit_type=Alla) over visit_type" in problems[0]
    assert "2 suppressed cells together count fewer than 5" in problems[0]


def test_with_min_count_2_every_hidden_cell_is_a_one_and_a_total_reveals_them(tmp_path):
    rule = Suppression(2, ("visits",), ("district", "month", "visit_type"), {"visit_type": "Alla"})
    rows = [
        ("Kista", "2026-01", "Kamera", None),
        ("Kista", "2026-01", "Larm", None),
        ("Kista", "2026-01", "Besök", 9),
        ("Kista", "2026-01", "Alla", 11),
    ]
    problems = check_care(tmp_path, rows, rule)
    assert len(problems) == 1 and "each of its 2 suppressed cells is 1" in problems[0]
    # without the total nothing is revealed, and the rule still holds
    assert check_care(tmp_path / "without", rows[:3], rule) == []


def test_a_total_that_is_not_the_sum_of_its_cells_is_refused(tmp_path):
    rows = replaced(PROTECTED, **{"Södermalm_2026-02_Alla": 30})
    problems = check_care(tmp_path, rows)
    assert problems == [
        "open_care_visits: column visits: the total (district=Södermalm, month=2026-02, visit_type=Alla) "
        "over visit_type is not the sum of its cells, as the declaration says it is"
    ]


TWO_MARGINS = Suppression(
    5, ("visits",), ("district", "month", "visit_type"), {"visit_type": "Alla", "district": "Hela staden"}
)


def two_margin_table(bromma_larm: int | None) -> list[tuple]:
    """One month with totals both per district (visit_type 'Alla') and per type ('Hela staden').
    True counts: Södermalm 12/3/2, Bromma 8/9/4."""
    return [
        ("Södermalm", "2026-01", "Kamera", 12),
        ("Södermalm", "2026-01", "Larm", None),
        ("Södermalm", "2026-01", "Besök", None),
        ("Södermalm", "2026-01", "Alla", 17),
        ("Bromma", "2026-01", "Kamera", 8),
        ("Bromma", "2026-01", "Larm", bromma_larm),
        ("Bromma", "2026-01", "Besök", None),
        ("Bromma", "2026-01", "Alla", 21),
        ("Hela staden", "2026-01", "Kamera", 20),
        ("Hela staden", "2026-01", "Larm", 12),
        ("Hela staden", "2026-01", "Besök", 6),
        ("Hela staden", "2026-01", "Alla", 38),
    ]


def test_two_margins_protected_by_a_second_hidden_cell_pass(tmp_path):
    assert check_care(tmp_path, two_margin_table(bromma_larm=None), TWO_MARGINS) == []


def test_recovery_follows_a_chain_through_both_margins(tmp_path):
    # Bromma's Besök is alone in its row; once known, Södermalm's Besök follows from the
    # city-wide Besök total, and then Södermalm's Larm from Södermalm's total.
    problems = check_care(tmp_path, two_margin_table(bromma_larm=9), TWO_MARGINS)
    recovered = sorted(p.split("(")[1].split(")")[0] for p in problems)
    assert recovered == [
        "district=Bromma, month=2026-01, visit_type=Besök",
        "district=Södermalm, month=2026-01, visit_type=Besök",
        "district=Södermalm, month=2026-01, visit_type=Larm",
    ]
    assert all(p.startswith("open_care_visits: column visits: the suppressed cell") for p in problems)


def test_a_missing_row_counts_as_a_published_zero(tmp_path):
    # Besök has no row at all: Larm is then the only unknown of the line
    rows = [
        ("Kista", "2026-01", "Kamera", 7),
        ("Kista", "2026-01", "Larm", None),
        ("Kista", "2026-01", "Alla", 10),
    ]
    problems = check_care(tmp_path, rows)
    assert len(problems) == 1 and "visit_type=Larm) equals its total" in problems[0]


def test_dimensions_that_do_not_name_one_row_stop_the_audit(tmp_path):
    problems = check_care(tmp_path, [*PROTECTED, ("Bromma", "2026-01", "Besök", 11)])
    assert len(problems) == 1 and "do not name one row each (1 repeated" in problems[0]


# --- (a) columns ----------------------------------------------------------------------------


def test_only_declared_columns_that_are_not_pii_may_be_published(tmp_path):
    folder = tmp_path / "release"
    write_dataset(
        folder, "open_visits", "district VARCHAR, visits INTEGER, person_ref VARCHAR", [("Kista", 7, "x")]
    )
    counted = [Column("district", "string"), Column("visits", "integer")]
    check_privacy(folder, [dataset("open_visits", [*counted, Column("person_ref", "string")])])  # passes
    undeclared = dataset("open_visits", counted)
    marked = dataset("open_visits", [*counted, Column("person_ref", "string", pii=True)])
    for refused, rule in ((undeclared, "is not a declared column"), (marked, "is marked pii")):
        with pytest.raises(PrivacyViolation) as caught:
            check_privacy(folder, [refused])
        assert caught.value.problems == [
            f"open_visits: column person_ref in open_visits.csv {rule}",
            f"open_visits: column person_ref in open_visits.parquet {rule}",
        ]


def test_a_data_file_of_no_dataset_is_refused(tmp_path):
    folder = tmp_path / "release"
    write_dataset(folder, "open_visits", "district VARCHAR", [("Kista",)])
    write_dataset(folder, "care_extract", "district VARCHAR", [("Kista",)])
    with pytest.raises(PrivacyViolation) as caught:
        check_privacy(folder, [dataset("open_visits", [Column("district", "string")])])
    assert caught.value.problems == [
        "care_extract.csv: a data file that belongs to no dataset",
        "care_extract.parquet: a data file that belongs to no dataset",
    ]


# --- (b) personnummer and pseudonyms ---------------------------------------------------------


FOUND = [
    "19811218-9876",
    "811218-9876",
    "811218+9876",  # over 100 years old
    "8112189876",
    "198112189876",
    "Besökt av 19811218-9876 i går",
    "tel 08-811218-9876",
    "id:8112189876;",
    "811278-9873",  # samordningsnummer: day 18 + 60
    "20000229-0005",  # leap day
]
NOT_FOUND = [
    "19811218-9875",  # wrong check digit
    "8112189875",
    "811218 9876",  # a space is no personnummer separator
    "81121898761",  # 11 digits
    "21811218-9876",  # no century 21
    "811232-9876",  # day 32
    "811300-9876",  # month 13
    "19000229-0005",  # 1900 was no leap year (the check digit is right)
    "2026-10-25T00:30:00Z",
    "0701234567",  # a phone number: a date, but the check digit fails
    "[18.0712, 59.8112189876]",  # a coordinate whose fraction happens to be a valid number
    "212000-0142",  # the city's organisationsnummer
    "1234567890",
    "AQ-0012",
    "",
]


def test_personnummer_forms_are_found_and_ordinary_values_are_not():
    flags = flag_personnummer(FOUND + NOT_FOUND)
    assert dict(zip(FOUND + NOT_FOUND, flags, strict=True)) == {
        **dict.fromkeys(FOUND, True),
        **dict.fromkeys(NOT_FOUND, False),
    }


def luhn_digit(nine: str) -> str:
    total = sum(sum(divmod(int(d) * (2 - i % 2), 10)) for i, d in enumerate(nine))
    return str((10 - total % 10) % 10)


person = st.tuples(
    st.dates(min_value=date(1890, 1, 1), max_value=date(2025, 12, 31)),
    st.integers(0, 999),
    st.sampled_from(["{c}{ymd}-{n}", "{c}{ymd}{n}", "{ymd}-{n}", "{ymd}+{n}", "{ymd}{n}"]),
    st.tuples(
        st.sampled_from(["", "pnr ", "nr.", "59.25 ", "x;", "("]),
        st.sampled_from(["", " ok", ";y", ")", "."]),
    ),
    st.booleans(),  # a samordningsnummer
)


@settings(max_examples=10, deadline=None)
@given(people=st.lists(person, min_size=20, max_size=20))
def test_every_valid_personnummer_is_found_and_a_wrong_check_digit_is_not(people):
    texts, expected = [], []
    for born, serial, form, (before, after), coordination in people:
        ymd = f"{born:%y%m}{born.day + (60 if coordination else 0):02d}"
        right = luhn_digit(f"{ymd}{serial:03d}")
        wrong = str((int(right) + 1 + serial % 9) % 10)
        for check, found in ((right, True), (wrong, False)):
            text = form.format(c=f"{born:%Y}"[:2], ymd=ymd, n=f"{serial:03d}{check}")
            texts.append(f"{before}{text}{after}")
            expected.append(found)
    assert dict(zip(texts, flag_personnummer(texts), strict=True)) == dict(zip(texts, expected, strict=True))


def test_pseudonyms_as_ingestion_makes_them_are_found():
    made = pseudonym("19811218-9876", "k" * 32, kind="personnummer")
    assert re.fullmatch(PSEUDONYM_PATTERN, made)
    found = [made, made.upper(), f"person {made}, visited", f"{made};{made}"]
    not_found = [made[:-1], made + "0", "x" + made, "ps_" + "g" * 32, "ps-" + made[3:]]
    assert flag_pseudonyms(found + not_found) == [True] * len(found) + [False] * len(not_found)


def test_personal_values_are_found_in_every_file_and_column_without_being_quoted(tmp_path):
    folder = tmp_path / "release"
    made = pseudonym("811218-9876", "k" * 32)
    rows = [
        ("Kista", "Uppringd av 811218-9876", 1, None),
        ("Bromma", f"ref {made}", 2, 198112189876),
        ("Älvsjö", "inget särskilt 0701234567", 3, 1234567890),
    ]
    write_dataset(folder, "open_feedback", "district VARCHAR, comment VARCHAR, n INTEGER, code BIGINT", rows)
    columns = [Column("district", "string"), Column("comment", "string"), Column("n", "integer")]
    feedback = dataset("open_feedback", [*columns, Column("code", "integer")])
    with pytest.raises(PrivacyViolation) as caught:
        check_privacy(folder, [feedback])
    assert caught.value.problems == [
        "open_feedback: column comment in open_feedback.csv: 1 value(s) look like a personnummer",
        "open_feedback: column comment in open_feedback.csv: 1 value(s) look like a pseudonym",
        "open_feedback: column code in open_feedback.csv: 1 value(s) look like a personnummer",
        "open_feedback: column comment in open_feedback.parquet: 1 value(s) look like a personnummer",
        "open_feedback: column comment in open_feedback.parquet: 1 value(s) look like a pseudonym",
        "open_feedback: column code in open_feedback.parquet: 1 value(s) look like a personnummer",
    ]
    message = str(caught.value)
    assert "9876" not in message and made not in message


def test_every_problem_of_every_dataset_is_reported_at_once(tmp_path):
    folder = tmp_path / "release"
    write_dataset(folder, "open_feedback", "comment VARCHAR", [("811218-9876",)])
    write_dataset(
        folder, "open_care_visits", CARE_TABLE, replaced(PROTECTED, **{"Södermalm_2026-02_Alla": None})
    )
    feedback = dataset("open_feedback", [Column("comment", "string")])
    with pytest.raises(PrivacyViolation) as caught:
        check_privacy(folder, [feedback, care_dataset()])
    named = [p.split(":")[0:2] for p in caught.value.problems]
    assert ["open_feedback", " column comment in open_feedback.csv"] in named
    assert ["open_care_visits", " column visits"] in named


# --- the declaration in the manifest, and the gate in a real release -----------------------


def manifest_column(name: str, data_type: str) -> dict:
    return {
        "name": name,
        "description": name,
        "data_type": data_type,
        "meta": {},
        "config": {"meta": {}},
        "constraints": [],
    }


def manifest_model(name: str, columns: dict[str, str], key: list[str], **meta) -> dict:
    meta = {
        "owner": "aldre",
        "classification": "open",
        "pii": False,
        "license": "CC0-1.0",
        "update_frequency": "monthly",
        "title_sv": "Tillsynsbesök",
        "title_en": "Supervision visits",
        "description_sv": "Besök per stadsdelsområde och månad.",
        "themes": ["HEAL"],
        "primary_key": key,
        **meta,
    }
    return {
        "name": name,
        "resource_type": "model",
        "unique_id": f"model.stadsdata.{name}",
        "schema": "main",
        "alias": name,
        "description": "Care supervision visits per district and month.",
        "columns": {c: manifest_column(c, t) for c, t in columns.items()},
        "meta": meta,
        "config": {"meta": meta},
        "constraints": [],
    }


CARE_MODEL_COLUMNS = {"district": "varchar", "month": "varchar", "visit_type": "varchar", "visits": "integer"}
CARE_DECLARATION = {
    "min_count": 5,
    "count_columns": ["visits"],
    "dimensions": ["district", "month", "visit_type"],
    "totals": {"visit_type": "Alla"},
}


def care_manifest(**meta) -> dict:
    node = manifest_model("open_care_visits", CARE_MODEL_COLUMNS, ["district", "month", "visit_type"], **meta)
    return {"nodes": {node["unique_id"]: node}}


def test_the_manifest_declares_suppression():
    (dataset,) = open_datasets_from_manifest(care_manifest(suppression=CARE_DECLARATION))
    assert dataset.suppression == CARE_RULE
    (plain,) = open_datasets_from_manifest(care_manifest())
    assert plain.suppression is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"min_count": 1}, "suppression.min_count must be a whole number of at least 2"),
        ({"count_columns": ["visitors"]}, "suppression.count_columns: visitors is not a declared column"),
        ({"count_columns": ["district"]}, "suppression.count_columns: district is string, not a count"),
        ({"dimensions": []}, "suppression.dimensions must be a non-empty list"),
        ({"totals": {"year": "Alla"}}, "suppression.totals: year is not one of the dimensions"),
        ({"threshold": 5}, "suppression.threshold is not a known key"),
    ],
)
def test_a_wrong_declaration_is_refused_by_model_name(change, problem):
    with pytest.raises(NotPublishable) as caught:
        open_datasets_from_manifest(care_manifest(suppression={**CARE_DECLARATION, **change}))
    assert [p for p in caught.value.problems if p.startswith(f"open_care_visits: {problem}")], (
        caught.value.problems
    )


@pytest.mark.slow
def test_the_gate_stops_a_release_and_leaves_latest_untouched(tmp_path):
    warehouse = tmp_path / "stadsdata.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"CREATE TABLE open_care_visits ({CARE_TABLE})")
        con.executemany("INSERT INTO open_care_visits VALUES (?, ?, ?, ?)", PROTECTED)
        con.execute("CREATE TABLE open_feedback (district VARCHAR, comment VARCHAR)")
        con.execute("INSERT INTO open_feedback VALUES ('Kista', 'Bra bemötande')")
    feedback = manifest_model("open_feedback", {"district": "varchar", "comment": "varchar"}, ["district"])
    manifest = care_manifest(suppression=CARE_DECLARATION)
    manifest["nodes"][feedback["unique_id"]] = feedback
    datasets = open_datasets_from_manifest(manifest)
    releases = tmp_path / "releases"
    first = publish_release(warehouse, datasets, releases)
    before = sorted(p.name for p in releases.iterdir())

    with duckdb.connect(str(warehouse)) as con:  # a small count slips through, and a personnummer
        con.execute(
            "UPDATE open_care_visits SET visits = 3 WHERE district = 'Bromma' AND visit_type = 'Larm'"
        )
        con.execute("UPDATE open_feedback SET comment = 'Ring 19811218-9876'")
    with pytest.raises(PrivacyViolation) as caught:
        publish_release(warehouse, datasets, releases)
    problems = caught.value.problems
    assert any(
        p.startswith("open_care_visits: column visits in open_care_visits.parquet: 1 cell(s)")
        for p in problems
    )
    assert any(
        p.startswith("open_feedback: column comment in open_feedback.csv: 1 value(s)") for p in problems
    )
    assert os.readlink(releases / "latest") == first.id
    assert sorted(p.name for p in releases.iterdir()) == before
