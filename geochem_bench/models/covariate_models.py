"""Covariate models: a random forest from covariates, and guided-filter upsampling.

The random forest follows the strategy of Bai et al. (2023, Remote Sensing 15(4):930): learn
the element content from the remote sensing where the content is known, then predict it at
the fine resolution. On point tasks it learns at the training samples; on grid tasks at the
coarse cells, from the (smoothed) covariates averaged over each cell, and its block residuals
are kriged back in by area-to-point kriging so that the map keeps the block data.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from geochem_bench.core.task import Prediction, TaskInputs
from geochem_bench.models.area_to_point_regression import ForestAreaToPointKriging
from geochem_bench.models.base import FusionModel
from geochem_bench.models.data_points import (
    SamplesFit,
    cell_features,
    covariate_fill,
    point_data,
    prediction_cells,
)
from geochem_bench.models.upsampling import upsample_lowres

_CHUNK = 500_000


class RandomForestFusion(FusionModel):
    """Random forest regression of the analysis-space content on covariates and coordinates.

    On point tasks the forest learns at the training samples and predicts every fine cell.
    On grid tasks the lowres holds block means, so the forest learns between the block data
    and the block means of the covariates smoothed by ``sigma`` cells, and area-to-point
    kriging of its block residuals restores the block data exactly
    (:class:`~geochem_bench.models.area_to_point_regression.ForestAreaToPointKriging`):
    without that residual step a forest fitted at block support and applied to fine
    covariates contradicts the data it was trained on.

    Args:
        n_estimators: trees.
        min_samples_leaf: minimum samples per leaf.
        use_coordinates: add the x, y coordinates as features (spatial trend).
        sigma: grid tasks only: Gaussian smoothing of the covariates, in fine cells.
    """

    def __init__(
        self,
        n_estimators: int = 300,
        min_samples_leaf: int = 2,
        use_coordinates: bool = True,
        sigma: float = 2.0,
    ) -> None:
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.use_coordinates = use_coordinates
        self.sigma = sigma

    #: From samples the fit needs only the samples and their covariates: a map can stream it.
    streams_from_samples = True

    def fit(self, inputs: TaskInputs) -> None:
        """Fit the forests: at the samples, or at block support with ATPK of the residuals."""
        from sklearn.ensemble import RandomForestRegressor

        self.block_model_: ForestAreaToPointKriging | None = None
        self.forests_: list[RandomForestRegressor] = []
        self.fitted_: SamplesFit | None = None
        if inputs.protocol == "grid":
            self.block_model_ = ForestAreaToPointKriging(
                n_estimators=self.n_estimators,
                min_samples_leaf=self.min_samples_leaf,
                sigma=self.sigma,
                use_coordinates=self.use_coordinates,
            )
            self.block_model_.fit(inputs)
            return
        self.fill_ = covariate_fill(inputs)
        for e in range(len(inputs.elements)):
            data = point_data(inputs, e, fill=self.fill_)
            forest = RandomForestRegressor(
                n_estimators=self.n_estimators,
                min_samples_leaf=self.min_samples_leaf,
                random_state=inputs.seed,
                n_jobs=-1,
            )
            self.forests_.append(
                forest.fit(self._features(data.features, data.x, data.y), data.value)
            )
        self.fitted_ = SamplesFit.of(inputs)

    def predict(self, inputs: TaskInputs) -> Prediction | NDArray[np.float32]:
        """Predict every valid fine cell (one forest per target element).

        Inputs other than the fitted ones (another fold, element, seed or covariates; see
        :class:`~geochem_bench.models.data_points.SamplesFit`) are fitted first.
        """
        if inputs.protocol == "grid":
            if getattr(self, "block_model_", None) is None:
                self.fit(inputs)
            assert self.block_model_ is not None
            return self.block_model_.predict(inputs)
        fitted: SamplesFit | None = getattr(self, "fitted_", None)
        if fitted is None or not fitted.serves(inputs):
            self.fit(inputs)  # never the fit of other inputs (another fold or element)
        rows, cols, qx, qy = prediction_cells(inputs)
        out = np.full(inputs.output_shape, np.nan, dtype=np.float32)
        for e, (element, forest) in enumerate(zip(inputs.elements, self.forests_)):
            values = np.empty(len(rows))
            for start in range(0, len(rows), _CHUNK):
                sl = slice(start, start + _CHUNK)
                covariates = cell_features(inputs, rows[sl], cols[sl], self.fill_)
                values[sl] = forest.predict(self._features(covariates, qx[sl], qy[sl]))
            out[e, rows, cols] = element.from_analysis(values)
        return out

    def _features(
        self, covariates: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        return np.column_stack([covariates, x, y]) if self.use_coordinates else covariates


class GuidedFilterUpsampling(FusionModel):
    """Guided-filter upsampling (He, Sun & Tang 2013, IEEE TPAMI 35:1397-1409).

    The bicubic upsampling of the lowres grid (analysis space) is filtered with the first
    principal component of the standardised covariates as the guide: within each window the
    output is a linear function of the guide, so edges of the remote sensing sharpen the
    upsampled map while its local mean is kept.

    Args:
        radius: window radius in fine cells (None: the scale factor).
        eps: regularisation; larger values keep more of the bicubic map.
    """

    def __init__(self, radius: int | None = 2, eps: float = 0.1) -> None:
        self.radius = radius
        self.eps = eps

    def predict(self, inputs: TaskInputs) -> NDArray[np.float32]:
        """Filter the bicubic map of every element with the covariate guide."""
        guide = _first_component(inputs)
        base = upsample_lowres(inputs, "bicubic")
        size = 2 * (self.radius or inputs.scale) + 1
        out = np.full(inputs.output_shape, np.nan, dtype=np.float32)
        for e, element in enumerate(inputs.elements):
            p = np.nan_to_num(
                element.to_analysis(base[e]), nan=float(np.nanmean(element.to_analysis(base[e])))
            )
            q = guided_filter(guide, p, size, self.eps * float(np.var(p[inputs.valid])))
            out[e] = np.where(inputs.valid, element.from_analysis(q), np.nan)
        return out


def guided_filter(
    guide: NDArray[np.float64], source: NDArray[np.float64], size: int, eps: float
) -> NDArray[np.float64]:
    """The grey-guide guided filter with a ``size`` x ``size`` box window."""

    def box(a: NDArray[np.float64]) -> NDArray[np.float64]:
        return ndimage.uniform_filter(a, size=size, mode="reflect")

    mean_i, mean_p = box(guide), box(source)
    cov_ip = box(guide * source) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def _first_component(inputs: TaskInputs) -> NDArray[np.float64]:
    valid = inputs.valid
    cov = inputs.covariates[:, valid].astype(np.float64)
    cov = np.nan_to_num(
        (cov - np.nanmean(cov, axis=1, keepdims=True))
        / (np.nanstd(cov, axis=1, keepdims=True) + 1e-12)
    )
    _, _, vt = np.linalg.svd(cov.T[:: max(1, cov.shape[1] // 20000)], full_matrices=False)
    pc = vt[0] @ cov
    guide = np.zeros(inputs.grid.shape)
    guide[valid] = (pc - pc.mean()) / (pc.std() + 1e-12)
    return guide
