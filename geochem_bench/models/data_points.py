"""The point data a geostatistical or covariate model learns from, for any protocol.

Point protocols: the training samples where the target is known. Grid protocol (no samples):
the centres of the non-empty coarse cells, with the coarse value as the observation and the
block mean of the covariates over the cell as its covariates (the support of the value).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.grid import block_mean
from geochem_bench.core.task import TaskInputs
from geochem_bench.errors import InvalidInputError


@dataclass(frozen=True)
class PointData:
    """Observations of one element in analysis space, with their covariates.

    Attributes:
        x: x coordinates (N,).
        y: y coordinates (N,).
        value: observed values in the element's analysis space (N,).
        features: covariates at the observations (N, C), NaN-free.
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    value: NDArray[np.float64]
    features: NDArray[np.float64]


def point_data(inputs: TaskInputs, e: int, with_features: bool = True) -> PointData:
    """Observations of target element ``e`` of a task fold.

    ``with_features=False`` skips the covariates (an (N, 0) array), for models that use
    locations only: averaging every covariate band over the coarse cells is not free.

    Raises:
        ValueError: when the fold offers no observation of the element.
    """
    element = inputs.elements[e]
    covariates = filled_covariates(inputs) if with_features else inputs.covariates[:0]
    if inputs.points is not None:
        v = element.to_analysis(inputs.points.column(element.symbol))
        keep = np.isfinite(v)
        if keep.any():
            rows, cols = inputs.grid.cell_of(inputs.points.x[keep], inputs.points.y[keep])
            features = covariates[:, rows, cols].T.astype(np.float64)
            return merge_colocated(
                PointData(inputs.points.x[keep], inputs.points.y[keep], v[keep], features)
            )
    coarse = element.to_analysis(inputs.lowres[e])
    rows, cols = np.nonzero(np.isfinite(coarse))
    if rows.size == 0:
        raise InvalidInputError(
            f"no data for {element.symbol}: no samples and an empty lowres grid"
        )
    x, y = inputs.lowres_grid.centres(rows, cols)
    if not with_features:
        return PointData(x, y, coarse[rows, cols], np.empty((rows.size, 0)))
    masked = np.where(inputs.valid, covariates, np.nan)
    coarse_cov, _ = block_mean(masked, inputs.scale)
    features = np.nan_to_num(coarse_cov[:, rows, cols].T.astype(np.float64))
    return PointData(x, y, coarse[rows, cols], features)


def merge_colocated(data: PointData) -> PointData:
    """Samples at the same coordinates as one datum: the mean of their values (and features).

    Two data at one site make a kriging system singular when the nugget is zero (a survey
    with field duplicates did: ordinary kriging returned inf). Averaging them is gstat's
    remedy for zero distances, and what the site's best estimate is anyway. Data without
    duplicates come back unchanged, the same object.
    """
    xy = np.column_stack([data.x, data.y])
    sites, first, inverse = np.unique(xy, axis=0, return_index=True, return_inverse=True)
    if len(sites) == len(xy):
        return data
    inverse = inverse.ravel()
    count = np.bincount(inverse, minlength=len(sites)).astype(np.float64)
    value = np.bincount(inverse, weights=data.value, minlength=len(sites)) / count
    features = (
        np.stack(
            [
                np.bincount(inverse, weights=column, minlength=len(sites)) / count
                for column in data.features.T
            ],
            axis=1,
        )
        if data.features.shape[1]
        else np.empty((len(sites), 0))
    )
    order = np.argsort(first)  # keep the data in their first appearance's order
    return PointData(data.x[first][order], data.y[first][order], value[order], features[order])


def prediction_cells(
    inputs: TaskInputs,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]:
    """Rows, columns and map coordinates of the valid fine cells."""
    rows, cols = np.nonzero(inputs.valid)
    x, y = inputs.grid.centres(rows, cols)
    return rows, cols, x, y


def cell_features(
    inputs: TaskInputs, rows: NDArray[np.intp], cols: NDArray[np.intp]
) -> NDArray[np.float64]:
    """Covariates (N, C) at fine cells, NaN-free."""
    return filled_covariates(inputs)[:, rows, cols].T.astype(np.float64)


def filled_covariates(inputs: TaskInputs) -> NDArray[np.float32]:
    """The covariates (C, H, W) with every non-finite value replaced by its band's mean.

    A covariate may lack a value on a valid cell (a hole the scene did not fill): the band's
    mean there keeps the cell rather than dropping it.
    """
    cov = inputs.covariates
    if np.isfinite(cov[:, inputs.valid]).all():
        return cov
    out = cov.copy()
    for b in range(out.shape[0]):
        band = out[b]
        finite = np.isfinite(band) & inputs.valid
        band[~np.isfinite(band)] = band[finite].mean() if finite.any() else 0.0
    return out
