"""A synthetic scene of any size, generated and written tile by tile in bounded memory.

The canonical synthetic scene (:mod:`geochem_bench.scenes.synthetic`) is built from global
operations (Fourier random fields, distance transforms) and must fit in memory. For the
scale benchmarks of national-size grids (16384² fine cells and more) this generator builds
every field from *value noise*: pseudo-random values on a lattice, keyed by a hash of the
lattice coordinates and the seed, interpolated with smoothstep weights. A cell's value
depends only on the lattice around it, so any window can be generated on its own and tiles
join without seams: the scene is identical whatever the tile size.

Fields (in the store layout of :mod:`geochem_bench.data.store`, readable by
:class:`geochem_bench.evaluation.tiled.DiskScene`): four covariate bands mixing four octaves
of noise;
Cu (mg/kg, log10 space) and Fe (%, linear) depending on the bands plus their own noise; a
valid mask with "lakes" where a broad noise field is high.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from numpy.typing import NDArray

from geochem_bench.core.atomic import atomic_path, write_text_atomic
from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.tiling import Window, tiles
from geochem_bench.data.geotiff import windowed_profile
from geochem_bench.data.store import STORE_FORMAT

GENERATOR_VERSION = "1.0.0"
CELL_SIZE = 30.0
CRS = "EPSG:32633"
BAND_NAMES = ("b1", "b2", "b3", "b4")
ELEMENTS = (
    Element("Cu", "mg/kg", "log10"),
    Element("Fe", "%", "linear"),
)
_OCTAVES = ((1024.0, 1.0), (256.0, 0.5), (64.0, 0.3), (16.0, 0.2))
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _hash_uniform(seed: int, i: NDArray[np.int64], j: NDArray[np.int64]) -> NDArray[np.float64]:
    """Uniform values in [-1, 1) from integer lattice coordinates (splitmix64 finaliser)."""
    with np.errstate(over="ignore"):
        z = (
            i.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
            ^ j.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
            ^ np.uint64(seed & 0xFFFFFFFF) * np.uint64(0x165667B19E3779F9)
        ) & _MASK
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53) * 2.0 - 1.0


def _weights(start: int, stop: int, wavelength: float) -> tuple[NDArray[np.float64], int]:
    """Dense (n_cells, n_lattice) smoothstep interpolation weights and the first lattice index."""
    pos = (np.arange(start, stop) + 0.5) / wavelength
    base = np.floor(pos).astype(np.int64)
    frac = pos - base
    smooth = frac * frac * (3.0 - 2.0 * frac)
    first = int(base.min())
    n = int(base.max()) - first + 2
    w = np.zeros((stop - start, n))
    rows = np.arange(stop - start)
    w[rows, base - first] = 1.0 - smooth
    w[rows, base - first + 1] = smooth
    return w, first


def value_noise(seed: int, window: Window, wavelength: float) -> NDArray[np.float64]:
    """Value noise over a window of the global grid, in [-1, 1]."""
    wy, i0 = _weights(window.row0, window.row1, wavelength)
    wx, j0 = _weights(window.col0, window.col1, wavelength)
    i = np.arange(i0, i0 + wy.shape[1])[:, None]
    j = np.arange(j0, j0 + wx.shape[1])[None, :]
    lattice = _hash_uniform(seed, i, j)
    return np.asarray(wy @ lattice @ wx.T)


def fractal_noise(seed: int, window: Window, scale: float = 1.0) -> NDArray[np.float64]:
    """Four octaves of value noise; ``scale`` stretches every wavelength."""
    return sum(
        (
            amp * value_noise(seed * 31 + k, window, wl * scale)
            for k, (wl, amp) in enumerate(_OCTAVES)
        ),
        start=np.zeros(window.shape),
    )


def generate_window(seed: int, window: Window) -> dict[str, NDArray[Any]]:
    """Covariates (4, h, w), truth (2, h, w) and valid (1, h, w) over one window."""
    bands = np.stack([fractal_noise(seed * 101 + b, window) for b in range(len(BAND_NAMES))])
    own = fractal_noise(seed * 101 + 50, window, scale=0.25)
    log_cu = 1.6 + 0.35 * bands[0] - 0.2 * bands[1] + 0.15 * bands[2] * bands[3] + 0.12 * own
    fe = 4.0 + 1.2 * bands[2] + 0.6 * bands[1] ** 2 + 0.3 * fractal_noise(seed * 101 + 51, window)
    lake = value_noise(seed * 101 + 60, window, 600.0) > 0.6
    truth = np.stack([10.0**log_cu, np.maximum(fe, 0.05)])
    truth[:, lake] = np.nan
    covariates = 0.2 + 0.05 * bands
    return {
        "covariates": covariates.astype(np.float32),
        "truth": truth.astype(np.float32),
        "valid": (~lake)[None].astype(np.uint8),
    }


def write_large_synthetic(
    out_dir: str | Path, size: int, seed: int = 0, tile: int = 1024
) -> GridSpec:
    """Generate a ``size`` x ``size`` scene tile by tile into ``out_dir`` (store layout).

    Peak memory is a few tiles, whatever ``size``; the files are written atomically.
    """
    import rasterio

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    grid = GridSpec(
        size, size, Affine(CELL_SIZE, 0.0, 500_000.0, 0.0, -CELL_SIZE, 7_000_000.0), CRS
    )
    specs = {
        "covariates": (len(BAND_NAMES), "float32"),
        "truth": (2, "float32"),
        "valid": (1, "uint8"),
    }
    with (
        atomic_path(out / "covariates.tif", ".tif") as cov_tmp,
        atomic_path(out / "truth.tif", ".tif") as truth_tmp,
        atomic_path(out / "valid.tif", ".tif") as valid_tmp,
    ):
        paths = {"covariates": cov_tmp, "truth": truth_tmp, "valid": valid_tmp}
        files = {
            name: rasterio.open(paths[name], "w", **windowed_profile(grid, count, dtype))
            for name, (count, dtype) in specs.items()
        }
        try:
            for win in tiles(size, size, tile, 256):
                for name, data in generate_window(seed, win).items():
                    files[name].write(data, window=win.rasterio())
        finally:
            for f in files.values():
                f.close()
    meta = {
        "format": STORE_FORMAT,
        "name": f"synthetic-large-{size}",
        "version": GENERATOR_VERSION,
        "grid": grid.to_dict(),
        "band_names": list(BAND_NAMES),
        "elements": [e.to_dict() for e in ELEMENTS],
        "licence": "CC0-1.0",
        "citation": f"geochem-bench tileable synthetic generator {GENERATOR_VERSION}",
        "description": "value-noise scene for scale benchmarks",
        "options": {"seed": seed, "size": size},
        "splits": {},
    }
    write_text_atomic(out / "scene.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return grid
