"""End-to-end suite time of baselines: the local executor vs the Ray executor, same machine.

Runs each baseline over the selected tasks twice, into separate folders, with
``--executor local`` and ``--executor ray`` (a local Ray instance using every core), records
the wall time of each, and checks that both wrote the same results (records compared without
their provenance fields: timestamp, runtimes, memory, hardware).

Usage::

    python benchmarks/executors.py --baselines nearest bilinear bicubic idw guided-filter \\
        --root /tmp/gbdata --out /tmp/gb-executors

Real scenes are read from ``--root`` (build them first with ``geochem-bench download``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROVENANCE = ("timestamp", "runtime", "peak_memory_mb", "hardware")


def comparable(path: Path) -> dict[str, object]:
    """A record without the fields that say when and where it ran."""
    data = json.loads(path.read_text())
    for key in PROVENANCE:
        data.pop(key, None)
    if data.get("failure"):
        data["failure"].pop("traceback", None)
    return data


def run(executor: str, baselines: list[str], tasks: list[str], root: str, out: Path) -> float:
    """Wall seconds to evaluate every baseline with one executor."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    for name in baselines:
        cmd = [
            sys.executable, "-m", "geochem_bench.cli.main", "evaluate", f"baselines/{name}",
            "--out", str(out), "--root", root, "--executor", executor, "--no-resume",
        ]  # fmt: skip
        if tasks:
            cmd += ["--tasks", *tasks]
        subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baselines", nargs="+", default=["nearest", "bilinear", "bicubic", "idw", "guided-filter"]
    )
    parser.add_argument("--tasks", nargs="*", default=[], help="task patterns (default: all)")
    parser.add_argument("--root", required=True, help="data root with the built real scenes")
    parser.add_argument("--out", type=Path, default=Path("/tmp/geochem-bench-executors"))
    args = parser.parse_args()

    times = {
        executor: run(executor, args.baselines, args.tasks, args.root, args.out / executor)
        for executor in ("local", "ray")
    }
    local = sorted(
        p.relative_to(args.out / "local") for p in (args.out / "local").rglob("fold-*.json")
    )
    remote = sorted(
        p.relative_to(args.out / "ray") for p in (args.out / "ray").rglob("fold-*.json")
    )
    same = local == remote and all(
        comparable(args.out / "local" / p) == comparable(args.out / "ray" / p) for p in local
    )
    print(f"| executor | wall time ({len(local)} task folds, {len(args.baselines)} baselines) |")
    print("|---|---:|")
    for executor, seconds in times.items():
        print(f"| {executor} | {seconds:.1f} s |")
    print(f"\nlocal / ray: {times['local'] / times['ray']:.2f}x; identical results: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
