"""Cloud-Optimized GeoTIFFs of a fused map, and the checks that they are.

A map is written band by band (or window by window, for maps larger than memory) into a
tiled GeoTIFF beside the target, then copied with GDAL's COG driver, which lays the file out
for HTTP range reads (tiles, overviews, the IFDs first) and records ``LAYOUT=COG``. The copy
streams: neither step holds more than a tile of the map. :func:`cog_problems` is the check the
tests and ``geochem-bench map`` run on what they wrote.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.grid import GridSpec
from geochem_bench.core.tiling import Window

#: The value of a cell with no prediction (off the valid mask); NaN would do for readers that
#: honour it, but GIS software treats an explicit nodata value more consistently.
NODATA = -9999.0
#: Tile edge of the COG's internal tiles and of the overviews' smallest level.
BLOCK = 256
#: GDAL block cache while a map is written, in MB.
CACHE_MB = 128


@contextmanager
def cog_writer(
    path: str | Path,
    grid: GridSpec,
    band_names: list[str],
    tags: Mapping[str, str],
) -> Iterator[Callable[[NDArray[np.float32], Window], None]]:
    """Write a COG by windows: yields ``write(bands (B, h, w), window)``.

    NaN cells become :data:`NODATA`. The file appears at ``path`` only when complete (a
    temporary tiled GeoTIFF is converted with the COG driver, then renamed), so an
    interrupted run leaves no half map that opens.
    """
    import rasterio
    import rasterio.shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".staging.tif")
    partial = path.with_name(path.name + ".partial.tif")
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": grid.height,
        "width": grid.width,
        "count": len(band_names),
        "dtype": "float32",
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "BIGTIFF": "IF_SAFER",
    }
    try:
        # GDAL's block cache defaults to 5 % of RAM and fills with the map's tiles as they
        # are written and read back for the overviews: capped, the writer's memory does not
        # grow with the map
        with rasterio.Env(GDAL_CACHEMAX=CACHE_MB), rasterio.open(staging, "w", **profile) as dst:
            for b, name in enumerate(band_names, start=1):
                dst.set_band_description(b, name)
            dst.update_tags(**dict(tags))

            def write(bands: NDArray[np.float32], window: Window) -> None:
                data = np.where(np.isfinite(bands), bands, NODATA).astype(np.float32)
                dst.write(data, window=window.rasterio())

            yield write
        with rasterio.Env(GDAL_CACHEMAX=CACHE_MB):
            rasterio.shutil.copy(
                staging,
                partial,
                driver="COG",
                COMPRESS="DEFLATE",
                PREDICTOR="YES",
                BLOCKSIZE=str(BLOCK),
                OVERVIEWS="AUTO",
                OVERVIEW_RESAMPLING="AVERAGE",
                BIGTIFF="IF_SAFER",
            )
        os.replace(partial, path)
    finally:
        for leftover in (staging, partial):
            leftover.unlink(missing_ok=True)


def cog_problems(path: str | Path, grid: GridSpec | None = None) -> list[str]:
    """Why ``path`` is not a valid COG of ``grid`` (an empty list: it is).

    Checked: GDAL reads it as a GeoTIFF laid out as a COG (``LAYOUT=COG``, what GDAL's COG
    driver writes and its validator requires: tiled, IFDs before the data), 256² tiles,
    overviews on a raster wider than one tile, a nodata value, and (with ``grid``) the CRS,
    transform and shape.
    """
    import rasterio

    problems = []
    with rasterio.open(path) as src:
        if src.driver != "GTiff":
            problems.append(f"driver is {src.driver}, not GTiff")
        layout = src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")
        if layout != "COG":
            problems.append(f"IMAGE_STRUCTURE LAYOUT is {layout!r}, not 'COG'")
        # rasterio's profile calls a one-tile raster untiled: read the tile shape itself
        if any(shape != (BLOCK, BLOCK) for shape in src.block_shapes):
            problems.append(f"internal tiles are {src.block_shapes}, not {BLOCK}x{BLOCK}")
        if max(src.height, src.width) > BLOCK and not src.overviews(1):
            problems.append(f"no overviews on a {src.height}x{src.width} raster")
        if src.nodata is None:
            problems.append("no nodata value")
        if grid is not None:
            if (src.height, src.width) != grid.shape:
                problems.append(f"shape {(src.height, src.width)} is not the grid's {grid.shape}")
            if not src.transform.almost_equals(grid.transform):
                problems.append(f"transform {tuple(src.transform)} is not the grid's")
            expected = None if grid.crs is None else rasterio.crs.CRS.from_user_input(grid.crs)
            if src.crs != expected:
                problems.append(f"CRS {src.crs} is not the grid's {grid.crs}")
    return problems
