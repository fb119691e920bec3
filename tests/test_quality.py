"""The quality stage: suite files, the runner on real Great Expectations, the history.

Great Expectations takes seconds to import, so the real suite is loaded once per module
and each case runs only the expectations it is about.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from quality.history import append_history, history_path
from quality.suites import (
    SUITES_DIR,
    ExpectationSpec,
    Suite,
    SuiteError,
    load_suite,
    suite_datasets,
    suite_for,
)
from quality.validation import MASK, validate

NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
POLLUTANTS = ["NO2", "PM10", "PM2_5", "O3"]
MART_COLUMNS = [
    "device_id",
    "pollutant",
    "hour_utc",
    "mean_value_ugm3",
    "min_value_ugm3",
    "max_value_ugm3",
    "ok_reading_count",
    "reading_count",
    "coverage",
]


@pytest.fixture(scope="module")
def suite() -> Suite:
    return load_suite("fct_air_quality_hourly")


def mart(devices: int = 3, hours: int = 24) -> pl.DataFrame:
    """Hourly aggregates as the mart holds them: every expectation of the suite holds.

    One hour in 24 has no ok reading (its values are missing), fewer than the 10 %
    the warning allows.
    """
    rows = []
    start = NOW - timedelta(hours=hours)
    for device in range(devices):
        for pollutant_number, pollutant in enumerate(POLLUTANTS):
            for hour in range(hours):
                readings = 6
                ok = 0 if (hour + device) % 24 == 5 else 4 + (hour % 3)
                mean = 10.0 + device + 3 * pollutant_number + (hour % 7) if ok else None
                rows.append(
                    {
                        "device_id": f"AQ-{device:04d}",
                        "pollutant": pollutant,
                        "hour_utc": start + timedelta(hours=hour),
                        "mean_value_ugm3": mean,
                        "min_value_ugm3": mean - 2.5 if ok else None,
                        "max_value_ugm3": mean + 4.0 if ok else None,
                        "ok_reading_count": ok,
                        "reading_count": readings,
                        "coverage": ok / readings,
                    }
                )
    return pl.DataFrame(
        rows,
        schema={
            "device_id": pl.String,
            "pollutant": pl.String,
            "hour_utc": pl.Datetime("us", "UTC"),
            "mean_value_ugm3": pl.Float64,
            "min_value_ugm3": pl.Float64,
            "max_value_ugm3": pl.Float64,
            "ok_reading_count": pl.Int64,
            "reading_count": pl.Int64,
            "coverage": pl.Float64,
        },
    )


def first_row(column: str, value: object) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """A breaker that sets `column` of the first row (an hour with ok readings)."""

    def breaker(frame: pl.DataFrame) -> pl.DataFrame:
        literal = pl.lit(value, dtype=frame.schema[column])
        return frame.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(literal).otherwise(pl.col(column)).alias(column)
        )

    return breaker


def retype(column: str, dtype: pl.DataType) -> Callable[[pl.DataFrame], pl.DataFrame]:
    return lambda frame: frame.with_columns(pl.col(column).cast(dtype))


def no_ok_readings(share: float) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """Hours whose readings were all in maintenance: values missing, as the mart leaves them."""

    def breaker(frame: pl.DataFrame) -> pl.DataFrame:
        empty = pl.int_range(pl.len()) < int(share * frame.height)
        return frame.with_columns(
            *[pl.when(empty).then(None).otherwise(pl.col(c)).alias(c) for c in MART_COLUMNS[3:6]],
            pl.when(empty).then(0).otherwise(pl.col("ok_reading_count")).alias("ok_reading_count"),
            pl.when(empty).then(0.0).otherwise(pl.col("coverage")).alias("coverage"),
        )

    return breaker


def duplicate_first_row(frame: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([frame, frame.head(1)])


def future_hour(frame: pl.DataFrame) -> pl.DataFrame:
    return first_row("hour_utc", NOW + timedelta(hours=1))(frame)


# (expectation, kwargs it is recognised by, how to break the mart) for every entry of the suite
CASES = [
    ("expect_table_columns_to_match_set", {"exact_match": False}, lambda f: f.drop("coverage")),
    (
        "expect_table_columns_to_match_set",
        {"exact_match": True},
        lambda f: f.with_columns(pl.lit("x").alias("note")),
    ),
    ("expect_table_row_count_to_be_between", {"min_value": 1}, lambda f: f.head(0)),
    (
        "expect_column_values_to_be_of_type",
        {"column": "device_id"},
        lambda f: f.with_columns(pl.int_range(pl.len()).alias("device_id")),
    ),
    (
        "expect_column_values_to_be_of_type",
        {"column": "pollutant"},
        lambda f: f.with_columns(pl.lit(1).alias("pollutant")),
    ),
    ("expect_column_values_to_be_of_type", {"column": "hour_utc"}, retype("hour_utc", pl.String)),
    (
        "expect_column_values_to_be_of_type",
        {"column": "mean_value_ugm3"},
        retype("mean_value_ugm3", pl.Int64),
    ),
    (
        "expect_column_values_to_be_of_type",
        {"column": "min_value_ugm3"},
        retype("min_value_ugm3", pl.Decimal(10, 2)),
    ),
    ("expect_column_values_to_be_of_type", {"column": "max_value_ugm3"}, retype("max_value_ugm3", pl.String)),
    ("expect_column_values_to_be_of_type", {"column": "coverage"}, retype("coverage", pl.String)),
    (
        "expect_column_values_to_be_of_type",
        {"column": "ok_reading_count"},
        retype("ok_reading_count", pl.Decimal(38, 0)),
    ),
    ("expect_column_values_to_be_of_type", {"column": "reading_count"}, retype("reading_count", pl.Float64)),
    ("expect_column_values_to_not_be_null", {"column": "device_id"}, first_row("device_id", None)),
    ("expect_column_values_to_not_be_null", {"column": "pollutant"}, first_row("pollutant", None)),
    ("expect_column_values_to_not_be_null", {"column": "hour_utc"}, first_row("hour_utc", None)),
    ("expect_compound_columns_to_be_unique", {}, duplicate_first_row),
    ("expect_column_values_to_be_in_set", {"column": "pollutant"}, first_row("pollutant", "NOX")),
    ("expect_column_values_to_be_between", {"column": "hour_utc"}, future_hour),
    (
        "expect_column_values_to_be_between",
        {"column": "mean_value_ugm3", "max_value": 5000},
        first_row("mean_value_ugm3", -0.5),
    ),
    (
        "expect_column_values_to_be_between",
        {"column": "min_value_ugm3", "max_value": 5000},
        first_row("min_value_ugm3", -1.0),
    ),
    (
        "expect_column_values_to_be_between",
        {"column": "max_value_ugm3", "max_value": 5000},
        first_row("max_value_ugm3", 5000.5),
    ),
    (
        "expect_column_values_to_be_between",
        {"column": "mean_value_ugm3", "max_value": 1000},
        first_row("mean_value_ugm3", 1200.0),
    ),
    (
        "expect_column_pair_values_a_to_be_greater_than_b",
        {"column_A": "mean_value_ugm3", "column_B": "min_value_ugm3"},
        first_row("min_value_ugm3", 500.0),
    ),
    (
        "expect_column_pair_values_a_to_be_greater_than_b",
        {"column_A": "max_value_ugm3", "column_B": "mean_value_ugm3"},
        first_row("max_value_ugm3", 1.0),
    ),
    ("expect_column_values_to_be_between", {"column": "ok_reading_count"}, first_row("ok_reading_count", -1)),
    ("expect_column_values_to_be_between", {"column": "reading_count"}, first_row("reading_count", -6)),
    (
        "expect_column_pair_values_a_to_be_greater_than_b",
        {"column_A": "reading_count"},
        first_row("reading_count", 2),
    ),
    ("expect_column_values_to_be_between", {"column": "coverage"}, first_row("coverage", 1.5)),
    (
        "expect_column_values_to_not_be_null",
        {"column": "mean_value_ugm3", "row_condition": {"parameter": 0, "operator": ">"}},
        first_row("mean_value_ugm3", None),
    ),
    (
        "expect_column_values_to_be_null",
        {"column": "mean_value_ugm3"},
        first_row("ok_reading_count", 0),
    ),
    (
        "expect_column_values_to_not_be_null",
        {"column": "mean_value_ugm3", "mostly": 0.9},
        no_ok_readings(0.2),
    ),
]


def matches(spec: ExpectationSpec, name: str, kwargs: dict) -> bool:
    """Whether a suite entry is the one a case means (nested kwargs compared partially)."""

    def contains(actual: object, wanted: object) -> bool:
        if isinstance(wanted, dict):
            return isinstance(actual, dict) and all(contains(actual.get(k), v) for k, v in wanted.items())
        return actual == wanted

    return spec.expectation == name and contains(spec.kwargs, kwargs)


def entries(suite: Suite, name: str, kwargs: dict) -> Suite:
    """The suite cut down to the entries a case is about."""
    chosen = tuple(spec for spec in suite.expectations if matches(spec, name, kwargs))
    assert chosen, f"no entry {name} {kwargs} in the suite"
    return dataclasses.replace(suite, expectations=chosen)


def test_every_entry_of_the_suite_has_a_case(suite: Suite) -> None:
    uncovered = [
        (spec.expectation, spec.kwargs)
        for spec in suite.expectations
        if not any(matches(spec, name, kwargs) for name, kwargs, _ in CASES)
    ]
    assert uncovered == []


def test_the_good_mart_passes_the_whole_suite(suite: Suite) -> None:
    result = validate(suite, mart(), now=NOW)
    assert [r.describe() for r in result.results if r.outcome != "passed"] == []
    assert result.passed and not result.blocking_failed and result.warnings == []
    assert result.rows == mart().height


@pytest.mark.parametrize(("name", "kwargs", "breaker"), CASES, ids=[f"{n}-{k}" for n, k, _ in CASES])
def test_each_expectation_passes_good_and_fails_broken_data(
    suite: Suite, name: str, kwargs: dict, breaker: Callable
) -> None:
    chosen = entries(suite, name, kwargs)
    good = validate(chosen, mart(), now=NOW)
    assert [r.outcome for r in good.results] == ["passed"] * len(chosen.expectations)

    broken = validate(chosen, breaker(mart()), now=NOW)
    assert [r.outcome for r in broken.results] == ["failed"] * len(chosen.expectations)
    severities = {spec.severity for spec in chosen.expectations}
    assert broken.blocking_failed == ("blocking" in severities)
    assert len(broken.warnings) == sum(s.severity == "warning" for s in chosen.expectations)


def test_the_no2_bound_applies_to_no2_only_and_shows_the_right_row(suite: Suite) -> None:
    chosen = entries(suite, "expect_column_values_to_be_between", {"max_value": 1000})
    pm10_first = first_row("mean_value_ugm3", 1200.0)(mart().sort(pl.col("pollutant") != "PM10"))
    assert pm10_first["pollutant"][0] == "PM10"
    assert validate(chosen, pm10_first, now=NOW).results[0].outcome == "passed"

    # an NO2 row far down: the example must be that row, not the n-th NO2 row or row n
    position = pm10_first.with_row_index().filter(pl.col("pollutant") == "NO2")["index"][5]
    broken = pm10_first.with_columns(
        pl.when(pl.int_range(pl.len()) == position)
        .then(1200.0)
        .otherwise(pl.col("mean_value_ugm3"))
        .alias("mean_value_ugm3")
    )
    failed = validate(chosen, broken, now=NOW).results[0]
    assert (failed.outcome, failed.unexpected_count) == ("failed", 1)
    row = broken.row(position, named=True)
    assert failed.examples == (
        {
            "device_id": row["device_id"],
            "pollutant": "NO2",
            "hour_utc": row["hour_utc"].isoformat(),
            "mean_value_ugm3": 1200.0,
        },
    )


def test_the_future_bound_is_computed_when_the_suite_runs(suite: Suite) -> None:
    chosen = entries(suite, "expect_column_values_to_be_between", {"column": "hour_utc"})
    frame = future_hour(mart())
    assert validate(chosen, frame, now=NOW).results[0].outcome == "failed"
    later = validate(chosen, frame, now=NOW + timedelta(hours=2)).results[0]
    assert later.outcome == "passed"
    assert later.kwargs["max_value"] == (NOW + timedelta(hours=2)).isoformat()


def test_a_missing_column_is_an_error_that_blocks(suite: Suite) -> None:
    result = validate(suite, mart().drop("mean_value_ugm3"), now=NOW)
    on_mean = [r for r in result.results if "mean_value_ugm3" in r.label]
    assert on_mean and all(r.outcome == "error" for r in on_mean)
    assert all("mean_value_ugm3" in r.error for r in on_mean)
    assert any(r.severity == "warning" for r in on_mean)  # errors block whatever the severity
    others = [r for r in result.results if "mean_value_ugm3" not in r.label]
    assert all(r.outcome in ("passed", "failed") for r in others)
    assert next(r for r in others if r.label == "expect_column_values_to_not_be_null(device_id)")
    assert result.blocking_failed
    assert len(result.errors) == len(on_mean)


def test_an_error_in_a_warning_blocks() -> None:
    warning_only = Suite(
        dataset="fct_air_quality_hourly",
        owner="miljo",
        description="",
        keys=(),
        expectations=(
            ExpectationSpec("expect_column_values_to_not_be_null", {"column": "nope"}, "warning", "miljo"),
        ),
    )
    result = validate(warning_only, mart(), now=NOW)
    assert result.results[0].outcome == "error"
    assert result.blocking_failed and result.warnings == [] and not result.passed


def test_data_ge_cannot_hold_makes_every_expectation_an_error(suite: Suite) -> None:
    union = pa.UnionArray.from_sparse(
        pa.array([0] * mart().height, pa.int8()),
        [pa.array(range(mart().height)), pa.array(["x"] * mart().height)],
    )
    table = mart().to_arrow().append_column("odd", union)
    result = validate(suite, table, now=NOW)
    assert {r.outcome for r in result.results} == {"error"}
    assert "data could not be validated" in result.results[0].error
    assert result.blocking_failed


def test_arrow_tables_and_string_views_are_validated_like_polars(suite: Suite) -> None:
    table = mart().to_arrow()
    views = table.cast(
        pa.schema(
            [f.with_type(pa.string_view()) if pa.types.is_large_string(f.type) else f for f in table.schema]
        )
    )
    assert pa.string_view() in views.schema.types
    from_arrow = validate(suite, views, now=NOW)
    assert from_arrow.passed, [r.describe() for r in from_arrow.results if r.outcome != "passed"]


def test_empty_data_runs_and_records_zero_rows(suite: Suite) -> None:
    result = validate(suite, mart().head(0), now=NOW)
    assert result.rows == 0
    outcomes = {r.label: r.outcome for r in result.results}
    assert outcomes["expect_table_row_count_to_be_between"] == "failed"
    assert outcomes["expect_column_values_to_not_be_null(device_id)"] == "passed"
    assert result.errors == []
    assert not result.blocking_failed  # only the row-count warning fails


def test_examples_show_the_offending_rows_with_masked_columns(suite: Suite) -> None:
    chosen = entries(suite, "expect_column_values_to_be_in_set", {"column": "pollutant"})
    frame = mart()
    broken = pl.concat([frame.head(7).with_columns(pl.lit("NOX").alias("pollutant")), frame.slice(7)])
    plain = validate(chosen, broken, now=NOW).results[0]
    assert plain.unexpected_count == 7 and plain.element_count == frame.height
    assert len(plain.examples) == 5
    assert plain.examples[0] == {
        "device_id": frame["device_id"][0],
        "pollutant": "NOX",
        "hour_utc": frame["hour_utc"][0].isoformat(),
    }
    masked = validate(chosen, broken, masked_columns={"device_id"}, now=NOW).results[0]
    assert [e["device_id"] for e in masked.examples] == [MASK] * 5
    assert [e["pollutant"] for e in masked.examples] == ["NOX"] * 5
    assert frame["device_id"][0] not in json.dumps(masked.to_dict())


def test_observed_values_of_masked_columns_are_hidden() -> None:
    maximum = Suite(
        dataset="fct_air_quality_hourly",
        owner="miljo",
        description="",
        keys=(),
        expectations=(
            ExpectationSpec(
                "expect_column_max_to_be_between",
                {"column": "mean_value_ugm3", "max_value": 1},
                "warning",
                "miljo",
            ),
            ExpectationSpec(
                "expect_column_values_to_be_between",
                {"column": "mean_value_ugm3", "max_value": 1},
                "warning",
                "miljo",
            ),
        ),
    )
    plain = validate(maximum, mart(), now=NOW)
    assert plain.results[0].observed_value == mart()["mean_value_ugm3"].max()
    assert plain.results[1].examples and MASK not in json.dumps(plain.results[1].examples)
    masked = validate(maximum, mart(), masked_columns={"mean_value_ugm3"}, now=NOW)
    assert masked.results[0].observed_value == MASK
    assert all(e["mean_value_ugm3"] == MASK for e in masked.results[1].examples)


def test_metadata_is_json_and_dagster_accepts_it(suite: Suite) -> None:
    import dagster as dg

    result = validate(suite, first_row("pollutant", "NOX")(mart()), now=NOW)
    metadata = result.to_metadata()
    assert json.loads(json.dumps(metadata)) == metadata
    assert metadata["failed_blocking"] == 1 and metadata["rows"] == mart().height
    assert metadata["problems"] == [
        f"blocking expect_column_values_to_be_in_set(pollutant): failed, 1 of {mart().height} rows unexpected"
    ]
    check = dg.AssetCheckResult(
        passed=not result.blocking_failed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
    )
    assert not check.passed
    assert isinstance(check.metadata["results"], dg.JsonMetadataValue)


def test_history_appends_and_reads_back_with_duckdb(suite: Suite, tmp_path: Path) -> None:
    first = validate(suite, mart(), run_id="run-1", now=NOW)
    second = validate(suite, first_row("coverage", 2.0)(mart()), run_id="run-2", now=NOW)
    append_history(tmp_path, first)
    path = append_history(tmp_path, second)
    assert path == history_path(tmp_path)

    rows = duckdb.sql(
        f"""
        select run_id, outcome, count(*) as n, min(rows) as rows
        from read_json('{path}', format = 'newline_delimited')
        group by all order by all
        """
    ).fetchall()
    expectations = len(suite.expectations)
    assert rows == [
        ("run-1", "passed", expectations, mart().height),
        ("run-2", "failed", 1, mart().height),
        ("run-2", "passed", expectations - 1, mart().height),
    ]
    failed = duckdb.sql(
        f"""
        select expectation, severity, owner, unexpected_count, json_extract(kwargs, '$.column')
        from read_json('{path}', format = 'newline_delimited') where outcome = 'failed'
        """
    ).fetchall()
    assert failed == [("expect_column_values_to_be_between", "blocking", "miljo", 1, '"coverage"')]


def test_history_cuts_off_a_torn_line_and_keeps_whole_runs(suite: Suite, tmp_path: Path) -> None:
    result = validate(suite, mart(), run_id="whole", now=NOW)
    path = append_history(tmp_path, result)
    kept = path.read_bytes()
    with path.open("ab") as torn:
        torn.write(b'{"run_id": "crashed", "outc')
    append_history(tmp_path, result)
    assert path.read_bytes() == kept + kept
    count = duckdb.sql(f"select count(*) from read_json('{path}')").fetchall()[0][0]
    assert count == 2 * len(suite.expectations)


# --- suite files ---------------------------------------------------------------------------

GOOD_SUITE = """
dataset: {dataset}
owner: miljo
expectations:
  - expectation: expect_column_values_to_not_be_null
    kwargs: {{column: device_id}}
    severity: blocking
"""


def write_suite(tmp_path: Path, text: str, dataset: str = "air_quality") -> Path:
    path = tmp_path / f"{dataset}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_suites_in_the_repository_load_and_are_found_by_dataset() -> None:
    assert suite_datasets() == sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))
    for dataset in suite_datasets():
        suite = suite_for(dataset)
        assert suite is not None and suite.dataset == dataset
    assert suite_for("no_such_dataset") is None


def test_a_plain_suite_file_loads_with_defaults(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, GOOD_SUITE.format(dataset="air_quality")))
    assert suite.dataset == "air_quality" and suite.keys == ()
    assert suite.expectations[0].owner == "miljo"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("expect_column_values_to_not_be_null", "expect_values_to_be_nice"), "unknown expectation"),
        (("severity: blocking", "severity: fatal"), "severity of .* is 'fatal'"),
        (("severity: blocking", "severity: blocking\n    owner: nobody"), "owner 'nobody'"),
        (("severity: blocking", "severity: blocking\n    sevrity: warning"), "unknown keys"),
        (("{column: device_id}", "{colum: device_id}"), "invalid kwargs"),
        (("{column: device_id}", "{column: device_id, mostly: 2}"), "invalid kwargs"),
        (("{column: device_id}", "{column: device_id, severity: warning}"), "runner sets"),
        (("kwargs: {column: device_id}", "kwargs: [device_id]"), "must be a mapping"),
        (("owner: miljo\n", "owner: miljo\ncolumns: []\n"), "unknown keys"),
        (("kwargs: {column: device_id}", "kwargs: {column: '${yesterday}'}"), "unknown run-time"),
        (("kwargs: {column: device_id}", "kwargs: {column: 'x ${now_utc}'}"), "whole value"),
        (("dataset: air_quality", "dataset: traffic_counts"), "file named traffic_counts.yaml"),
        (("expectations:", "expectations: []\nrest:"), "unknown keys|non-empty"),
        (("  - expectation", "  - [expectation"), "not valid YAML"),
    ],
)
def test_an_invalid_suite_file_is_refused_with_a_clear_error(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    text = GOOD_SUITE.format(dataset="air_quality")
    assert change[0] in text
    path = write_suite(tmp_path, text.replace(change[0], change[1], 1))
    with pytest.raises(SuiteError, match=message):
        load_suite(path)


def test_a_missing_suite_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="no suite file"):
        load_suite(tmp_path / "nothing.yaml")
    with pytest.raises(SuiteError, match="no suite file"):
        load_suite("no_such_dataset")


def test_validating_100k_rows_takes(suite: Suite) -> None:
    """Not a benchmark with a limit: prints how long the real suite takes on 100k rows."""
    frame = mart(devices=52, hours=481).head(100_000)
    assert frame.height == 100_000
    started = time.perf_counter()
    result = validate(suite, frame, now=NOW)
    seconds = time.perf_counter() - started
    print(f"\nvalidating {frame.height} rows with {len(suite.expectations)} expectations: {seconds:.2f} s")
    assert result.passed, [r.describe() for r in result.results if r.outcome != "passed"]


def test_a_decimal_count_is_reported_as_such(suite: Suite) -> None:
    """DuckDB's HUGEINT sums arrive as decimals; the type check says so instead of passing."""
    chosen = entries(suite, "expect_column_values_to_be_of_type", {"column": "ok_reading_count"})
    table = mart().to_arrow()
    decimals = pa.array([Decimal(v) for v in table["ok_reading_count"].to_pylist()], pa.decimal128(38, 0))
    table = table.set_column(table.schema.get_field_index("ok_reading_count"), "ok_reading_count", decimals)
    result = validate(chosen, table, now=NOW).results[0]
    assert result.outcome == "failed" and result.observed_value == "Decimal"


def test_a_timestamp_without_time_zone_fails_the_type_and_cannot_be_compared(suite: Suite) -> None:
    naive = mart().with_columns(pl.col("hour_utc").dt.replace_time_zone(None))
    of_type = entries(suite, "expect_column_values_to_be_of_type", {"column": "hour_utc"})
    typed = validate(of_type, naive, now=NOW).results[0]
    assert (typed.outcome, typed.observed_value) == ("failed", "datetime64")
    future = entries(suite, "expect_column_values_to_be_between", {"column": "hour_utc"})
    compared = validate(future, naive, now=NOW).results[0]
    assert compared.outcome == "error" and "offset-naive" in compared.error
