"""Production storage: `stadsdata run` against a Dagster instance that keeps its runs,
events and pool slots in PostgreSQL, configured by deploy/dagster.yaml as it is shipped.

The test starts its own PostgreSQL server from Debian's `postgresql` binaries, in a
temporary folder, on a free loopback port, with password authentication (the password
reaches Dagster only through the environment, as in production), and stops it by the
postmaster's process id. The platform code is the same; only DAGSTER_HOME differs.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STADSDATA = [sys.executable, "-m", "orchestration.cli"]
PASSWORD = "stadsdata-test-only"
pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@dataclass(frozen=True)
class Server:
    port: int
    user: str
    database: str

    def env(self) -> dict[str, str]:
        """The variables deploy/dagster.yaml reads."""
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": PASSWORD,
            "DAGSTER_PG_DB": self.database,
        }

    def connect(self):
        import psycopg2

        return psycopg2.connect(
            host="127.0.0.1", port=self.port, user=self.user, password=PASSWORD, dbname=self.database
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql)")
    return Path(found[-1]).parent


def _as_server_user() -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its binaries as `postgres`."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no `postgres` user to run the server as")
    return ["runuser", "-u", "postgres", "--"]


def _wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def postgres() -> Iterator[Server]:
    binaries, prefix = _server_binaries(), _as_server_user()
    # Not under pytest's tmp_path: its parents are root-only, and the server user must reach it.
    folder = Path(tempfile.mkdtemp(prefix="stadsdata-pg-"))
    data, socket_dir, password_file = folder / "data", folder / "socket", folder / "password"
    socket_dir.mkdir()
    password_file.write_text(PASSWORD + "\n")
    if prefix:
        for path in (folder, socket_dir, password_file):
            shutil.chown(path, "postgres", "postgres")
    server, port, pid = Server(_free_port(), "dagster", "stadsdata_dagster"), None, None
    try:
        subprocess.run(
            [
                *prefix,
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                server.user,
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
        )
        port = server.port
        started = subprocess.run(
            [
                *prefix,
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(folder / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1",
                "start",
            ],
            capture_output=True,
            text=True,
        )
        assert started.returncode == 0, started.stdout + started.stderr + _tail(folder / "server.log")
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=port, user=server.user, password=PASSWORD, dbname="postgres"
        )
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with connection.cursor() as cursor:
            cursor.execute(f"create database {server.database}")
        connection.close()
        yield server
    finally:
        if pid is not None:
            os.kill(pid, signal.SIGINT)  # the postmaster's "fast" shutdown
            if not _wait_for_exit(pid, 60):
                os.kill(pid, signal.SIGKILL)
                _wait_for_exit(pid, 10)
        shutil.rmtree(folder, ignore_errors=True)


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STADSDATA, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


def _rows(server: Server, sql: str, *params) -> list[tuple]:
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


def test_a_run_is_recorded_in_postgresql(postgres: Server, tmp_path: Path) -> None:
    from orchestration.definitions import defs

    dagster_home, home = tmp_path / "dagster", tmp_path / "home"
    dagster_home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, **postgres.env(), "DAGSTER_HOME": str(dagster_home), "STADSDATA_HOME": str(home)}

    generated = _cli(["generate", "--out", str(home / "landing"), "--days", "1", "--seed", "3"], env)
    assert generated.returncode == 0, generated.stderr[-3000:]
    run = _cli(["run"], env)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]

    runs = _rows(postgres, "select run_id, pipeline_name, status from runs")
    assert len(runs) == 1, runs
    run_id, job, status = runs[0]
    assert (job, status) == ("stadsdata_run", "SUCCESS")
    assert f"run {run_id} succeeded" in run.stdout

    materialized = {
        key
        for (key,) in _rows(
            postgres,
            "select asset_key from event_logs where run_id = %s and dagster_event_type = %s",
            run_id,
            "ASSET_MATERIALIZATION",
        )
    }
    graph = defs.resolve_asset_graph()
    expected = {k.to_string() for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert materialized == expected
    assert '["release", "open_data"]' in materialized

    checks = {
        (key, name): status
        for key, name, status in _rows(
            postgres,
            "select asset_key, check_name, execution_status from asset_check_executions where run_id = %s",
            run_id,
        )
    }
    assert set(checks) == {(c.asset_key.to_string(), c.name) for c in graph.asset_check_keys}
    suite = checks[('["marts", "fct_air_quality_hourly"]', "fct_air_quality_hourly_expectations")]
    assert suite in {"SUCCEEDED", "FAILED"}, "the suite ran and its result is stored"
    assert checks[('["bronze", "air_quality"]', "air_quality_freshness")] in {"SUCCEEDED", "FAILED"}

    pools = {name for (name,) in _rows(postgres, "select concurrency_key from concurrency_limits")}
    assert {"warehouse", "ingest_air_quality"} <= pools, "pools live in PostgreSQL too"
    assert not list(dagster_home.rglob("*.db")), "nothing may fall back to SQLite"
