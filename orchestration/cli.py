"""The `stadsdata` command: generate a landing zone, run the platform, show its state.

`run` executes the same Dagster job the UI shows (`stadsdata_run`), in this process,
against the Dagster instance in DAGSTER_HOME (STADSDATA_HOME/dagster by default), so
every run also appears in the UI's history.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from orchestration.home import Home


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="stadsdata", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write a demo landing zone (deterministic)")
    generate.add_argument("--out", type=Path, required=True, help="folder to write <source>/… into")
    generate.add_argument("--days", type=int, default=7, help="days of data (default 7)")
    generate.add_argument("--scale", type=float, default=1.0, help="device count multiplier")
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--start", type=date.fromisoformat, default=None, help="YYYY-MM-DD")

    commands.add_parser("demo", help="generate demo data if the landing zone is empty, then run")
    commands.add_parser("run", help="ingest, transform, check and release, end to end")
    commands.add_parser("prepare", help="build the dbt manifest (done by install/test setup)")

    status = commands.add_parser("status", help="what became of every landing file")
    status.add_argument("--json", action="store_true", help="one JSON object on stdout")
    return parser.parse_args(argv)


def generate(args: argparse.Namespace) -> int:
    from simulation import generate_landing

    summary = generate_landing(args.out, days=args.days, scale=args.scale, seed=args.seed, start=args.start)
    print(f"wrote a landing zone to {args.out.resolve()}:\n{summary.describe()}")
    return 0


def _has_landing_files(home: Home) -> bool:
    return home.landing.is_dir() and any(p.is_file() for p in home.landing.rglob("*"))


def demo(args: argparse.Namespace) -> int:
    home = Home.from_env()
    if not _has_landing_files(home):
        from simulation import generate_landing

        print(f"landing zone {home.landing} is empty: generating demo data")
        generate_landing(home.landing)
    return run(args)


def prepare(args: argparse.Namespace) -> int:
    Home.from_env().export()
    from orchestration.dbt_assets import ensure_manifest

    print(f"dbt manifest: {ensure_manifest()}")
    return 0


def open_instance(open_it: Callable[[], Any]) -> Any:
    """Open the Dagster instance while holding DAGSTER_HOME/.instance.lock.

    Opening a new SQLite instance creates and stamps its tables; two runs started at the
    same moment on a new DAGSTER_HOME both did, which left two alembic heads in runs.db
    and an instance nothing could open again (tests/test_concurrency.py). Once open, the
    runs share the instance, and its pools keep their warehouse steps apart.
    """
    import fcntl

    folder = Path(os.environ["DAGSTER_HOME"])
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".instance.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return open_it()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run(args: argparse.Namespace) -> int:
    home = Home.from_env()
    home.export()
    home.prepare_dagster_home()
    from dagster import DagsterInstance

    from orchestration.automation import RUN_JOB
    from orchestration.definitions import defs

    started = time.monotonic()
    with open_instance(DagsterInstance.get) as instance:
        result = defs.resolve_job_def(RUN_JOB).execute_in_process(instance=instance, raise_on_error=False)
    state = status_document(home)
    this_run = [f for f in state["files"] if f.get("run_id") == result.run_id]
    counts = {s: sum(1 for f in this_run if f["status"] == s) for s in ("loaded", "rejected", "duplicate")}
    print(
        f"\nrun {result.run_id} {'succeeded' if result.success else 'FAILED'} "
        f"in {time.monotonic() - started:.0f} s"
    )
    print(
        f"landing files this run: {counts['loaded']} loaded, {counts['rejected']} rejected "
        f"(quarantined in {home.root / 'quarantine'}), {counts['duplicate']} duplicate"
    )
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                print(f"failed: {event.step_key}: {event.event_specific_data.error.message.strip()}")
    if state["pending"]:
        print(f"{len(state['pending'])} landing file(s) not taken in yet (see `stadsdata status`)")
        if not os.environ.get("STADSDATA_PSEUDONYM_KEY"):
            print("sources holding personal data wait for STADSDATA_PSEUDONYM_KEY (see README)")
    print(f"latest release: {state['latest_release'] or 'none yet'}")
    print(
        "open the Dagster UI on the same definitions and run history:\n"
        f"  DAGSTER_HOME={home.dagster_home} STADSDATA_HOME={home.root} dagster dev"
    )
    return 0 if result.success else 1


def status_document(home: Home) -> dict:
    """The landing zone's state as the ledger records it; see DESIGN.md for the shape."""
    from ingestion.contracts import all_contracts
    from ingestion.ledger import all_entries
    from ingestion.run import landing_files

    entries = all_entries(home.lake.ledger)
    recorded = {(e.file, e.sha256) for e in entries}
    recorded_files = {e.file for e in entries}
    pending = [
        p.relative_to(home.landing).as_posix()
        for source in sorted(all_contracts())
        for p in landing_files(home.landing, source)
        if p.relative_to(home.landing).as_posix() not in recorded_files
    ]
    latest = home.releases / "latest"
    return {
        "home": str(home.root),
        "files": [asdict(e) for e in entries],
        "pending": pending,
        "latest_release": str(latest.resolve()) if latest.exists() else None,
        "totals": {
            "files": len(recorded),
            "rows_read": sum(e.rows_read for e in entries),
            "rows_loaded": sum(e.rows_loaded for e in entries),
            "rows_rejected": sum(e.rows_rejected for e in entries),
        },
    }


def status(args: argparse.Namespace) -> int:
    document = status_document(Home.from_env())
    if args.json:
        json.dump(document, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    for entry in document["files"]:
        print(
            f"{entry['status']:9} {entry['rows_loaded']:>8} loaded {entry['rows_rejected']:>6} rejected"
            f"  {entry['file']}" + (f"  ({entry['reason']})" if entry["reason"] else "")
        )
    print(f"pending: {len(document['pending'])} file(s); latest release: {document['latest_release']}")
    return 0


COMMANDS = {"generate": generate, "demo": demo, "run": run, "status": status, "prepare": prepare}


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
