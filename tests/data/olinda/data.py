"""Tiny seeded fake of the Olinda raw files: 6-band uint8 Landsat with sea and saturated
pixels, and a coarser DEM with a custom, EPSG-less WKT that stops short of the image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CUSTOM_WKT = (
    'PROJCS["UTM Zone 25, Southern Hemisphere",GEOGCS["GRS 1980(IUGG, 1980)",'
    'DATUM["unknown",SPHEROID["GRS80",6378137,298.257222101],TOWGS84[0,0,0,0,0,0,0]],'
    'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",-33],'
    'PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],'
    'PARAMETER["false_northing",10000000],UNIT["Meter",1]]'
)


def generate(folder: Path, seed: int = 0) -> None:
    import rasterio
    from affine import Affine
    from rasterio.crs import CRS

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    h, w = 48, 40
    left, top = 288776.25, 9120760.75
    dn = rng.integers(40, 200, (6, h, w))
    dn[3, :, w - 8 :] = 12  # the sea: dark in the NIR
    dn[:, 3, 3] = 255  # a saturated pixel
    profile = {
        "driver": "GTiff",
        "height": h,
        "width": w,
        "count": 6,
        "dtype": "uint8",
        "crs": CRS.from_epsg(31985),
        "transform": Affine(28.5, 0, left, 0, -28.5, top),
    }
    with rasterio.open(folder / "L7_ETMs.tif", "w", **profile) as dst:
        dst.write(dn.astype(np.uint8))
    dem_cell = 89.994
    n = int(h * 28.5 // dem_cell)  # stops short of the southern edge, like the real one
    dem = rng.uniform(0, 80, (n, int(w * 28.5 // dem_cell) + 1)).astype(np.float32)
    profile = {
        "driver": "GTiff",
        "height": dem.shape[0],
        "width": dem.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": CRS.from_wkt(CUSTOM_WKT),
        "transform": Affine(dem_cell, 0, left, 0, -dem_cell, top),
    }
    with rasterio.open(folder / "olinda_dem_utm25s.tif", "w", **profile) as dst:
        dst.write(dem[None])
