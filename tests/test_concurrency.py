"""Two runs at once never write the DuckDB warehouse at the same time.

Two `stadsdata run` processes start at the same moment on one new STADSDATA_HOME, as two
cron entries or an impatient operator would. Each executes the job in its own process
(`execute_in_process`), and the Dagster instance they share admits one step per pool at a
time: `ingest_<source>` for each source, `warehouse` for every step that writes or reads
the warehouse. What this test found and pins:

- pools are honoured across processes by the in-process executor (it claims slots in the
  instance's storage; a blocked step logs "Step blocked by limit for pool ...");
- two processes opening a *new* SQLite instance at once both created its tables, leaving
  two alembic heads in runs.db and an instance nothing could open again; `stadsdata run`
  now opens the instance under a file lock (orchestration/cli.py `open_instance`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STADSDATA = [sys.executable, "-m", "orchestration.cli"]
WAREHOUSE_POOL = "warehouse"
# DuckDB's and SQLite's lock errors, and the broken-instance error of the race fixed above.
LOCK_ERRORS = ("Could not set lock on file", "database is locked", "Conflicting lock", "more than one head")


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "STADSDATA_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)  # both runs find STADSDATA_HOME/dagster by themselves
    return env


def _step_intervals(instance, run_id: str) -> dict[str, tuple[datetime, datetime]]:
    """Each step's start and end (success or failure) as the instance recorded them."""
    from dagster import DagsterEventType

    kinds = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}
    starts, ends = {}, {}
    for entry in instance.all_logs(run_id, of_type=kinds):
        event = entry.get_dagster_event()
        moment = datetime.fromtimestamp(entry.timestamp)
        if event.event_type == DagsterEventType.STEP_START:
            starts[event.step_key] = moment
        else:
            ends[event.step_key] = moment
    assert set(starts) == set(ends), "every started step finished"
    return {key: (starts[key], ends[key]) for key in starts}


def _warehouse_steps() -> set[str]:
    from orchestration.automation import RUN_JOB
    from orchestration.definitions import defs

    job = defs.resolve_job_def(RUN_JOB)
    return {node.name for node in job.nodes if node.definition.pool == WAREHOUSE_POOL}


@pytest.mark.slow
def test_two_runs_at_once_take_turns_at_the_warehouse(tmp_path: Path) -> None:
    from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
    from dagster._core.instance.ref import InstanceRef

    home = tmp_path / "home"
    generated = subprocess.run(
        [*STADSDATA, "generate", "--out", str(home / "landing"), "--days", "1", "--seed", "9"],
        cwd=REPO,
        env=_env(home),
        capture_output=True,
        text=True,
    )
    assert generated.returncode == 0, generated.stderr[-3000:]

    logs = [(tmp_path / f"run_{n}.log").open("w+") for n in (1, 2)]
    runs = [
        subprocess.Popen([*STADSDATA, "run"], cwd=REPO, env=_env(home), stdout=log, stderr=subprocess.STDOUT)
        for log in logs
    ]
    for process in runs:
        process.wait(timeout=1800)
    outputs = []
    for log in logs:
        log.seek(0)
        outputs.append(log.read())
        log.close()
    for process, output in zip(runs, outputs, strict=True):
        assert process.returncode == 0, output[-6000:]
        for error in LOCK_ERRORS:
            assert error not in output, f"{error!r} in a run's output"

    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home / "dagster"))) as instance:
        records = instance.get_run_records()
        assert len(records) == 2
        assert {r.dagster_run.status for r in records} == {DagsterRunStatus.SUCCESS}
        run_ids = [r.dagster_run.run_id for r in records]
        blocked = [
            entry.get_dagster_event().message
            for run_id in run_ids
            for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
            if "blocked by limit for pool" in (entry.get_dagster_event().message or "")
        ]
        warehouse_steps = _warehouse_steps()
        intervals = [
            (start, end, run_id, step)
            for run_id in run_ids
            for step, (start, end) in _step_intervals(instance, run_id).items()
            if step in warehouse_steps
        ]

    assert blocked, "started together, one run must have waited for a pool the other held"
    assert {run_id for *_, run_id, _ in intervals} == set(run_ids), "both runs used the warehouse"
    intervals.sort()
    for before, after in zip(intervals, intervals[1:], strict=False):
        assert before[1] <= after[0], f"warehouse steps overlap: {before} and {after}"

    # Each landing file was taken in once, by one of the two runs.
    status = json.loads(
        subprocess.run(
            [*STADSDATA, "status", "--json"], cwd=REPO, env=_env(home), capture_output=True, text=True
        ).stdout
    )
    keys = [(f["file"], f["sha256"]) for f in status["files"]]
    assert len(keys) == len(set(keys))
    assert {f["run_id"] for f in status["files"]} <= set(run_ids)
