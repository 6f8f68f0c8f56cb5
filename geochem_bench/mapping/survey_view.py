"""What a map and its report need to know of a survey, read without loading its rasters.

A streamed map must not hold the survey's covariates; the report and the tags only need the
grid, the elements, the build options, the samples (small), the number of valid cells
(counted window by window) and the sha256 of the build (its manifest).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.samples import Samples
from geochem_bench.core.tiling import tiles
from geochem_bench.errors import InvalidInputError
from geochem_bench.mapping.cog import CACHE_MB


@dataclass(frozen=True)
class SurveyView:
    """A built survey, its rasters left on disk.

    Attributes:
        folder: the survey folder (``make-task --out``).
        name: the scene name.
        grid: the fine grid.
        elements: the scene's elements.
        options: the build options (``lowres_grid``, ``lowres_scale``, ...).
        points: the samples (None: a survey of a lowres grid alone).
        valid_cells: valid fine cells.
        sha256: sha256 of every built file (its manifest).
    """

    folder: Path
    name: str
    grid: GridSpec
    elements: tuple[Element, ...]
    options: dict[str, object]
    points: Samples | None
    valid_cells: int
    sha256: dict[str, str]

    @classmethod
    def open(cls, folder: str | Path) -> SurveyView:
        """Read a survey folder's metadata, samples and manifest; count its valid cells.

        Raises:
            ChecksumError: a built file differs from the manifest.
        """
        import rasterio

        from geochem_bench.data.store import MANIFEST, check_manifest, read_samples

        folder = Path(folder)
        # as read_scene does before loading: a file edited since the build is refused, so a
        # streamed map reads exactly the survey an in-memory map would
        check_manifest(folder, fix=f"rebuild it with geochem-bench make-task ... --out {folder}")
        meta = json.loads((folder / "scene.json").read_text())
        g = meta["grid"]
        grid = GridSpec(g["height"], g["width"], Affine(*g["transform"]), g["crs"])
        valid = 0
        # by windows, with GDAL's block cache capped: its default (5 % of RAM) would keep the
        # whole mask once read (256 MB as float32 at 8192^2)
        with rasterio.Env(GDAL_CACHEMAX=CACHE_MB), rasterio.open(folder / "valid.tif") as src:
            for window in tiles(grid.height, grid.width, 2048, 1):
                valid += int((src.read(1, window=window.rasterio()) > 0.5).sum())
        samples = folder / "samples.parquet"
        manifest = folder / MANIFEST
        return cls(
            folder=folder,
            name=meta["name"],
            grid=grid,
            elements=tuple(Element(**e) for e in meta["elements"]),
            options=dict(meta.get("options") or {}),
            points=read_samples(samples) if samples.is_file() else None,
            valid_cells=valid,
            sha256=json.loads(manifest.read_text()) if manifest.is_file() else {},
        )

    def element(self, symbol: str) -> Element:
        """An element by symbol."""
        for element in self.elements:
            if element.symbol == symbol:
                return element
        raise InvalidInputError(f"survey {self.name} has no element {symbol!r}")

    def samples_of(self, symbol: str) -> int:
        """Samples where ``symbol`` was measured."""
        if self.points is None or symbol not in self.points.elements:
            return 0
        return int(np.isfinite(self.points.column(symbol)).sum())
