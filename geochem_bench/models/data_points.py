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
from geochem_bench.core.samples import Samples
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


def point_data(
    inputs: TaskInputs,
    e: int,
    with_features: bool = True,
    fill: NDArray[np.float64] | None = None,
) -> PointData:
    """Observations of target element ``e`` of a task fold.

    ``with_features=False`` skips the covariates (an (N, 0) array), for models that use
    locations only: averaging every covariate band over the coarse cells is not free.

    Samples that carry their covariates (``Samples.covariates``, set by a streamed map whose
    inputs do not hold the whole raster) give those, non-finite values replaced by ``fill``
    (default: :func:`covariate_fill` of the inputs); otherwise the covariates are read at
    each sample's fine cell.

    Raises:
        ValueError: when the fold offers no observation of the element.
    """
    element = inputs.elements[e]
    if inputs.points is not None:
        v = element.to_analysis(inputs.points.column(element.symbol))
        keep = np.isfinite(v)
        if keep.any():
            x, y = inputs.points.x[keep], inputs.points.y[keep]
            if not with_features:
                features = np.empty((int(keep.sum()), 0))
            elif inputs.points.covariates is not None:
                at_samples = inputs.points.covariates[keep].astype(np.float64)
                features = _filled_rows(inputs, at_samples, fill)
            else:
                rows, cols = inputs.grid.cell_of(x, y)
                features = cell_features(inputs, rows, cols, fill)  # filled as at predict
            return merge_colocated(PointData(x, y, v[keep], features))
    coarse = element.to_analysis(inputs.lowres[e])
    rows, cols = np.nonzero(np.isfinite(coarse))
    if rows.size == 0:
        raise InvalidInputError(
            f"no data for {element.symbol}: no samples and an empty lowres grid"
        )
    x, y = inputs.lowres_grid.centres(rows, cols)
    if not with_features:
        return PointData(x, y, coarse[rows, cols], np.empty((rows.size, 0)))
    masked = np.where(inputs.valid, filled_covariates(inputs, fill), np.nan)
    coarse_cov, _ = block_mean(masked, inputs.scale)
    features = np.nan_to_num(coarse_cov[:, rows, cols].T.astype(np.float64))
    return PointData(x, y, coarse[rows, cols], features)


@dataclass(frozen=True, eq=False)
class SamplesFit:
    """What a model's fit on a fold's samples was made from: which later inputs may reuse it.

    A model fitted in ``fit`` reuses that fit in ``predict`` for the same inputs and for a
    streamed map's windows (the same samples, carrying their covariates, and the same task);
    any other inputs are fitted first. The samples are compared by identity, which alone is
    not enough: every element task of a survey shares the scene's Samples object, as do
    inputs replaced with other covariates or another seed. So the task, fold, targets, bands
    and seed must match too, and where the samples do not carry their covariates (the fit
    read them from ``inputs.covariates``), the same covariate and valid arrays.

    Attributes:
        points: the fitted samples (compared by identity).
        covariates: the covariates the fit read the samples' features and fill from (None when
            the samples carry theirs or the model uses none; compared by identity).
        valid: the valid mask of the fill (as ``covariates``).
        settings: task id, fold, protocol, scale, targets, band names and seed (equality).
    """

    points: Samples | None
    covariates: NDArray[np.float32] | None
    valid: NDArray[np.bool_] | None
    settings: tuple[object, ...]

    @classmethod
    def of(cls, inputs: TaskInputs, uses_covariates: bool = True) -> SamplesFit:
        """What a fit on ``inputs`` depends on."""
        points = inputs.points
        raster = uses_covariates and (points is None or points.covariates is None)
        return cls(
            points=points,
            covariates=inputs.covariates if raster else None,
            valid=inputs.valid if raster else None,
            settings=(
                inputs.task_id,
                inputs.fold,
                inputs.protocol,
                inputs.scale,
                inputs.elements,
                inputs.band_names,
                inputs.seed,
            ),
        )

    def serves(self, inputs: TaskInputs, uses_covariates: bool = True) -> bool:
        """Whether a fit made from this may predict ``inputs``."""
        other = SamplesFit.of(inputs, uses_covariates)
        return (
            self.points is other.points
            and self.covariates is other.covariates
            and self.valid is other.valid
            and self.settings == other.settings
        )


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
    inputs: TaskInputs,
    rows: NDArray[np.intp],
    cols: NDArray[np.intp],
    fill: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Covariates (N, C) at fine cells, NaN-free (see :func:`filled_covariates`).

    Only the requested cells are read and filled: a streamed map asks for one chunk of cells
    at a time, and refilling the whole raster per chunk cost a full copy each time. The fill
    is rounded to the covariates' dtype first, as :func:`filled_covariates` writes it.
    """
    return _filled_rows(inputs, inputs.covariates[:, rows, cols].T.astype(np.float64), fill)


def _filled_rows(
    inputs: TaskInputs, features: NDArray[np.float64], fill: NDArray[np.float64] | None
) -> NDArray[np.float64]:
    """``features`` (N, C) with non-finite values replaced by their band's fill.

    The fill is rounded to the covariates' dtype first, as :func:`filled_covariates` writes
    it, so a sample carrying its covariates (a streamed map) gets the value the same sample
    gets when its cell is read from the whole raster.
    """
    missing = ~np.isfinite(features)
    if not missing.any():
        return features
    fill = covariate_fill(inputs) if fill is None else fill
    rounded = np.asarray(fill).astype(inputs.covariates.dtype).astype(np.float64)
    return np.where(missing, rounded[None, :], features)


def covariate_fill(inputs: TaskInputs) -> NDArray[np.float64]:
    """Each covariate band's mean over the valid cells where it is finite (C,); 0 if none."""
    fill = np.zeros(inputs.covariates.shape[0])
    for b, band in enumerate(inputs.covariates):
        finite = np.isfinite(band) & inputs.valid
        if finite.any():
            fill[b] = band[finite].mean()
    return fill


def filled_covariates(
    inputs: TaskInputs, fill: NDArray[np.float64] | None = None
) -> NDArray[np.float32]:
    """The covariates (C, H, W) with every non-finite value replaced by its band's ``fill``.

    A covariate may lack a value on a valid cell (a hole the scene did not fill): the band's
    mean there keeps the cell rather than dropping it. ``fill`` defaults to
    :func:`covariate_fill` of ``inputs``; a model fitted on other inputs passes the values of
    its fit, so a window of the scene is filled as the whole scene was.
    """
    cov = inputs.covariates
    if np.isfinite(cov[:, inputs.valid]).all():
        return cov
    fill = covariate_fill(inputs) if fill is None else fill
    out = cov.copy()
    for b in range(out.shape[0]):
        band = out[b]
        band[~np.isfinite(band)] = fill[b]
    return out


def leading_components(
    features: NDArray[np.float64], k: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Centre (C,), scale (C,) and the ``k`` leading principal axes (C, k) of ``features``.

    The components of the standardised features: ``((x - centre) / scale) @ axes``. A
    constant feature gets scale 1 (it contributes nothing, rather than a division by zero).

    Raises:
        InvalidInputError: ``k`` below 0.
    """
    if k < 0:
        raise InvalidInputError(f"components must be 0 or more, got {k}")
    centre = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    z = (features - centre) / scale
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    return centre, scale, vt[: min(k, vt.shape[0])].T
