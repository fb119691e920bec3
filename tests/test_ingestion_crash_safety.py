"""A run that dies at any point leaves nothing half-written, and the next run finishes the job."""

import datetime
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from ingestion.ledger import Ledger, read_entries

REPO_ROOT = Path(__file__).resolve().parents[1]


def ledger_lines(landing, source: str) -> list[dict]:
    """Every line of a source's ledger parsed as JSON: fails on a torn or garbled line."""
    text = (landing.paths.ledger / f"{source}.jsonl").read_text("utf-8")
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_torn_last_ledger_line_is_cut_on_open_and_the_next_append_is_readable(
    landing, traffic_csv, traffic_row
):
    landing.write("traffic_counts", "a.csv", traffic_csv(traffic_row()))
    landing.write("traffic_counts", "b.csv", traffic_csv(traffic_row(hour="8")))
    first, second = landing.ingest("traffic_counts")
    path = landing.paths.ledger / "traffic_counts.jsonl"
    whole = path.read_bytes()
    line = json.dumps({"source": "traffic_counts", "file": "traffic_counts/c.csv", "sha256": "ab"})
    path.write_bytes(whole + line.encode()[:40])  # the crash came mid-append

    assert list(read_entries(path)) == [first, second]  # readers skip it before any repair
    assert Ledger(landing.paths.ledger, "traffic_counts").entries == [first, second]
    assert path.read_bytes() == whole  # opening the ledger cut the torn tail

    landing.write("traffic_counts", "c.csv", traffic_csv(traffic_row(hour="9")))
    [third] = landing.ingest("traffic_counts")
    assert [line["file"] for line in ledger_lines(landing, "traffic_counts")] == [
        "traffic_counts/a.csv",
        "traffic_counts/b.csv",
        "traffic_counts/c.csv",
    ]
    assert landing.ledger("traffic_counts") == [first, second, third]


def test_ledger_line_cut_just_before_its_newline_is_done_again(landing, traffic_csv, traffic_row):
    """A line is only durable with its newline; without it the file is processed anew, once."""
    landing.write("traffic_counts", "a.csv", traffic_csv(traffic_row(), traffic_row(hour="x")))
    [entry] = landing.ingest("traffic_counts")
    path = landing.paths.ledger / "traffic_counts.jsonl"
    path.write_bytes(path.read_bytes()[:-1])
    [again] = landing.ingest("traffic_counts")
    assert (again.file, again.sha256, again.status) == (entry.file, entry.sha256, "loaded")
    assert [line["status"] for line in ledger_lines(landing, "traffic_counts")] == ["loaded"]
    assert landing.outcome(again) == landing.outcome(entry)


def test_bronze_written_without_its_ledger_line_is_redone_without_duplicates(
    landing, traffic_csv, traffic_row, air_quality_jsonl, air_quality_record
):
    landing.write("traffic_counts", "a.csv", traffic_csv(traffic_row(), traffic_row(count="x")))
    landing.write("traffic_counts", "b.csv", traffic_csv(traffic_row(hour="8")))
    first, second = landing.ingest("traffic_counts")
    bronze_before = landing.bronze(second)
    # The crash: bronze and quarantine of b.csv are in place, its ledger line never was.
    path = landing.paths.ledger / "traffic_counts.jsonl"
    path.write_text(path.read_text("utf-8").splitlines(keepends=True)[0], encoding="utf-8")

    [redone] = landing.ingest("traffic_counts")
    assert (redone.file, redone.sha256, redone.status) == (second.file, second.sha256, "loaded")
    lines = ledger_lines(landing, "traffic_counts")
    assert [(line["file"], line["status"]) for line in lines] == [
        ("traffic_counts/a.csv", "loaded"),
        ("traffic_counts/b.csv", "loaded"),
    ]
    assert sorted(p.name for p in (landing.paths.bronze / "traffic_counts").glob("*.parquet")) == (
        sorted(["_schema.parquet", f"{first.sha256}.parquet", f"{second.sha256}.parquet"])
    )
    assert landing.bronze(redone).drop("_ingested_at").equals(bronze_before.drop("_ingested_at"))
    assert landing.outcome(redone) == {
        "status": "loaded",
        "rows_read": 1,
        "rows_loaded": 1,
        "rows_rejected": 0,
        "bronze_rows": 1,
        "quarantined_rows": 0,
        "file_quarantined": False,
    }


def test_rejected_file_without_its_ledger_line_is_quarantined_again_in_place(landing):
    landing.write("traffic_counts", "broken.csv", "nope\n")
    [entry] = landing.ingest("traffic_counts")
    (landing.paths.ledger / "traffic_counts.jsonl").write_text("", encoding="utf-8")
    [again] = landing.ingest("traffic_counts")
    assert (again.status, again.reason) == (entry.status, entry.reason)
    assert sorted(p.name for p in landing.quarantine_folder(again).iterdir()) == [
        "broken.csv",
        "reason.json",
    ]


# --- the kill test --------------------------------------------------------------------------------

INGEST_EVERYTHING = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from ingestion.contracts import all_contracts
from ingestion.run import LakePaths, ingest_source
paths = LakePaths.under(Path(sys.argv[1]))
devices = {"TR-0101", "TR-0102", "AQ-0012", "AQ-0013"}
for source in ("traffic_counts", "air_quality"):
    ingest_source(all_contracts()[source], paths, devices, run_id=sys.argv[3])
"""


def generate_landing(landing, traffic_row, traffic_csv, air_quality_record, air_quality_jsonl):
    """A few hundred files: clean, with bad rows, unreadable, and resent under other names."""
    for day in range(120):
        date = (datetime.date(2026, 1, 1) + datetime.timedelta(days=day)).isoformat()
        rows = [
            traffic_row(site=site, day=date, hour=str(hour), direction=direction, count=str(hour))
            for site in ("TR-0101", "TR-0102")
            for hour in range(24)
            for direction in ("N", "S", "Ö", "V")
        ]
        if day % 7 == 0:
            rows.append(traffic_row(day=date, hour="24"))
        text = traffic_csv(*rows)
        landing.write("traffic_counts", f"{date}.csv", text, encoding="windows-1252")
        if day % 10 == 0:
            landing.write("traffic_counts", f"resent/{date}.csv", text, encoding="windows-1252")
        if day % 30 == 0:
            landing.write("traffic_counts", f"broken-{day}.csv", b"\x00binary" + bytes([day]))
    for batch in range(80):
        records = [
            air_quality_record(
                device_id=("AQ-0012", "AQ-0013", "AQ-9999")[i % 3],
                observed_at=f"2026-04-{1 + batch % 28:02d}T{i % 24:02d}:{batch % 60:02d}:00",
                value=i / 10,
            )
            for i in range(200)
        ]
        landing.write("air_quality", f"gw/{batch:03d}.jsonl", air_quality_jsonl(*records))


def ledger_line_count(ledger_dir: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in ledger_dir.glob("*.jsonl"))


def run_ingestion(home: Path, run_id: str) -> subprocess.Popen:
    """Ingestion in its own process; its errors go to a file, a pipe nobody reads could stall it."""
    with (home.parent / f"{run_id}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-c", INGEST_EVERYTHING, str(home), str(REPO_ROOT), run_id],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def log_of(landing, run_id: str) -> str:
    return (landing.home.parent / f"{run_id}.log").read_text(errors="replace")


@pytest.mark.slow
def test_run_killed_mid_way_is_completed_by_the_next_run(
    landing, traffic_row, traffic_csv, air_quality_record, air_quality_jsonl
):
    generate_landing(landing, traffic_row, traffic_csv, air_quality_record, air_quality_jsonl)
    files = sorted(
        p.relative_to(landing.paths.landing).as_posix()
        for p in landing.paths.landing.rglob("*")
        if p.is_file()
    )
    assert len(files) == 120 + 12 + 4 + 80

    # Each run is killed further along, at a different moment within a file's work (a file
    # takes some 10-40 ms), so some kills land between bronze and ledger or mid-append.
    kills = [(20, 0.0), (50, 0.004), (80, 0.009), (110, 0.015), (150, 0.022), (180, 0.031)]
    for attempt, (kill_after, delay) in enumerate(kills):
        killed = run_ingestion(landing.home, f"killed-{attempt}")
        deadline = time.monotonic() + 120
        while ledger_line_count(landing.paths.ledger) < kill_after and killed.poll() is None:
            assert time.monotonic() < deadline, "the run wrote no ledger lines"
            time.sleep(0.001)
        time.sleep(delay)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        assert killed.returncode == -signal.SIGKILL, log_of(landing, f"killed-{attempt}")
        assert kill_after <= ledger_line_count(landing.paths.ledger) < len(files)

    finished = run_ingestion(landing.home, "finished")
    assert finished.wait(timeout=300) == 0, log_of(landing, "finished")

    entries = [*landing.ledger("traffic_counts"), *landing.ledger("air_quality")]
    for source in ("traffic_counts", "air_quality"):
        ledger_lines(landing, source)  # every line whole
    assert Counter(e.file for e in entries) == Counter(files)  # one line per file, no more
    by_status = Counter(e.status for e in entries)
    assert by_status == {"loaded": 120 + 80, "duplicate": 12, "rejected": 4}
    loaded = {e.sha256: e for e in entries if e.status == "loaded"}
    for entry in entries:
        if entry.status == "duplicate":
            assert entry.sha256 in loaded
    assert {e.run_id for e in entries} == {f"killed-{n}" for n in range(len(kills))} | {"finished"}

    for table in ("traffic_counts", "air_quality"):
        visible = sorted((landing.paths.bronze / table).glob("*.parquet"))
        shas = {p.stem for p in visible} - {"_schema"}
        assert shas == {sha for sha, e in loaded.items() if e.source == table}
        for path in visible:  # every visible file is a whole Parquet file
            rows = pl.read_parquet(path)
            if path.stem != "_schema":
                assert rows.height == loaded[path.stem].rows_loaded
                assert rows["_file_sha256"].unique().to_list() == [path.stem]
        leftovers = [p.name for p in (landing.paths.bronze / table).iterdir() if p not in visible]
        assert all(name.startswith(".") and name.endswith(".tmp") for name in leftovers)

    for entry in entries:
        if entry.status == "rejected":
            assert (
                landing.quarantined_file(entry).read_bytes()
                == (landing.paths.landing / entry.file).read_bytes()
            )
        if entry.status == "loaded" and entry.rows_rejected:
            assert len(landing.rejections(entry)) == entry.rows_rejected
