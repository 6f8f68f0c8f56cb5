"""Reading ArcGIS raster pyramids (``.ovr``) whose base raster is missing.

ArcGIS builds a raster's pyramid as a sidecar ``<raster>.tif.ovr``: a TIFF whose first image is
level 1 (half the base resolution, ``ceil(n / 2)`` cells a side) and whose further images are
the coarser levels. The sidecar has **no georeferencing of its own** (no GeoTIFF tags: rasterio
reports an identity transform); GDAL reads the CRS from the ESRI metadata ``<raster>.tif.xml``
beside it, and georeferences the levels from the base raster. Without the base raster, the
extent and base dimensions come from that ``.tif.xml`` (``nativeExtBox`` and the ``dimSize``
of each axis): level 1 covers the base extent exactly, as GDAL treats any overview, so its
cells are ``(east - west) / ceil(width / 2)`` by ``(north - south) / ceil(height / 2)``
(not square when a base dimension is odd).

Where a base raster exists beside its pyramid (the Lapland AEM grid), a pyramid built with
ArcGIS's default ``NEAREST`` resampling holds, at level-1 cell ``(i, j)``, the base cell
``(2 i, round(j * width / ceil(width / 2)))``: a subsample, not a block mean. See
:func:`nearest_pyramid_source` and the Lapland scenes for what that means for alignment.
"""

from __future__ import annotations

import math
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from affine import Affine
from numpy.typing import NDArray

from geochem_bench.core.grid import GridSpec
from geochem_bench.errors import InvalidInputError


@dataclass(frozen=True)
class BaseRaster:
    """Extent and dimensions of a raster as its ESRI metadata (``.tif.xml``) describes it.

    Attributes:
        west: left edge (map units).
        east: right edge.
        south: bottom edge.
        north: top edge.
        width: base columns.
        height: base rows.
    """

    west: float
    east: float
    south: float
    north: float
    width: int
    height: int

    def level_shape(self, level: int) -> tuple[int, int]:
        """(rows, columns) of pyramid level ``level`` (each level halves, rounding up)."""
        height, width = self.height, self.width
        for _ in range(level):
            height, width = math.ceil(height / 2), math.ceil(width / 2)
        return height, width

    def level_grid(self, level: int, crs: str | None) -> GridSpec:
        """The grid of pyramid level ``level``: the base extent in ``level_shape`` cells."""
        height, width = self.level_shape(level)
        transform = Affine(
            (self.east - self.west) / width,
            0.0,
            self.west,
            0.0,
            -(self.north - self.south) / height,
            self.north,
        )
        return GridSpec(height, width, transform, crs)


def read_base_raster(xml_path: str | Path) -> BaseRaster:
    """The base raster's extent and dimensions from its ESRI metadata file.

    Args:
        xml_path: the ``<raster>.tif.xml`` written by ArcGIS.

    Raises:
        InvalidInputError: the file lacks the extent or the dimensions, or they disagree with
            the cell size it states (naming the file and the values).
    """
    path = Path(xml_path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise InvalidInputError(f"cannot read the ESRI metadata {path}: {exc}") from exc
    box = root.find("./Esri/DataProperties/itemProps/nativeExtBox")
    if box is None:
        raise InvalidInputError(f"{path} has no Esri/DataProperties/itemProps/nativeExtBox")
    edges = {}
    for name in ("westBL", "eastBL", "southBL", "northBL"):
        text = box.findtext(name)
        if text is None:
            raise InvalidInputError(f"{path}: nativeExtBox has no {name}")
        edges[name] = float(text)
    # axisDimension type 002 is the column (x) axis, 001 the row (y) axis (ISO 19115 codes)
    dims: dict[str, tuple[int, float]] = {}
    for axis in root.iterfind(".//spatRepInfo/Georect/axisDimension"):
        size, resolution = axis.findtext("dimSize"), axis.findtext("dimResol/value")
        if size is not None and resolution is not None:
            dims[axis.get("type", "")] = (int(size), float(resolution))
    if set(dims) != {"001", "002"}:
        raise InvalidInputError(
            f"{path}: expected the dimensions of axes 001 (rows) and 002 (columns), found "
            f"{sorted(dims)}"
        )
    (width, x_res), (height, y_res) = dims["002"], dims["001"]
    base = BaseRaster(
        edges["westBL"], edges["eastBL"], edges["southBL"], edges["northBL"], width, height
    )
    for what, extent, n, res in (
        ("east - west", base.east - base.west, width, x_res),
        ("north - south", base.north - base.south, height, y_res),
    ):
        if not math.isclose(extent, n * res, rel_tol=0, abs_tol=1e-3 * res):
            raise InvalidInputError(
                f"{path}: {what} = {extent} is not {n} cells of {res}; the metadata disagrees "
                "with itself, so the pyramid cannot be georeferenced from it"
            )
    return base


def read_pyramid_level(
    ovr_path: str | Path, base: BaseRaster, level: int = 1
) -> NDArray[np.float64]:
    """One level of an ArcGIS ``.ovr`` pyramid, nodata as NaN, in float64.

    Args:
        ovr_path: the ``<raster>.tif.ovr`` sidecar.
        base: the base raster it belongs to (:func:`read_base_raster`).
        level: 1 for the sidecar's first image, 2 for the next, ...

    Raises:
        InvalidInputError: the sidecar's images do not have the shapes the base implies, or
            it carries a georeferencing of its own (then this reading does not apply).
    """
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    path = Path(ovr_path)
    with warnings.catch_warnings():
        # expected: the sidecar has no geotransform; it is georeferenced from `base`
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            if not src.transform.is_identity:
                raise InvalidInputError(
                    f"{path} has a geotransform of its own ({tuple(src.transform)[:6]}); it is "
                    "not a bare ArcGIS pyramid sidecar"
                )
            expected = base.level_shape(1)
            if (src.height, src.width) != expected:
                raise InvalidInputError(
                    f"{path}: level 1 is {src.height} x {src.width}, the base raster "
                    f"({base.height} x {base.width}) implies {expected[0]} x {expected[1]}"
                )
            nodata = src.nodata
            if level == 1:
                data = src.read(1)
            else:
                shape = base.level_shape(level)
                factors = src.overviews(1)
                if 2 ** (level - 1) not in factors:
                    raise InvalidInputError(
                        f"{path} has no pyramid level {level} (internal overviews {factors})"
                    )
                with rasterio.open(path, overview_level=level - 2) as ovr:
                    data = ovr.read(1)
                if data.shape != shape:
                    raise InvalidInputError(
                        f"{path}: level {level} is {data.shape}, expected {shape}"
                    )
    values = data.astype(np.float64)
    if nodata is not None:
        values[data == nodata] = np.nan
    return values


def nearest_pyramid_source(base_size: int, level_size: int) -> NDArray[np.intp]:
    """The base index each level-1 index holds in an ArcGIS ``NEAREST`` pyramid, on one axis.

    ``round(j * base_size / level_size)``: measured on the Lapland AEM grid, whose base and
    pyramid both exist (every one of its 559 101 level-1 cells matches). Where ``base_size``
    is even this is ``2 j``; where it is odd the rounding falls back one cell half way across.
    """
    j = np.arange(level_size, dtype=np.float64)
    return np.minimum(np.rint(j * base_size / level_size), base_size - 1).astype(np.intp)
