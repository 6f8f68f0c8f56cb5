"""Tiny seeded fake of the uncover-ml Sir Samuel covariate clip, with the quirks of the real one.

Writes the seven GeoTIFFs the scene declares (``U_TH_15.tif``, which the scene never reads,
is not written), single-band, uncompressed and stripped, on one grid of 3 arc-seconds in
EPSG:4326 with the real clip's upper-left corner, like upstream:

* float32 layers whose nodata tag is the float32 lowest value (-3.4028235e38), except
  ``k_15v5.tif``, whose tag and holes are -3.402823e38 (two float32 steps above it), and the
  climate index, whose tag and holes are -9999;
* ``er_depg.tif``: uint8, classes 1 and 2 (class 1 a patch of ~15 % of the cells), nodata 0;
* every layer has the same nodata frame: the first column and the last row;
* eU (``U_15v1.tif``) has a floor: a patch of cells at exactly 0.005 ppm, and (not in the
  pinned files, but airborne radiometric grids can hold them) three values <= 0 that the
  build must keep;
* the DEM alone has a two-cell hole inside the frame (not in the pinned files either), so the
  valid mask must be the cells where *every* layer has data.

The grid is not square (more rows than columns), so a transposed build does not line up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HEIGHT, WIDTH = 65, 49  # rows, columns of the raw clip, frame included
CELL = 0.0008333333333467635  # degrees, as in the real files
LEFT, TOP = 121.35950000002244, -27.342833333322467
FLOAT32_LOWEST = float(np.finfo(np.float32).min)
K_NODATA = float(np.nextafter(np.nextafter(np.float32(FLOAT32_LOWEST), 0), 0))
CLIMATE_NODATA = -9999.0
EU_FLOOR = 0.005
#: (row, col) of the eU values <= 0, inside the frame, and their values.
EU_NOT_POSITIVE = {(5, 7): 0.0, (20, 30): -0.012, (40, 12): -0.003}
#: (row, col) of the DEM's own holes.
DEM_HOLES = ((30, 20), (30, 21))


def _smooth(rng: np.random.Generator, sigma: float) -> np.ndarray:
    """A standardised, spatially smooth random field (HEIGHT, WIDTH)."""
    from scipy import ndimage

    field = ndimage.gaussian_filter(rng.standard_normal((HEIGHT, WIDTH)), sigma)
    return (field - field.mean()) / field.std()


def _write(path: Path, values: np.ndarray, nodata: float) -> None:
    import rasterio
    from affine import Affine
    from rasterio.crs import CRS

    profile = {
        "driver": "GTiff",
        "height": HEIGHT,
        "width": WIDTH,
        "count": 1,
        "dtype": values.dtype.name,
        "crs": CRS.from_epsg(4326),
        "transform": Affine(CELL, 0.0, LEFT, 0.0, -CELL, TOP),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values[None])
        dst.update_tags(AREA_OR_POINT="Area")


def generate(folder: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    frame = np.zeros((HEIGHT, WIDTH), dtype=bool)
    frame[:, 0] = frame[-1, :] = True

    relief = _smooth(rng, 6.0)
    dem = 485.0 + 10.0 * relief
    tpi = 1.5 * _smooth(rng, 1.5)
    gravity = 0.02 * _smooth(rng, 4.0)
    climate = 0.119 + 0.002 * _smooth(rng, 10.0)
    depositional = np.where(_smooth(rng, 5.0) > -1.0, 2, 1).astype(np.uint8)  # ~16 % class 1

    k = np.exp(np.log(0.75) + 0.25 * _smooth(rng, 2.0) - 8.0 * gravity)
    k = np.clip(k, 0.24, 2.39)
    eu = 1.0 + 0.45 * _smooth(rng, 2.0) + 0.3 * relief / 3 - 0.2 * (depositional == 1)
    eu = np.maximum(eu, EU_FLOOR)  # upstream's floor ...
    eu[8:12, 25:29] = EU_FLOOR  # ... and a patch of it
    for (r, c), value in EU_NOT_POSITIVE.items():
        eu[r, c] = value

    def layer(values: np.ndarray, nodata: float, dtype: str = "float32") -> np.ndarray:
        out = values.astype(dtype)
        out[frame] = nodata
        return out

    dem_layer = layer(dem, FLOAT32_LOWEST)
    for cell in DEM_HOLES:
        dem_layer[cell] = np.float32(FLOAT32_LOWEST)
    _write(folder / "k_15v5.tif", layer(k, K_NODATA), K_NODATA)
    _write(folder / "U_15v1.tif", layer(eu, FLOAT32_LOWEST), FLOAT32_LOWEST)
    _write(folder / "dem_foc2.tif", dem_layer, FLOAT32_LOWEST)
    _write(folder / "tpi_300.tif", layer(tpi, FLOAT32_LOWEST), FLOAT32_LOWEST)
    _write(folder / "gg_clip.tif", layer(gravity, FLOAT32_LOWEST), FLOAT32_LOWEST)
    _write(
        folder / "Clim_Prescott_LindaGregory.tif",
        layer(climate, CLIMATE_NODATA),
        CLIMATE_NODATA,
    )
    _write(folder / "er_depg.tif", layer(depositional, 0, "uint8"), 0)
