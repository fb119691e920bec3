"""Benchmark: the whole demo (generate + run) and loading the Dagster definitions.

Prints wall time and peak memory of `stadsdata generate` and `stadsdata run` on a fresh
STADSDATA_HOME, and the time to load the definitions next to a baseline measured in the
same run (importing dagster and dagster-dbt alone, which every code location pays).

    python benchmarks/platform_run.py [--days 7] [--scale 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed_child(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command and everything it started."""
    started = time.perf_counter()
    completed = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    # ru_maxrss of waited-for descendants: the largest process of the run (KiB on Linux).
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def median_seconds(code: str, env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    stadsdata = [sys.executable, "-m", "orchestration.cli"]
    with tempfile.TemporaryDirectory(prefix="stadsdata-bench-") as tmp:
        home = Path(tmp) / "home"
        env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"} | {"STADSDATA_HOME": str(home)}
        gen_s, _ = timed_child(
            [
                *stadsdata,
                "generate",
                "--out",
                str(home / "landing"),
                "--days",
                str(args.days),
                "--scale",
                str(args.scale),
            ],
            env,
        )
        landing_mib = sum(p.stat().st_size for p in (home / "landing").rglob("*") if p.is_file()) / 2**20
        run_s, run_peak = timed_child([*stadsdata, "run"], env)
        again_s, _ = timed_child([*stadsdata, "run"], env)
        load = median_seconds(
            "from orchestration.definitions import defs; defs.resolve_asset_graph()", env, args.repeat
        )
        baseline = median_seconds("import dagster, dagster_dbt", env, args.repeat)
    print(f"demo data: {args.days} days at scale {args.scale}: {landing_mib:.1f} MiB landing zone")
    print(f"generate:              {gen_s:7.1f} s")
    print(f"run (first):           {run_s:7.1f} s   peak RSS of the largest process {run_peak:.0f} MiB")
    print(f"demo total:            {gen_s + run_s:7.1f} s   (target < 180 s)")
    print(f"run (again, no new):   {again_s:7.1f} s")
    print(f"definitions load:      {load:7.2f} s   (median of {args.repeat}; target < 5 s)")
    print(f"baseline import:       {baseline:7.2f} s   (import dagster, dagster_dbt)")
    print(f"load / baseline:       {load / baseline:7.2f} x")


if __name__ == "__main__":
    main()
