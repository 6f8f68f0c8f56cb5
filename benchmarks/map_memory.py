"""Peak memory of a streamed map (``geochem-bench map --tile``) as the survey grows.

For each edge (default 2048, 4096, 8192 fine cells) this builds a seeded gridded survey:
two covariates (a smooth field and noise, float32) and a lowres grid ``--scale`` times
coarser of a log-normal field driven by the smooth one. Then, per method, it runs
``geochem-bench map`` twice in a fresh process: the first run cross-validates (Wald tasks)
and maps; the second reuses the records and only fits, streams and writes the COG, and its
peak RSS is the number reported (``getrusage`` of the finished child). A flat column means
the map's memory does not grow with the survey.

With ``--samples N`` the survey has ``N`` seeded samples of the element instead of a lowres
grid, and the map is made from them (a points task): the measured child calls
``streamed_map`` itself (fit on every sample, their covariates read at their cells; tiles
predicted and written), without the cross-validation and the report, whose folds predict
the whole grid in memory five times over. ``--in-memory`` measures the in-memory map of
the same survey beside it (the path a map from samples took before it streamed).

Usage::

    python benchmarks/map_memory.py --edges 2048 4096 8192 --methods atprk fusion-cnn
    python benchmarks/map_memory.py --edges 2048 4096 8192 --methods regression-kriging \
        --samples 1000 --scale 4 --in-memory
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def build_survey(folder: Path, edge: int, scale: int, seed: int = 0, samples: int = 0) -> Path:
    """A survey of ``edge``² fine cells written by make-task; returns its folder.

    Gridded (a lowres grid ``scale`` times coarser) by default; with ``samples``, that many
    samples off the cell centres, and points tasks at ``scale``.
    """
    import rasterio
    from rasterio.transform import from_origin
    from scipy import ndimage

    from geochem_bench.core.grid import block_mean
    from geochem_bench.scenes.survey import make_survey

    rng = np.random.default_rng(seed)
    coarse_noise = rng.normal(size=(edge // 8, edge // 8)).astype(np.float32)
    smooth = ndimage.zoom(ndimage.gaussian_filter(coarse_noise, 2), 8, order=1)[:edge, :edge]
    smooth = ((smooth - smooth.mean()) / smooth.std()).astype(np.float32)
    noise = rng.normal(size=(edge, edge)).astype(np.float32)
    transform = from_origin(500000.0, 4000000.0, 30.0, 30.0)
    paths = []
    for name, band in (("smooth", smooth), ("noise", noise)):
        path = folder / f"{name}.tif"
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            height=edge,
            width=edge,
            count=1,
            dtype="float32",
            crs="EPSG:32633",
            transform=transform,
            tiled=True,
        ) as dst:
            dst.write(band[None])
        paths.append(path)
    field = (10 ** (1.5 + 0.3 * smooth)).astype(np.float32)
    coarse, _ = block_mean(field[None], scale)
    lowres = folder / "Cu.tif"
    with rasterio.open(
        lowres,
        "w",
        driver="GTiff",
        height=coarse.shape[1],
        width=coarse.shape[2],
        count=1,
        dtype="float32",
        crs="EPSG:32633",
        transform=from_origin(500000.0, 4000000.0, 30.0 * scale, 30.0 * scale),
    ) as dst:
        dst.write(coarse.astype(np.float32))
    del noise
    out = folder / "survey"
    if samples:
        rows, cols = rng.integers(0, edge, samples), rng.integers(0, edge, samples)
        x = 500000.0 + 30.0 * (cols + rng.uniform(0.05, 0.95, samples))
        y = 4000000.0 - 30.0 * (rows + rng.uniform(0.05, 0.95, samples))
        cu = field[rows, cols] * 10 ** rng.normal(0.0, 0.05, samples)
        table = folder / "samples.csv"
        table.write_text(
            "x,y,Cu\n" + "".join(f"{a:.3f},{b:.3f},{c:.6g}\n" for a, b, c in zip(x, y, cu))
        )
        del smooth, field
        make_survey(f"mem{edge}", paths, table, out, scales=(scale,))
    else:
        del smooth, field
        make_survey(f"mem{edge}", paths, None, out, lowres_grid=lowres)
    return out


#: Runs argv[1:] and prints its peak RSS (MiB): a fresh, small parent for the measured child.
FRESH = (
    "import resource, subprocess, sys; "
    "run = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
    "sys.stderr.write(run.stderr); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); "
    "sys.exit(run.returncode)"
)

#: The measured child of a map from samples: ``streamed_map`` (or the in-memory map) of Cu.
SAMPLES_PROBE = """
import resource, sys
from pathlib import Path
from geochem_bench.evaluation.submission import load_submission
from geochem_bench.mapping.fused_map import in_memory_map, map_plans, streamed_map
from geochem_bench.mapping.survey_view import SurveyView
from geochem_bench.scenes.survey import register_survey

survey, method, out, tile, mode = sys.argv[1:6]
entry = register_survey(survey)
view = SurveyView.open(survey)
(plan,) = map_plans(Path(survey), view, entry.tasks, ["Cu"], None)
submission = load_submission(method)
if mode == "stream":
    streamed_map(view, plan, submission, 0, Path(out), tile=int(tile), progress=False)
else:
    in_memory_map(entry.loader(), plan, submission, 0, Path(out), view)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def main(argv: list[str] | None = None) -> None:
    """Print one Markdown row per (edge, method)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", nargs="+", type=int, default=[2048, 4096, 8192])
    parser.add_argument("--methods", nargs="+", default=["atprk", "fusion-cnn"])
    parser.add_argument("--scale", type=int, default=16)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--samples", type=int, default=0, help="map from N samples")
    parser.add_argument("--in-memory", action="store_true", help="with --samples: also in memory")
    args = parser.parse_args(argv)
    if args.samples:
        samples_rows(args)
        return
    exe = [str(Path(sys.executable).with_name("geochem-bench"))]
    print("| fine cells | method | peak RSS of the map run (MiB) | wall (s) |")
    print("|---|---|---:|---:|")
    for method in args.methods:
        for edge in args.edges:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                survey = build_survey(folder, edge, args.scale)
                base = [*exe, "map", str(survey), "--method", method, "--tile", str(args.tile)]
                results = ["--results", str(folder / "cv")]
                subprocess.run(
                    [*base, *results, "--out", str(folder / "first")],
                    check=True,
                    stdout=subprocess.DEVNULL,
                    env=os.environ | {"MPLBACKEND": "Agg"},
                )
                # a fresh interpreter per measurement: RUSAGE_CHILDREN keeps the maximum
                probe = (
                    "import resource, subprocess, sys; "
                    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
                    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
                )
                start = time.perf_counter()
                rss = subprocess.run(
                    [sys.executable, "-c", probe, *base, *results, "--out", str(folder / "m")],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.strip()
                wall = time.perf_counter() - start
                print(f"| {edge}² | {method} | {float(rss):.0f} | {wall:.0f} |", flush=True)


def samples_rows(args: argparse.Namespace) -> None:
    """Rows of maps from samples: streamed (and in memory), one fresh process each."""
    print("| fine cells | method | path | peak RSS (MiB) | wall (s) |")
    print("|---|---|---|---:|---:|")
    modes = ["stream", "memory"] if args.in_memory else ["stream"]
    for method in args.methods:
        for edge in args.edges:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                survey = build_survey(folder, edge, args.scale, samples=args.samples)
                for mode in modes:
                    start = time.perf_counter()
                    # through a small interpreter: a child forked from this process (which just
                    # built the survey in memory) would inherit its peak RSS across exec, so
                    # the child's own getrusage would report this process's, not the map's
                    run = subprocess.run(
                        [
                            sys.executable,
                            "-c",
                            FRESH,
                            sys.executable,
                            "-c",
                            SAMPLES_PROBE,
                            str(survey),
                            method,
                            str(folder / f"{mode}.tif"),
                            str(args.tile),
                            mode,
                        ],
                        capture_output=True,
                        text=True,
                    )
                    wall = time.perf_counter() - start
                    if run.returncode:
                        tail = run.stderr.strip().splitlines()[-1:] or ["?"]
                        print(f"| {edge}² | {method} | {mode} | failed: {tail[0]} | {wall:.0f} |")
                        continue
                    rss = float(run.stdout.strip().splitlines()[-1])
                    print(f"| {edge}² | {method} | {mode} | {rss:.0f} | {wall:.0f} |", flush=True)


if __name__ == "__main__":
    main()
