"""The one tiler: windows of the fine grid, aligned with the coarse grid, with halos.

Used by tiled scoring, by the tileable synthetic scene and by anything that streams a raster
larger than memory, so every path cuts the grid the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Window:
    """A tile of the fine grid: rows ``[row0, row1)`` and columns ``[col0, col1)``."""

    row0: int
    row1: int
    col0: int
    col1: int

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return self.row1 - self.row0, self.col1 - self.col0

    def grown(self, cells: int, height: int, width: int) -> Window:
        """The window with a halo of ``cells`` on every side, clipped to the grid."""
        return Window(
            max(self.row0 - cells, 0),
            min(self.row1 + cells, height),
            max(self.col0 - cells, 0),
            min(self.col1 + cells, width),
        )

    def rasterio(self) -> Any:
        """As a ``rasterio.windows.Window``."""
        from rasterio.windows import Window as RioWindow

        return RioWindow(self.col0, self.row0, self.col1 - self.col0, self.row1 - self.row0)


def tiles(height: int, width: int, tile: int, align: int) -> Iterator[Window]:
    """Windows of ``tile`` cells (rounded up to a multiple of ``align``) covering the grid."""
    step = max(align, align * math.ceil(tile / align))
    for row0 in range(0, height, step):
        for col0 in range(0, width, step):
            yield Window(row0, min(row0 + step, height), col0, min(col0 + step, width))
