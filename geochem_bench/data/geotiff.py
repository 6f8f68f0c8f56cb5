"""GeoTIFF I/O: predictions on the task grid, and raw layers that must share one grid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.atomic import atomic_path
from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.task import Prediction
from geochem_bench.errors import InvalidInputError, InvalidPrediction

STD_SUFFIX = "_std"


def windowed_profile(
    grid: GridSpec, count: int, dtype: str = "float32", nodata: float | None = None
) -> dict[str, Any]:
    """The rasterio profile of a GeoTIFF written window by window.

    256 x 256 blocks, so windows aligned to them write whole blocks; BigTIFF when the file
    outgrows 4 GiB.
    """
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "height": grid.height,
        "width": grid.width,
        "count": count,
        "dtype": dtype,
        "crs": grid.crs,
        "transform": grid.transform,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "BIGTIFF": "IF_SAFER",
    }
    if nodata is not None:
        profile["nodata"] = nodata
    return profile


def write_raster(
    path: str | Path, bands: NDArray[np.floating], grid: GridSpec, names: list[str]
) -> None:
    """Write (B, H, W) float32 bands with names, CRS and transform; atomically."""
    import rasterio
    from rasterio.crs import CRS

    bands = np.asarray(bands, dtype=np.float32)
    if bands.shape[1:] != grid.shape or bands.shape[0] != len(names):
        raise InvalidInputError(
            f"bands {bands.shape} do not match grid {grid.shape} and names {names}"
        )
    profile = {
        "driver": "GTiff",
        "height": grid.height,
        "width": grid.width,
        "count": bands.shape[0],
        "dtype": "float32",
        "crs": CRS.from_user_input(grid.crs) if grid.crs else None,
        "transform": grid.transform,
        "nodata": np.nan,
        "compress": "deflate",
        "predictor": 3,
        "tiled": grid.height >= 256 and grid.width >= 256,
    }
    with atomic_path(path, suffix=".tif") as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(bands)
        for i, name in enumerate(names, start=1):
            dst.set_band_description(i, name)


def write_prediction(
    path: str | Path, prediction: Prediction, grid: GridSpec, elements: tuple[Element, ...]
) -> None:
    """Write a prediction: one band per element, then ``<El>_std`` bands if a std is given."""
    names = [e.symbol for e in elements]
    bands = [prediction.mean]
    if prediction.std is not None:
        names += [e.symbol + STD_SUFFIX for e in elements]
        bands.append(prediction.std)
    write_raster(path, np.concatenate(bands), grid, names)


def read_prediction(path: str | Path, grid: GridSpec, elements: tuple[Element, ...]) -> Prediction:
    """Read a prediction GeoTIFF and check that it lies on the task grid.

    Bands are matched to elements by their descriptions when present (``Cu``, ``Cu_std``),
    otherwise by order.

    Raises:
        InvalidPrediction: wrong grid, CRS, band count or missing element bands.
    """
    import rasterio
    from rasterio.crs import CRS

    if not Path(path).is_file():
        raise FileNotFoundError(f"prediction file {path} does not exist")
    with rasterio.open(path) as src:
        if (src.height, src.width) != grid.shape:
            raise InvalidPrediction(
                f"{path}: raster is {src.height}x{src.width}, "
                f"the task grid is {grid.height}x{grid.width}"
            )
        if not src.transform.almost_equals(grid.transform, precision=1e-6 * max(grid.res)):
            raise InvalidPrediction(
                f"{path}: transform {tuple(src.transform)[:6]} differs from the task grid "
                f"{tuple(grid.transform)[:6]}; write predictions on the grid of the task inputs"
            )
        if grid.crs and src.crs and src.crs != CRS.from_user_input(grid.crs):
            raise InvalidPrediction(f"{path}: CRS {src.crs} differs from the task CRS {grid.crs}")
        data = src.read().astype(np.float32)
        names = [d or "" for d in src.descriptions]
    symbols = [e.symbol for e in elements]
    if all(s in names for s in symbols):
        mean = np.stack([data[names.index(s)] for s in symbols])
        std_names = [s + STD_SUFFIX for s in symbols]
        std = (
            np.stack([data[names.index(s)] for s in std_names])
            if all(s in names for s in std_names)
            else None
        )
    elif data.shape[0] in (len(symbols), 2 * len(symbols)):
        mean = data[: len(symbols)]
        std = data[len(symbols) :] if data.shape[0] == 2 * len(symbols) else None
    else:
        raise InvalidPrediction(
            f"{path}: {data.shape[0]} bands named {names}; expected bands {symbols} "
            f"(optionally followed by {[s + STD_SUFFIX for s in symbols]})"
        )
    return Prediction(
        mean=np.ascontiguousarray(mean), std=None if std is None else np.ascontiguousarray(std)
    )


@dataclass(frozen=True)
class Layer:
    """Band 1 of a raw GeoTIFF as read, with its grid and nodata tag.

    Attributes:
        name: the file name.
        values: band 1, in the file's dtype.
        transform: its affine transform.
        crs: its CRS (rasterio's, or None).
        nodata: its nodata tag.
        count: the file's band count.
    """

    name: str
    values: NDArray[Any]
    transform: Any
    crs: Any
    nodata: float
    count: int


def read_aligned_layers(paths: Sequence[Path], fix: str, precision: float = 1e-9) -> list[Layer]:
    """Band 1 of each raw GeoTIFF, every one checked to lie on the grid of the first.

    The reader of a scene whose raw layers come on one shared grid: a layer off that grid, or
    without a nodata tag, means the raw files changed.

    Args:
        paths: the GeoTIFFs, the first one setting the grid.
        fix: what to do, appended to every error (e.g. the scene's download command).
        precision: tolerance of the transform comparison, in the grid's units.

    Raises:
        InvalidInputError: a layer without a nodata tag, or with another shape or transform
            than the first; the message names the layer and ends with ``fix``.
    """
    import rasterio

    layers: list[Layer] = []
    for path in paths:
        with rasterio.open(path) as src:
            if src.nodata is None:
                raise InvalidInputError(
                    f"{path.name} has no nodata tag, which every layer has; {fix}"
                )
            layer = Layer(
                path.name, src.read(1), src.transform, src.crs, float(src.nodata), src.count
            )
        first = layers[0] if layers else layer
        if layer.values.shape != first.values.shape or not layer.transform.almost_equals(
            first.transform, precision=precision
        ):
            (h, w), (h0, w0) = layer.values.shape, first.values.shape
            raise InvalidInputError(
                f"{layer.name} is not on the grid of {first.name}: {h}x{w} cells, transform "
                f"{tuple(layer.transform)[:6]} against {h0}x{w0}, {tuple(first.transform)[:6]}. "
                f"Every layer must share one grid; {fix}"
            )
        layers.append(layer)
    return layers
