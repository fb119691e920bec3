"""The release gate's pieces without Dagster: the new suites on passing and failing data,
the run-time parameters, the per-dataset decision, bronze scoping and the HTML report.

Each kind of expectation the open and bronze suites use gets data that passes and a
change that makes exactly that expectation fail, on real Great Expectations.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from ingestion.ledger import Ledger, LedgerEntry
from quality.gate import CheckOutcome, decide, quality_rows
from quality.history import append_history
from quality.report import LATEST, render_report, write_report
from quality.scope import fresh_after, min_rows, new_bronze_files, previous_rows, read_bronze
from quality.suites import load_suite, run_time_values
from quality.validation import validate

NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
DEVICES = ["AQ-0001", "AQ-0002", "AQ-0003"]
POLLUTANTS = ["NO2", "PM10", "PM2_5", "O3"]


def open_air(hours: int = 12) -> pl.DataFrame:
    """open_air_quality_hourly as the model publishes it: every expectation holds."""
    rows = [
        {
            "district": "Kungsholmen",
            "device_id": device,
            "pollutant": pollutant,
            "hour_utc": NOW - timedelta(hours=hour + 1),
            "mean_value_ugm3": 20.0 + hour,
            "ok_reading_count": 12,
            "coverage": 1.0,
        }
        for device in DEVICES
        for pollutant in POLLUTANTS
        for hour in range(hours)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "district": pl.String,
            "device_id": pl.String,
            "pollutant": pl.String,
            "hour_utc": pl.Datetime("us", "UTC"),
            "mean_value_ugm3": pl.Float64,
            "ok_reading_count": pl.Int64,
            "coverage": pl.Float64,
        },
    )


def bronze_air(hours: int = 6) -> pl.DataFrame:
    """A new bronze air-quality batch from registered sensors."""
    rows = [
        {
            "device_id": device,
            "observed_at": NOW - timedelta(hours=hour + 1),
            "pollutant": pollutant,
            "value": 15.0,
            "_file_sha256": "a" * 64,
        }
        for device in DEVICES
        for pollutant in POLLUTANTS
        for hour in range(hours)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "device_id": pl.String,
            "observed_at": pl.Datetime("us", "UTC"),
            "pollutant": pl.String,
            "value": pl.Float64,
            "_file_sha256": pl.String,
        },
    )


PARAMETERS = {"registered_devices": DEVICES, "min_rows": 10, "fresh_after_utc": NOW - timedelta(hours=3)}


def problems(dataset: str, frame: pl.DataFrame, parameters: dict | None = None) -> dict[str, str]:
    """Failed expectations as {label: severity}; errors count as failures here."""
    result = validate(load_suite(dataset), frame, now=NOW, parameters=parameters or PARAMETERS)
    return {r.label: r.severity for r in result.results if r.outcome != "passed"}


def set_first(column: str, value: object) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def breaker(frame: pl.DataFrame) -> pl.DataFrame:
        literal = pl.lit(value, dtype=frame.schema[column])
        first = pl.int_range(pl.len()) == 0
        return frame.with_columns(pl.when(first).then(literal).otherwise(pl.col(column)).alias(column))

    return breaker


def where(condition: pl.Expr, column: str, value: object) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def breaker(frame: pl.DataFrame) -> pl.DataFrame:
        literal = pl.lit(value, dtype=frame.schema[column])
        return frame.with_columns(pl.when(condition).then(literal).otherwise(pl.col(column)).alias(column))

    return breaker


def test_good_data_passes_every_expectation() -> None:
    assert problems("open_air_quality_hourly", open_air()) == {}
    assert problems("air_quality", bronze_air()) == {}


OPEN_AIR_CASES = {
    "schema: an extra column": (
        lambda f: f.with_columns(pl.lit(1).alias("extra")),
        "expect_table_columns_to_match_set",
        "blocking",
    ),
    "types: counts as text": (
        lambda f: f.with_columns(pl.col("ok_reading_count").cast(pl.String)),
        "expect_column_values_to_be_of_type(ok_reading_count)",
        "blocking",
    ),
    "keys: a row twice": (
        lambda f: pl.concat([f, f.head(1)]),
        "expect_compound_columns_to_be_unique(device_id, pollutant, hour_utc)",
        "blocking",
    ),
    "timestamps: an hour in the future": (
        set_first("hour_utc", NOW + timedelta(hours=2)),
        "expect_column_values_to_be_between(hour_utc)",
        "blocking",
    ),
    "range: a negative count": (
        set_first("ok_reading_count", -1),
        "expect_column_values_to_be_between(ok_reading_count)",
        "blocking",
    ),
    "completeness: coverage low": (
        lambda f: f.with_columns(pl.lit(0.5).alias("coverage")),
        "expect_column_mean_to_be_between(coverage)",
        "warning",
    ),
}


@pytest.mark.parametrize("case", sorted(OPEN_AIR_CASES))
def test_open_air_quality_expectation_fails_on_its_breakage(case: str) -> None:
    breaker, label, severity = OPEN_AIR_CASES[case]
    found = problems("open_air_quality_hourly", breaker(open_air()))
    assert found.get(label) == severity, found


def test_no2_plausibility_blocks_a_stuck_sensor_but_not_other_pollutants() -> None:
    no2 = pl.col("pollutant") == "NO2"
    stuck = where(no2 & (pl.col("device_id") == "AQ-0002"), "mean_value_ugm3", 4000.0)(open_air())
    label = "expect_column_values_to_be_between(mean_value_ugm3)"
    assert problems("open_air_quality_hourly", stuck) == {label: "blocking"}
    high_pm10 = where(pl.col("pollutant") == "PM10", "mean_value_ugm3", 999.0)(open_air())
    assert problems("open_air_quality_hourly", high_pm10) == {}


def test_freshness_warns_when_the_newest_hour_is_old() -> None:
    old = open_air().with_columns(pl.col("hour_utc") - timedelta(days=2))
    assert problems("open_air_quality_hourly", old) == {
        "expect_column_max_to_be_between(hour_utc)": "warning"
    }


def test_row_count_collapse_blocks_against_the_previous_validation() -> None:
    frame = open_air(hours=2)  # 24 rows
    label = "expect_table_row_count_to_be_between"
    assert problems("open_air_quality_hourly", frame, {**PARAMETERS, "min_rows": 24}) == {}
    assert problems("open_air_quality_hourly", frame, {**PARAMETERS, "min_rows": 25}) == {label: "blocking"}


def test_referential_integrity_to_the_device_registry() -> None:
    unknown = set_first("device_id", "AQ-9999")(bronze_air())
    label = "expect_column_values_to_be_in_set(device_id)"
    assert problems("air_quality", unknown) == {label: "blocking"}
    assert problems("air_quality", bronze_air(), {**PARAMETERS, "registered_devices": []}) == {
        label: "blocking"
    }


def test_bronze_negative_value_and_future_reading_block() -> None:
    assert problems("air_quality", set_first("value", -3.0)(bronze_air())) == {
        "expect_column_values_to_be_between(value)": "blocking"
    }
    future = set_first("observed_at", NOW + timedelta(minutes=5))(bronze_air())
    assert problems("air_quality", future) == {"expect_column_values_to_be_between(observed_at)": "blocking"}


def test_run_time_parameters_are_checked() -> None:
    values = run_time_values(NOW, {"min_rows": 3})
    assert values["min_rows"] == 3 and values["now_utc"] == NOW
    with pytest.raises(ValueError, match="unknown run-time parameters"):
        run_time_values(NOW, {"tomorrow": 1})


def test_min_rows_is_half_the_previous_validation(tmp_path: Path) -> None:
    assert previous_rows(tmp_path, "open_air_quality_hourly") is None
    assert min_rows(tmp_path, "open_air_quality_hourly") == 0
    suite = load_suite("open_air_quality_hourly")
    append_history(tmp_path, validate(suite, open_air(hours=3), now=NOW, parameters=PARAMETERS))
    append_history(
        tmp_path, validate(load_suite("air_quality"), bronze_air(1), now=NOW, parameters=PARAMETERS)
    )
    assert previous_rows(tmp_path, "open_air_quality_hourly") == 36
    assert min_rows(tmp_path, "open_air_quality_hourly") == 18
    assert min_rows(tmp_path, "air_quality") == 6


def test_fresh_after_follows_the_update_frequency() -> None:
    assert fresh_after("hourly", NOW) == NOW - timedelta(hours=3)
    assert fresh_after("daily", NOW) == NOW - timedelta(days=2)
    assert fresh_after(None, NOW) == NOW - timedelta(days=366)


def _entry(sha: str, run_id: str, status: str = "loaded") -> LedgerEntry:
    rows = 12 if status == "loaded" else 0
    return LedgerEntry(
        source="air_quality",
        file=f"air_quality/{sha}.jsonl",
        sha256=sha,
        size_bytes=100,
        status=status,
        rows_read=rows,
        rows_loaded=rows,
        rows_rejected=0,
        reason=None,
        ingested_at=NOW.isoformat(),
        run_id=run_id,
        tables=["air_quality"],
    )


def test_bronze_scope_is_the_files_this_run_loaded(tmp_path: Path) -> None:
    bronze, ledger_dir = tmp_path / "bronze", tmp_path / "ledger"
    (bronze / "air_quality").mkdir(parents=True)
    bronze_air(0).write_parquet(bronze / "air_quality" / "_schema.parquet")
    ledger = Ledger(ledger_dir, "air_quality")
    for sha, run_id in (("old", "run-1"), ("new", "run-2")):
        bronze_air(1).write_parquet(bronze / "air_quality" / f"{sha}.parquet")
        ledger.append(_entry(sha, run_id))
    ledger.append(_entry("dup", "run-2", status="duplicate"))

    files = new_bronze_files(bronze, ledger_dir, "air_quality", "run-2")
    assert [p.name for p in files] == ["new.parquet"]
    assert read_bronze(bronze, "air_quality", files).num_rows == 12
    assert new_bronze_files(bronze, ledger_dir, "air_quality", "run-3") == []
    empty = read_bronze(bronze, "air_quality", [])
    assert empty.num_rows == 0 and "observed_at" in empty.column_names


UPSTREAM = {
    "open_air_quality_hourly": {
        "open/open_air_quality_hourly",
        "marts/fct_air_quality_hourly",
        "bronze/air_quality",
    },
    "open_traffic_hourly": {"open/open_traffic_hourly", "bronze/traffic_counts"},
}


def test_a_failure_upstream_holds_back_only_the_datasets_built_from_it() -> None:
    outcomes = [
        CheckOutcome("air_quality_expectations", "bronze/air_quality", False, True, "NO2 stuck"),
        CheckOutcome(
            "open_traffic_hourly_expectations",
            "open/open_traffic_hourly",
            False,
            False,
            warnings=("warning freshness: failed",),
        ),
    ]
    decision = decide(UPSTREAM, outcomes)
    assert decision.held_back == {
        "open_air_quality_hourly": "blocking check air_quality_expectations on asset bronze/air_quality "
        "failed: NO2 stuck"
    }
    traffic = decision.quality["open_traffic_hourly"]
    assert traffic["checks_run"] == 1 and not traffic["held_back"]
    assert traffic["warnings"] == [
        "open_traffic_hourly_expectations on open/open_traffic_hourly: warning freshness: failed"
    ]
    rows = quality_rows(decision)
    assert {(r["dataset"], r["held_back"]) for r in rows} == {
        ("open_air_quality_hourly", True),
        ("open_traffic_hourly", False),
    }


def test_a_planned_check_without_result_holds_back() -> None:
    decision = decide(
        UPSTREAM, [], missing={"open_traffic_hourly": ["bronze/traffic_counts:traffic_counts_expectations"]}
    )
    assert set(decision.held_back) == {"open_traffic_hourly"}
    assert "reported no result" in decision.held_back["open_traffic_hourly"]
    assert decide(UPSTREAM, []).held_back == {}


def test_report_is_self_contained_html(tmp_path: Path) -> None:
    outcomes = [CheckOutcome("x_expectations", "bronze/air_quality", False, True, "<b>bad</b>")]
    decision = decide(UPSTREAM, outcomes)
    html = render_report("run-1", "20260302T000000Z", decision)
    assert "<script" not in html and "http" not in html
    assert "&lt;b&gt;bad&lt;/b&gt;" in html and "held back" in html
    path = write_report(tmp_path, "run-1", "rel", decision)
    assert path.read_text() == (tmp_path / LATEST).read_text() == html.replace("20260302T000000Z", "rel")
    assert json.dumps(decision.quality)  # the summary is plain JSON for quality.json
