"""A gridded low-resolution geochemical map as a survey's input (``make-task --lowres-grid``).

The seed paper's input is a regional geochemical grid (e.g. 2 km cells), not samples. A
survey built with one holds it as the block means of its fine grid: the coarse raster is
brought onto the fine grid's coarse grid (``grid.coarsen(scale)``, with ``scale`` the ratio
of the two cell sizes) and stored spread over each block, so that the grid protocol's lowres
(block means of the stored field) *is* the given map, and every grid-protocol method (ATPK,
ATPRK, the CNN, ...) downscales it unchanged. That stored field is not a truth: no task of the
survey is scored against it.

How well a method downscales the map is measured one scale up, by Wald's protocol (Wald et
al. 1997, Photogramm. Eng. Remote Sens. 63(6), 691-699, "property 2"): a second scene,
``<name>-wald``, whose fine grid is the map's own grid (its truth the given map, its
covariates the fine covariates averaged over each coarse cell), with grid tasks that degrade
the map by 2 and 4 and score how well a method restores it. The accuracy is thus of restoring
the map from a 2x / 4x coarser copy, not of the fine map itself, which has no truth; the
report says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec, block_mean
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.errors import InvalidInputError

#: Folder of the Wald scene inside a survey folder.
WALD_FOLDER = "wald"
#: Degradation factors of the Wald tasks (each needs a coarse grid of 8 x factor cells a side).
WALD_FACTORS = (2, 4)


def read_lowres_grid(
    path: Path, grid: GridSpec, elements: list[str] | None
) -> tuple[int, NDArray[np.float32], tuple[str, ...]]:
    """The coarse map on ``grid.coarsen(scale)``: ``(scale, values (E, h, w), symbols)``.

    Args:
        path: the coarse GeoTIFF, one band per element.
        grid: the survey's fine grid (the first covariate's).
        elements: the elements of the bands, in order (default: the band descriptions, else
            the file stem for a one-band file).

    Raises:
        InvalidInputError: a cell size that is not an integer multiple (>= 2) of the fine
            grid's, a CRS mismatch, no overlap, or a band count that does not match.
    """
    import rasterio

    from geochem_bench.data.warp import warp_bands

    if not path.is_file():
        raise InvalidInputError(f"lowres grid {path} does not exist")
    with rasterio.open(path) as src:
        src_crs = src.crs.to_string() if src.crs else None
        if (src_crs is None) != (grid.crs is None):
            raise InvalidInputError(
                f"{path.name} and the covariates must both have a CRS or both be local "
                f"(lowres: {src_crs}, covariates: {grid.crs}); assign one with gdal_edit.py"
            )
        ratio = abs(src.res[0]) / abs(grid.transform.a)
        scale = round(ratio)
        if scale < 2 or abs(ratio - scale) > 0.01 * scale:
            raise InvalidInputError(
                f"{path.name} has {abs(src.res[0]):g} units per cell, {ratio:.3f} times the "
                f"covariates' {abs(grid.transform.a):g}; it must be an integer multiple >= 2 "
                "(resample it to one, e.g. with gdalwarp -tr)"
            )
        names = list(elements) if elements else _band_elements(src, path)
        if len(names) != src.count:
            raise InvalidInputError(
                f"{path.name} has {src.count} band(s) but {len(names)} element name(s) "
                f"({names}); name one element per band with --elements"
            )
        data = src.read().astype(np.float32)
        for b, nodata in enumerate(src.nodatavals):
            if nodata is not None:
                data[b][data[b] == nodata] = np.nan
        coarse = grid.coarsen(scale)
        # the same cells (origins a whole number of coarse cells apart): copied, not
        # interpolated; otherwise bilinear, and block means are then only approximately kept
        offset = ~coarse.transform @ (src.transform.c, src.transform.f)
        aligned = all(abs(v - round(v)) < 1e-6 for v in offset)
        out = warp_bands(data, src.transform, src_crs, coarse, "nearest" if aligned else "bilinear")
    if not np.isfinite(out).any():
        raise InvalidInputError(f"{path.name} does not overlap the covariates; check its extent")
    bad = np.isfinite(out) & (out <= 0)
    if bad.any():
        b = int(np.nonzero(bad)[0][0])
        raise InvalidInputError(
            f"{path.name} band {b + 1} ({names[b]}) holds {int(bad[b].sum())} value(s) <= 0; "
            "concentrations must be > 0 (set nodata for cells without a value)"
        )
    return scale, out, tuple(names)


def spread(coarse: NDArray[np.float32], scale: int, shape: tuple[int, int]) -> NDArray[np.float32]:
    """Each coarse value over its block of the fine grid (E, H, W): its block mean is itself."""
    fine = np.repeat(np.repeat(coarse, scale, axis=1), scale, axis=2)
    return np.ascontiguousarray(fine[:, : shape[0], : shape[1]])


def wald_scene(
    name: str,
    covariates: NDArray[np.float32],
    band_names: tuple[str, ...],
    valid: NDArray[np.bool_],
    grid: GridSpec,
    coarse: NDArray[np.float32],
    scale: int,
    elements: tuple[Element, ...],
) -> tuple[Scene, list[TaskSpec]]:
    """The scene and grid tasks that score downscaling one scale up (see the module docstring).

    Its fine grid is the map's grid; its covariates are the fine covariates' means over each
    coarse cell's valid fine cells; its valid cells are those with a map value and covariates.
    """
    cov, _ = block_mean(np.where(valid, covariates, np.nan), scale)
    wald_valid: NDArray[np.bool_] = np.asarray(
        np.isfinite(coarse).all(axis=0) & np.isfinite(cov).all(axis=0)
    )
    if not wald_valid.any():
        raise InvalidInputError("no cell of the lowres grid has both a value and covariates")
    wald_grid = grid.coarsen(scale)
    wald_name = f"{name}-wald"
    scene = Scene(
        name=wald_name,
        version="1",
        grid=wald_grid,
        covariates=cov.astype(np.float32),
        band_names=band_names,
        valid=wald_valid,
        elements=elements,
        truth=np.where(wald_valid, coarse, np.nan).astype(np.float32),
        licence="user data",
        description=(
            f"Wald self-validation of survey {name}: its lowres grid as truth, the covariates "
            f"averaged over its cells (scale {scale})"
        ),
        options={"survey": name, "scale": scale},
    )
    factors = [f for f in WALD_FACTORS if min(wald_grid.shape) >= 8 * f]
    if not factors:
        raise InvalidInputError(
            f"the lowres grid is {wald_grid.height}x{wald_grid.width} cells; Wald's check "
            f"needs at least {8 * WALD_FACTORS[0]} a side"
        )
    tasks = [TaskSpec(wald_name, (e.symbol,), f, "grid") for f in factors for e in elements]
    return scene, tasks


def _band_elements(src: object, path: Path) -> list[str]:
    descriptions = list(getattr(src, "descriptions", ()) or ())
    count = int(getattr(src, "count", 0))
    if descriptions and all(descriptions):
        return [str(d) for d in descriptions]
    if count == 1:
        return [path.stem]
    raise InvalidInputError(
        f"{path.name} has {count} bands without descriptions; name their elements with --elements"
    )
