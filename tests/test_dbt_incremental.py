"""Incremental builds give the same warehouse as a full refresh, and read only new files.

The fixture lake is built in two steps, as files arrive: first with the first half of the
air-quality and traffic ledger lines (the bronze of the rest is on disk but not yet loaded; the
registry and districts are loaded whole, as the facts' relationship tests need), then with all.
The second half holds a retransmission and a corrected traffic export that rewrite hours the
first build already made. The lookback is set to 0, so the second build reads strictly the
newer files and any hour it fails to recompute shows. The result must equal, table by table and
row by row, a `dbt build --full-refresh` of the same lake.
"""

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from bronze_fixtures import LANDING_FILES, LandingFile, ledger_line, run_dbt, write_bronze_fixture

pytestmark = pytest.mark.slow

STRICT = ["--vars", json.dumps({"incremental_lookback_hours": 0})]
INCREMENTAL_SOURCES = ("air_quality", "traffic_counts")


def ledgered(source: str) -> list[LandingFile]:
    """A source's files with a ledger line, in ledger (arrival) order."""
    files = [f for f in LANDING_FILES if f.source == source and f.ledger_status is not None]
    return sorted(files, key=lambda f: f.ingested_at)


def write_ledgers(home: Path, first_half: bool) -> None:
    for source in sorted({f.source for f in LANDING_FILES}):
        files = ledgered(source)
        if first_half and source in INCREMENTAL_SOURCES:
            files = files[: len(files) // 2]
        lines = [json.dumps(ledger_line(f), ensure_ascii=False) for f in files]
        (home / "lake" / "ledger" / f"{source}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")


def table_names(connection: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    return [
        row[0]
        for row in connection.execute(
            "select table_name from information_schema.tables"
            " where table_catalog = ? and table_schema = 'main' order by 1",
            [catalog],
        ).fetchall()
    ]


def differences(connection: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int, int]:
    """Rows only in the incremental build, rows only in the full refresh, and the row count."""
    only_incremental = connection.execute(
        f"select count(*) from (from incremental.{table} except all from full_refresh.{table})"
    ).fetchone()[0]
    only_full = connection.execute(
        f"select count(*) from (from full_refresh.{table} except all from incremental.{table})"
    ).fetchone()[0]
    count = connection.execute(f"select count(*) from full_refresh.{table}").fetchone()[0]
    return only_incremental, only_full, count


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two-step incremental build, a copy of its warehouse, then a full refresh of the same lake."""
    work_dir = tmp_path_factory.mktemp("dbt_incremental")
    home = work_dir / "home"
    write_bronze_fixture(home)
    write_ledgers(home, first_half=True)
    first = run_dbt(["build", *STRICT], home, work_dir / "first")
    assert first.returncode == 0, first.stdout + first.stderr
    write_ledgers(home, first_half=False)
    second = run_dbt(["build", *STRICT], home, work_dir / "second")
    assert second.returncode == 0, second.stdout + second.stderr
    warehouse = home / "warehouse" / "stadsdata.duckdb"
    incremental = work_dir / "incremental.duckdb"
    shutil.copyfile(warehouse, incremental)
    full = run_dbt(["build", "--full-refresh", *STRICT], home, work_dir / "full")
    assert full.returncode == 0, full.stdout + full.stderr
    return {"incremental": incremental, "full_refresh": warehouse, "work_dir": work_dir}


def test_incremental_build_equals_a_full_refresh(builds: dict[str, Path]) -> None:
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    for name in ("incremental", "full_refresh"):
        connection.execute(f"attach '{builds[name]}' as {name} (read_only)")
    tables = table_names(connection, "full_refresh")
    assert table_names(connection, "incremental") == tables
    assert {"stg_air_quality", "fct_air_quality_hourly", "fct_traffic_hourly"} <= set(tables)
    for table in tables:
        only_incremental, only_full, count = differences(connection, table)
        assert (only_incremental, only_full) == (0, 0), table
    hourly = connection.execute("select count(*) from incremental.fct_air_quality_hourly").fetchone()[0]
    assert hourly > 0


def test_second_build_reads_only_the_newly_loaded_files(builds: dict[str, Path]) -> None:
    """The incremental models of the second build name only second-half files' bronze."""
    results = json.loads((builds["work_dir"] / "second" / "target" / "run_results.json").read_text())
    compiled = {r["unique_id"].split(".")[-1]: r.get("compiled_code") or "" for r in results["results"]}
    for source in INCREMENTAL_SOURCES:
        model = f"stg_{source}"
        files = [f for f in ledgered(source) if f.is_loaded]
        half = len(ledgered(source)) // 2
        earlier = {f.sha256 for f in ledgered(source)[:half]}
        later = {f.sha256 for f in files} - earlier
        assert later, model
        assert all(sha in compiled[model] for sha in later), model
        assert not any(sha in compiled[model] for sha in earlier), model


def test_retransmitted_reading_rewrites_its_hour(builds: dict[str, Path]) -> None:
    """10:20 NO2 of AQ-0001 arrived again (44.0) in the second half: its hour is recomputed."""
    connection = duckdb.connect(str(builds["incremental"]), read_only=True)
    connection.execute("set TimeZone = 'UTC'")
    mean, ingested_at = connection.execute(
        "select mean_value_ugm3, ingested_at from fct_air_quality_hourly"
        " where device_id = 'AQ-0001' and pollutant = 'NO2' and hour_utc = '2026-03-02 10:00:00+00'"
    ).fetchone()
    assert mean == pytest.approx((20.0 + 30.0 + 44.0 + 26.0) / 4)
    retransmission = next(f for f in LANDING_FILES if f.name.endswith("gateway-a-1200.jsonl"))
    assert ingested_at == retransmission.ingested_at
