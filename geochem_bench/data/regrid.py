"""Moving a band between two north-up grids of the same CRS, without GDAL's warper.

Two rules, both written with basic float64 arithmetic so that a build gives the same bytes on
every CPU (GDAL's kernels and BLAS may round the last bit differently; see
:mod:`geochem_bench.data.reproducible`):

* :func:`nearest_onto`: each target cell takes the source cell under its centre. It invents no
  value, and a source cell's nodata stays nodata on exactly the target cells it covers.
* :func:`mean_onto`: each target cell takes the area-weighted mean of the source cells it
  overlaps, over those with data (an aggregation from a finer grid).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.grid import GridSpec
from geochem_bench.errors import InvalidInputError


def _check(values: NDArray[np.floating], src: GridSpec, dst: GridSpec) -> None:
    if values.shape != src.shape:
        raise InvalidInputError(f"band {values.shape} does not match its grid {src.shape}")
    if src.crs != dst.crs:
        raise InvalidInputError(
            f"grids in different CRS ({src.crs} and {dst.crs}); reproject first"
        )


def nearest_onto(values: NDArray[np.floating], src: GridSpec, dst: GridSpec) -> NDArray[np.float64]:
    """``values`` on ``src`` moved onto ``dst``: the source cell under each target centre.

    Args:
        values: (H, W) band on ``src``, NaN where it has no data.
        src: its grid.
        dst: the target grid (same CRS).

    Returns:
        float64 (h, w) on ``dst``; NaN where the centre falls off ``src`` or on its NaN.
    """
    _check(values, src, dst)
    x, _ = dst.centres(np.zeros(dst.width, dtype=np.intp), np.arange(dst.width))
    _, y = dst.centres(np.arange(dst.height), np.zeros(dst.height, dtype=np.intp))
    cols = np.floor((x - src.transform.c) / src.transform.a).astype(np.intp)
    rows = np.floor((y - src.transform.f) / src.transform.e).astype(np.intp)
    col_in = (cols >= 0) & (cols < src.width)
    row_in = (rows >= 0) & (rows < src.height)
    out = np.full(dst.shape, np.nan)
    picked = np.asarray(values, dtype=np.float64)[np.ix_(rows[row_in], cols[col_in])]
    out[np.ix_(row_in, col_in)] = picked
    return out


def _overlaps(
    src_start: float, src_step: float, n_src: int, dst_start: float, dst_step: float, n_dst: int
) -> NDArray[np.float64]:
    """(n_dst, n_src) lengths of overlap between the cells of two 1-D lattices."""
    src_edges = src_start + src_step * np.arange(n_src + 1)
    dst_edges = dst_start + dst_step * np.arange(n_dst + 1)
    low = np.maximum(np.minimum(dst_edges[:-1, None], dst_edges[1:, None]),
                     np.minimum(src_edges[None, :-1], src_edges[None, 1:]))  # fmt: skip
    high = np.minimum(np.maximum(dst_edges[:-1, None], dst_edges[1:, None]),
                      np.maximum(src_edges[None, :-1], src_edges[None, 1:]))  # fmt: skip
    return np.clip(high - low, 0.0, None)


def mean_onto(values: NDArray[np.floating], src: GridSpec, dst: GridSpec) -> NDArray[np.float64]:
    """The area-weighted mean of ``values`` over each ``dst`` cell, NaN cells left out.

    Separable: the weight of source cell (r, c) in target cell (i, j) is the product of the
    row overlap and the column overlap (both grids are north-up).

    Args:
        values: (H, W) band on ``src``, NaN where it has no data.
        src: its grid.
        dst: the target grid (same CRS).

    Returns:
        float64 (h, w) on ``dst``; NaN where no source cell with data overlaps. The sums are
        matrix products, whose last bit may differ between CPUs: round before storing
        (:func:`~geochem_bench.data.reproducible.stable_float32`).
    """
    _check(values, src, dst)
    wx = _overlaps(src.transform.c, src.transform.a, src.width,
                   dst.transform.c, dst.transform.a, dst.width)  # fmt: skip
    wy = _overlaps(src.transform.f, src.transform.e, src.height,
                   dst.transform.f, dst.transform.e, dst.height)  # fmt: skip
    data = np.asarray(values, dtype=np.float64)
    has = np.isfinite(data)
    total = wy @ np.where(has, data, 0.0) @ wx.T
    weight = wy @ has.astype(np.float64) @ wx.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, np.nan)
