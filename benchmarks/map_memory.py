"""Peak memory of a streamed map (``geochem-bench map --tile``) as the survey grows.

For each edge (default 2048, 4096, 8192 fine cells) this builds a seeded gridded survey:
two covariates (a smooth field and noise, float32) and a lowres grid ``--scale`` times
coarser of a log-normal field driven by the smooth one. Then, per method, it runs
``geochem-bench map`` twice in a fresh process: the first run cross-validates (Wald tasks)
and maps; the second reuses the records and only fits, streams and writes the COG, and its
peak RSS is the number reported (``getrusage`` of the finished child). A flat column means
the map's memory does not grow with the survey.

Usage::

    python benchmarks/map_memory.py --edges 2048 4096 8192 --methods atprk fusion-cnn
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


def build_survey(folder: Path, edge: int, scale: int, seed: int = 0) -> Path:
    """A gridded survey of ``edge``² fine cells written by make-task; returns its folder."""
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
    del smooth, noise, field
    out = folder / "survey"
    make_survey(f"mem{edge}", paths, None, out, lowres_grid=lowres)
    return out


def main(argv: list[str] | None = None) -> None:
    """Print one Markdown row per (edge, method)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", nargs="+", type=int, default=[2048, 4096, 8192])
    parser.add_argument("--methods", nargs="+", default=["atprk", "fusion-cnn"])
    parser.add_argument("--scale", type=int, default=16)
    parser.add_argument("--tile", type=int, default=1024)
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    main()
