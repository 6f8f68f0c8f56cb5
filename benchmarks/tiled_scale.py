"""Peak memory and time of tiled vs in-memory grid evaluation as the scene grows.

For each size, a tileable synthetic scene (value noise; Cu log10 + Fe linear, 4 bands) is
generated tile by tile into a scratch folder, then evaluated with bicubic upsampling at x8 in
a fresh child process, whose peak RSS and wall time are measured (``os.wait4``); ``--model
atpk`` runs area-to-point kriging in the tiled path instead (the in-memory path stays bicubic):

- ``tiled``: :func:`geochem_bench.evaluation.tiled.evaluate_tiled`, 1024² tiles;
- ``in-memory``: the harness path (read the whole scene, build the fold, predict, score),
  for sizes up to ``--in-memory-max``.

Usage::

    python benchmarks/tiled_scale.py --sizes 2048 8192 16384 --scratch /tmp/gb-scale

The scenes take about 0.1 GB of disk at 2048², 1.9 GB at 8192² and 7.5 GB at 16384². Prints a
Markdown table (and writes JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

TILED = """
import sys
from geochem_bench.models.area_to_point import AreaToPointKriging
from geochem_bench.models.upsampling import BicubicUpsampling
from geochem_bench.evaluation.tiled import DiskScene, evaluate_tiled
model = {"bicubic": BicubicUpsampling, "atpk": lambda: AreaToPointKriging(3, back_projection=3)}
r = evaluate_tiled(DiskScene.open(sys.argv[1]), 8, model[sys.argv[2]](), tile=1024)
print(r.metrics["Cu"]["rmse"], r.metrics["Fe"]["rmse"])
"""

IN_MEMORY = """
import sys
from geochem_bench.models.upsampling import BicubicUpsampling, upsample_lowres
from geochem_bench.tasks.protocols import build_fold
from geochem_bench.evaluation.scoring import error_blocks, score_fold, validate_prediction
from geochem_bench.data.store import read_scene
from geochem_bench.core.task import TaskSpec
scene = read_scene(sys.argv[1])
inputs, held_out = build_fold(scene, TaskSpec(scene.name, ("Cu", "Fe"), 8, "grid"), 0)
prediction = validate_prediction(BicubicUpsampling().predict(inputs), inputs)
reference = upsample_lowres(inputs, "bicubic")
table = score_fold(inputs, held_out, prediction, reference)
error_blocks(inputs, held_out, prediction, reference)
print(table["Cu"]["rmse"], table["Fe"]["rmse"])
"""


def measure(code: str, scene: Path, *args: str) -> dict[str, float | str]:
    """Run ``code`` in a fresh interpreter; wall seconds, peak RSS (MiB) and its output."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(scene), *args], stdout=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read().strip() if proc.stdout else ""
    if status != 0:
        raise RuntimeError(f"benchmark child failed with status {status}")
    return {"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024.0, "rmse": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 8192, 16384])
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/geochem-bench-scale"))
    parser.add_argument("--in-memory-max", type=int, default=8192)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument(
        "--model",
        choices=["bicubic", "atpk"],
        default="bicubic",
        help="tiled model (atpk: radius 3, 3 back-projection steps); in-memory is bicubic",
    )
    args = parser.parse_args()

    from geochem_bench.data.tileable_synthetic import write_large_synthetic

    rows = []
    for size in args.sizes:
        folder = args.scratch / str(size)
        if not (folder / "scene.json").is_file():
            t0 = time.perf_counter()
            write_large_synthetic(folder, size)
            print(f"generated {size}² in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        row: dict[str, object] = {"size": size, "cells": size * size}
        row["tiled"] = measure(TILED, folder, args.model)
        if size <= args.in_memory_max:
            row["in_memory"] = measure(IN_MEMORY, folder)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    print("| fine cells | tiled time | tiled peak RSS | in-memory time | in-memory peak RSS |")
    print("|---:|---:|---:|---:|---:|")
    for row in rows:
        tiled = row["tiled"]
        mem = row.get("in_memory")
        mem_text = (
            f"{mem['wall_s']:.1f} s | {mem['peak_rss_mib']:.0f} MiB"  # type: ignore[index]
            if mem
            else "not run | not run"
        )
        print(
            f"| {row['size']}² | {tiled['wall_s']:.1f} s | {tiled['peak_rss_mib']:.0f} MiB "  # type: ignore[index]
            f"| {mem_text} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
