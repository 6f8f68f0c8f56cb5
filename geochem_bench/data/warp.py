"""Bands of a user's raster onto a grid with GDAL's warper (another CRS, cell size or origin).

Used where a survey's inputs meet its grid: covariates onto the first covariate's grid, a
lowres geochemical grid onto the covariates' coarse grid. Unlike :mod:`geochem_bench.data.regrid`
(bit-reproducible rules between grids of one CRS, for the official scenes) this reprojects,
and NaN is nodata on both sides.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.grid import GridSpec


def warp_bands(
    data: NDArray[np.float32],
    src_transform: Any,
    src_crs: Any,
    dst: GridSpec,
    resampling: str,
) -> NDArray[np.float32]:
    """Every band of ``data`` (B, h, w) on grid ``dst`` (B, H, W), NaN where nothing falls.

    Args:
        data: the source bands, NaN for nodata.
        src_transform: the source's affine transform.
        src_crs: the source's CRS (None: local coordinates, taken as ``dst``'s).
        dst: the target grid.
        resampling: a ``rasterio.warp.Resampling`` name (``nearest``, ``bilinear``, ...).
    """
    from rasterio.warp import Resampling, reproject

    out = np.full((data.shape[0], *dst.shape), np.nan, dtype=np.float32)
    for b in range(data.shape[0]):
        reproject(
            data[b],
            out[b],
            src_transform=src_transform,
            src_crs=src_crs,
            dst_transform=dst.transform,
            dst_crs=dst.crs if dst.crs else src_crs,
            src_nodata=np.nan,
            dst_nodata=np.nan,
            resampling=Resampling[resampling],
        )
    return out
