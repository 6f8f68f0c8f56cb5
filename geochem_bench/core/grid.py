"""Georeferenced raster grids and the block averaging that links fine and coarse grids."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from affine import Affine
from numpy.typing import NDArray

from geochem_bench.errors import InvalidInputError


@dataclass(frozen=True)
class GridSpec:
    """A north-up raster grid: shape, affine transform and coordinate reference system.

    Attributes:
        height: number of rows.
        width: number of columns.
        transform: affine transform from (col, row) pixel corners to map (x, y).
        crs: anything ``rasterio.crs.CRS.from_user_input`` accepts (``"EPSG:32633"``, WKT),
            or ``None`` for local coordinates without a reference system.
    """

    height: int
    width: int
    transform: Affine
    crs: str | None

    def __post_init__(self) -> None:
        if self.height <= 0 or self.width <= 0:
            raise InvalidInputError(f"grid shape must be positive, got {self.height}x{self.width}")
        if self.transform.b != 0 or self.transform.d != 0 or self.transform.e >= 0:
            raise InvalidInputError(
                "only north-up grids are supported (no rotation, negative row step); "
                f"got transform {tuple(self.transform)[:6]}. Warp the raster to a north-up grid."
            )

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width)."""
        return (self.height, self.width)

    @property
    def res(self) -> tuple[float, float]:
        """Cell size (x, y) in map units, both positive."""
        return (self.transform.a, -self.transform.e)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in map units."""
        left, top = self.transform.c, self.transform.f
        return (
            left,
            top + self.height * self.transform.e,
            left + self.width * self.transform.a,
            top,
        )

    def coarsen(self, scale: int) -> GridSpec:
        """The grid of ``scale`` x ``scale`` blocks, anchored at the same upper-left corner.

        Partial blocks at the right and bottom edges become whole coarse cells, so that every
        fine cell belongs to exactly one coarse cell.
        """
        if scale < 1:
            raise InvalidInputError(f"scale factor must be >= 1, got {scale}")
        return GridSpec(
            height=math.ceil(self.height / scale),
            width=math.ceil(self.width / scale),
            transform=self.transform @ Affine.scale(scale),
            crs=self.crs,
        )

    def cell_of(
        self, x: NDArray[np.floating], y: NDArray[np.floating]
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Row and column of the cells that contain map points; -1 where outside the grid."""
        col = np.floor((np.asarray(x, dtype=np.float64) - self.transform.c) / self.transform.a)
        row = np.floor((np.asarray(y, dtype=np.float64) - self.transform.f) / self.transform.e)
        inside = (row >= 0) & (row < self.height) & (col >= 0) & (col < self.width)
        return (
            np.where(inside, row, -1).astype(np.intp),
            np.where(inside, col, -1).astype(np.intp),
        )

    def centres(
        self, rows: NDArray[np.integer], cols: NDArray[np.integer]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Map coordinates of cell centres."""
        x = self.transform.c + (np.asarray(cols, dtype=np.float64) + 0.5) * self.transform.a
        y = self.transform.f + (np.asarray(rows, dtype=np.float64) + 0.5) * self.transform.e
        return x, y

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly description."""
        return {
            "height": self.height,
            "width": self.width,
            "transform": list(self.transform)[:6],
            "crs": self.crs,
        }


def fill_nearest(band: NDArray[np.floating], holes: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Copy of a 2-D band whose ``holes`` take the value of the nearest cell that is not a hole."""
    from scipy import ndimage

    out = np.asarray(band, dtype=np.float64).copy()
    if holes.any():
        _, (ri, ci) = ndimage.distance_transform_edt(holes, return_indices=True)
        out[holes] = out[ri[holes], ci[holes]]
    return out


def block_mean(
    fine: NDArray[np.floating], scale: int
) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    """Mean of each ``scale`` x ``scale`` block over its finite cells.

    Args:
        fine: array (..., H, W); NaN marks cells that do not count.
        scale: block edge in cells.

    Returns:
        ``(mean, count)`` with shape (..., ceil(H/s), ceil(W/s)); ``mean`` is NaN where a
        block has no finite cell, ``count`` is the number of finite cells per block.
    """
    *lead, height, width = fine.shape
    h, w = math.ceil(height / scale), math.ceil(width / scale)
    padded = np.full((*lead, h * scale, w * scale), np.nan, dtype=np.float64)
    padded[..., :height, :width] = fine
    blocks = padded.reshape(*lead, h, scale, w, scale)
    finite = np.isfinite(blocks)
    count = finite.sum(axis=(-3, -1))
    total = np.where(finite, blocks, 0.0).sum(axis=(-3, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return mean.astype(np.float32), count.astype(np.int32)


def points_block_mean(
    grid: GridSpec, x: NDArray[np.floating], y: NDArray[np.floating], values: NDArray[np.floating]
) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    """Mean of point values per cell of ``grid``.

    Args:
        grid: the (coarse) grid to aggregate onto.
        x: point x coordinates (N,).
        y: point y coordinates (N,).
        values: (N, E) values; NaN means "not measured" and does not count.

    Returns:
        ``(mean, count)`` of shape (E, H, W); ``mean`` is NaN in cells without a measurement.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    rows, cols = grid.cell_of(x, y)
    n_cells = grid.height * grid.width
    inside = rows >= 0
    flat = rows[inside] * grid.width + cols[inside]
    n_elements = values.shape[1]
    mean = np.full((n_elements, n_cells), np.nan)
    count = np.zeros((n_elements, n_cells), dtype=np.int64)
    for e in range(n_elements):
        v = values[inside, e]
        ok = np.isfinite(v)
        count[e] = np.bincount(flat[ok], minlength=n_cells)
        total = np.bincount(flat[ok], weights=v[ok], minlength=n_cells)
        has = count[e] > 0
        mean[e, has] = total[has] / count[e, has]
    shape = (n_elements, grid.height, grid.width)
    return mean.reshape(shape).astype(np.float32), count.reshape(shape).astype(np.int32)
