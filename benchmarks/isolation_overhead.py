"""Suite time of the fast baselines: the sandboxed harness vs the harness before isolation.

Issue 11 put every model in a confined process forked from a clean model server (Landlock,
namespaces, memory limit) instead of a plain fork of the harness. This script measures what
that costs where it costs most, on the fast baselines (nearest, bilinear, bicubic, IDW), whose
folds take milliseconds. It checks out the pre-isolation commit into a temporary git worktree
and runs ``geochem-bench evaluate`` of each baseline over the selected tasks with both code
versions, alternating them round by round (A B A B ...) so that a busy machine slows both
alike; every run writes to a fresh results folder (no resume). It prints the wall time of
every run, the mean and minimum per version, and the overhead of the sandboxed harness.

Usage::

    GEOCHEM_BENCH_DATA=/tmp/gbdata python benchmarks/isolation_overhead.py --rounds 3

Real scenes are read from the data root (build them first with ``geochem-bench download
--all``); ``--tasks`` selects task patterns (default: every task).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The last commit before the model server and sandbox.
PRE_ISOLATION = "9d0f9e1"
BASELINES = ("nearest", "bilinear", "bicubic", "idw")
CLI = "import sys; from geochem_bench.cli.main import main; sys.exit(main(sys.argv[1:]))"


def run_suite(checkout: Path, tasks: list[str], out: Path) -> float:
    """Seconds to evaluate every fast baseline over ``tasks`` with the code in ``checkout``."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.perf_counter()
    for baseline in BASELINES:
        command = [sys.executable, "-c", CLI, "evaluate", baseline, "--out", str(out)]
        if tasks:
            command += ["--tasks", *tasks]
        result = subprocess.run(command, env=env, cwd=checkout, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{checkout.name} {baseline} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", nargs="*", default=[], help="task patterns (default: all)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gb-isolation-") as tmp:
        old = Path(tmp) / "pre-isolation"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(old), PRE_ISOLATION],
            check=True,
            capture_output=True,
        )
        try:
            versions = {"pre-isolation": old, "sandboxed": REPO}
            times: dict[str, list[float]] = {name: [] for name in versions}
            for round_ in range(args.rounds):
                for name, checkout in versions.items():
                    out = Path(tmp) / f"out-{name}-{round_}"
                    seconds = run_suite(checkout, args.tasks, out)
                    times[name].append(seconds)
                    shutil.rmtree(out, ignore_errors=True)
                    print(f"round {round_ + 1} {name:14s} {seconds:7.1f} s", flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False
            )
    for name, values in times.items():
        print(f"{name:14s} mean {statistics.mean(values):7.1f} s  min {min(values):7.1f} s")
    before, after = (statistics.mean(times[n]) for n in ("pre-isolation", "sandboxed"))
    best_before, best_after = (min(times[n]) for n in ("pre-isolation", "sandboxed"))
    print(
        f"overhead of the sandboxed harness: {100 * (after / before - 1):+.1f} % (means), "
        f"{100 * (best_after / best_before - 1):+.1f} % (minima)"
    )


if __name__ == "__main__":
    main()
