"""Kriging baselines on the kriging engine: ordinary, regression and external-drift kriging.

All three krige point data with :mod:`geochem_bench.kriging`: the automatic variogram fit
(weighted least squares on the experimental variogram, PyKrige's procedure) and a moving
neighbourhood of the nearest data, solved in batches of small systems that share their
factorisation between targets with the same neighbours. PyKrige is the cross-check of the
engine (``tests/test_kriging_engine.py``), not a runtime dependency of these baselines.
Everything runs in the element's analysis space (log10 for trace elements), and the kriging
variance is returned as the predictive standard deviation, so CRPS and interval coverage are
scored too.

They krige point data, so they refuse grid-protocol tasks (:func:`require_points`): there
the lowres grid holds block means, and kriging them as points at the block centres ignores
the change of support. Area-to-point kriging (``atpk``, ``atprk``) is the grid protocol's
kriging.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.task import Prediction, TaskInputs
from geochem_bench.errors import InvalidInputError
from geochem_bench.kriging.point import PointKriging, krige
from geochem_bench.kriging.variogram import auto_variogram
from geochem_bench.models.base import FusionModel
from geochem_bench.models.data_points import (
    PointData,
    SamplesFit,
    cell_features,
    covariate_fill,
    leading_components,
    point_data,
    prediction_cells,
)

if TYPE_CHECKING:
    from geochem_bench.models.area_to_point_regression import AreaToPointExternalDrift

_CHUNK = 200_000  # cells per forest or covariate call: bounds memory on national grids


def auto_nlags(x: NDArray[np.float64], y: NDArray[np.float64]) -> int:
    """Lag count whose bin width is about the median nearest-neighbour spacing.

    PyKrige bins the experimental variogram from zero to the largest distance: with few bins
    the first one averages pairs far beyond the data spacing, the short-range structure is
    lost and a spurious nugget absorbs it.
    """
    from scipy.spatial import cKDTree

    xy = np.column_stack([x, y])
    spacing = float(np.median(cKDTree(xy).query(xy, k=2)[0][:, 1]))
    extent = float(np.hypot(np.ptp(x), np.ptp(y)))
    return int(np.clip(extent / max(spacing, 1e-9), 12, 60))


def fit_ordinary_kriging(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    z: NDArray[np.float64],
    variogram_model: str,
    nlags: int | None = None,
    variogram_parameters: Any = None,
) -> PointKriging:
    """The data and variogram of ordinary kriging of (x, y, z).

    The variogram is fitted by weighted least squares (short lags weigh more, PyKrige's
    ``weight=True``) on ``nlags`` lags (default :func:`auto_nlags`) unless
    ``variogram_parameters`` (PyKrige's list) are given. The nugget is read as noise and
    micro-scale variation: estimates smooth through the data (PyKrige ``exact_values=False``).
    """
    variogram = auto_variogram(
        x, y, z, variogram_model, nlags or auto_nlags(x, y), variogram_parameters
    )
    return PointKriging(
        np.asarray(x, np.float64), np.asarray(y, np.float64), np.asarray(z, np.float64), variogram
    )


def krige_points(
    ok: PointKriging,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    neighbours: int | None,
    variance: bool = True,
    shared_within: float | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Ordinary kriging estimate and variance at points, local (``neighbours``) or global.

    ``variance=False`` returns NaN variances and saves most of a global system's cost;
    ``shared_within`` lets the targets of each square of that side share one neighbourhood
    (see :func:`~geochem_bench.kriging.point.krige`).
    """
    x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
    return krige(ok, x64, y64, neighbours, variance=variance, shared_within=shared_within)


def require_points(inputs: TaskInputs, what: str, instead: str) -> None:
    """Refuse a grid-protocol task, whose lowres holds block means rather than point data.

    The mirror of :func:`~geochem_bench.models.area_to_point.require_grid`.

    Raises:
        InvalidInputError: a grid-protocol task.
    """
    if inputs.protocol == "grid":
        raise InvalidInputError(
            f"{what} kriges point data; {inputs.task_id} is a grid-protocol task, whose "
            "lowres holds block means of the whole field (kriging them as points at the "
            f"block centres ignores the change of support): use {instead} there"
        )


class _PointKriging(FusionModel):
    """Kriging from the samples of a points or transfer fold, fitted in :meth:`fit`.

    ``fit`` fits each target element's estimator (variogram, trend) from the samples;
    ``predict`` and ``predict_points`` apply it to any cells of the same fold: the whole grid
    or one window of it (a streamed map). Other inputs (another fold, element, seed or
    covariates; see :class:`~geochem_bench.models.data_points.SamplesFit`) are fitted first,
    so a model never predicts them from another's fit.
    """

    uses_covariates = True
    #: The fit needs only the samples and their covariates: a map can stream it.
    streams_from_samples = True
    #: What the card calls the baseline, and what to use on grid tasks instead.
    label = "point kriging"
    on_grid = "atpk or atprk"

    def __init__(
        self,
        variogram_model: str = "spherical",
        neighbours: int | None = 32,
        nlags: int | None = None,
    ) -> None:
        self.variogram_model = variogram_model
        self.neighbours = neighbours
        self.nlags = nlags

    def fit(self, inputs: TaskInputs) -> None:
        """Fit every target element's estimator from the fold's samples.

        Raises:
            InvalidInputError: a grid-protocol task (see :func:`require_points`).
        """
        require_points(inputs, self.label, self.on_grid)
        self.fill_ = covariate_fill(inputs) if self.uses_covariates else None
        self.estimators_ = [
            self._fit_element(
                inputs, point_data(inputs, e, with_features=self.uses_covariates, fill=self.fill_)
            )
            for e in range(len(inputs.elements))
        ]
        self.fitted_ = SamplesFit.of(inputs, self.uses_covariates)

    def predict(self, inputs: TaskInputs) -> Prediction:
        """Krige every target element onto the valid fine cells.

        Raises:
            InvalidInputError: a grid-protocol task (see :func:`require_points`).
        """
        self._require_fit(inputs)
        rows, cols, qx, qy = prediction_cells(inputs)
        mean = np.full(inputs.output_shape, np.nan, dtype=np.float32)
        std = np.full(inputs.output_shape, np.nan, dtype=np.float32)
        for e, element in enumerate(inputs.elements):
            z, var = self._estimate_element(inputs, e, rows, cols, qx, qy)
            mean[e, rows, cols] = element.from_analysis(z)
            std[e, rows, cols] = np.sqrt(var)
        return Prediction(mean=mean, std=std)

    def predict_points(self, inputs: TaskInputs, xy: NDArray[np.float64]) -> Prediction:
        """Krige every target element at the exact sites ``xy`` (M, 2).

        Covariates come from the fine cell that holds each site (the nearest edge cell for a
        site just off the grid); the kriging itself is at the site's own coordinates.
        """
        self._require_fit(inputs)
        rows, cols = site_cells(inputs, xy)
        qx, qy = np.asarray(xy[:, 0], dtype=np.float64), np.asarray(xy[:, 1], dtype=np.float64)
        mean = np.empty((len(inputs.elements), len(xy)), dtype=np.float32)
        std = np.empty_like(mean)
        for e, element in enumerate(inputs.elements):
            z, var = self._estimate_element(inputs, e, rows, cols, qx, qy)
            mean[e] = element.from_analysis(z)
            std[e] = np.sqrt(var)
        return Prediction(mean=mean, std=std)

    def _estimate_element(
        self,
        inputs: TaskInputs,
        e: int,
        rows: NDArray[np.intp],
        cols: NDArray[np.intp],
        qx: NDArray[np.float64],
        qy: NDArray[np.float64],
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Estimate and kriging variance of element ``e`` (analysis space) at the cells."""
        return self.estimators_[e](inputs, rows, cols, qx, qy)

    def _require_fit(self, inputs: TaskInputs) -> None:
        require_points(inputs, self.label, self.on_grid)
        fitted: SamplesFit | None = getattr(self, "fitted_", None)
        if fitted is None or not fitted.serves(inputs, self.uses_covariates):
            self.fit(inputs)  # never the fit of other inputs (another fold or element)

    def _features(
        self, inputs: TaskInputs, rows: NDArray[np.intp], cols: NDArray[np.intp]
    ) -> NDArray[np.float64]:
        """Covariates at the cells, filled as at the fit (callers pass chunks)."""
        return cell_features(inputs, rows, cols, self.fill_)

    def _fit_element(self, inputs: TaskInputs, data: PointData) -> Estimator:
        raise NotImplementedError


#: A fitted element: (inputs, rows, cols, x, y) -> estimate and kriging variance (analysis
#: space) at those cells and coordinates.
Estimator = Callable[
    [TaskInputs, NDArray[np.intp], NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]],
    tuple[NDArray[np.float64], NDArray[np.float64]],
]


class OrdinaryKrigingModel(_PointKriging):
    """Ordinary kriging with an automatically fitted variogram and a moving neighbourhood.

    Args:
        variogram_model: PyKrige model name (spherical, exponential, gaussian, ...).
        neighbours: nearest data points per estimate (None: all, the global system).
        nlags: lags of the experimental variogram.
    """

    uses_covariates = False
    label = "ordinary kriging"
    on_grid = "atpk (area-to-point kriging, which kriges the block means with their support)"

    def _fit_element(self, inputs: TaskInputs, data: PointData) -> Estimator:
        ok = fit_ordinary_kriging(data.x, data.y, data.value, self.variogram_model, self.nlags)
        return lambda inputs, rows, cols, qx, qy: krige_points(ok, qx, qy, self.neighbours)


class RegressionKriging(_PointKriging):
    """A random forest on the covariates, plus ordinary kriging of its residuals.

    The forest's out-of-bag predictions give the residuals, so the kriged residual is not the
    near-zero in-sample error of a forest that memorised its training points.

    Args:
        n_estimators: trees of the forest.
        min_samples_leaf: minimum samples per leaf.
        variogram_model: variogram of the residuals.
        neighbours: moving neighbourhood of the residual kriging.
        nlags: lags of the experimental variogram.
    """

    label = "regression kriging"
    on_grid = (
        "atprk (regression on the covariates plus area-to-point kriging of the residuals) "
        "or random-forest"
    )

    def __init__(
        self,
        n_estimators: int = 200,
        min_samples_leaf: int = 3,
        variogram_model: str = "spherical",
        neighbours: int | None = 32,
        nlags: int | None = None,
    ) -> None:
        super().__init__(variogram_model, neighbours, nlags)
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf

    def _fit_element(self, inputs: TaskInputs, data: PointData) -> Estimator:
        from sklearn.ensemble import RandomForestRegressor

        forest = RandomForestRegressor(
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            oob_score=True,
            random_state=inputs.seed,
            n_jobs=-1,
        ).fit(data.features, data.value)
        residual = data.value - forest.oob_prediction_
        ok = fit_ordinary_kriging(data.x, data.y, residual, self.variogram_model, self.nlags)

        def estimate(inputs, rows, cols, qx, qy):  # type: ignore[no-untyped-def]
            trend = np.concatenate(
                [
                    forest.predict(self._features(inputs, rows[s], cols[s]))
                    for s in _slices(len(rows))
                ]
            )
            z, var = krige_points(ok, qx, qy, self.neighbours)
            return trend + z, var

        return estimate


class KrigingExternalDrift(_PointKriging):
    """Kriging with external drift: universal kriging with the covariates as drift.

    The drift is the covariates' leading principal components (besides the unknown constant
    mean). Up to ``max_global`` data the system is global, one set of drift coefficients for
    the whole area (the estimator of the former PyKrige version, which it reproduces); above,
    each target is kriged from its ``neighbours`` nearest data, the drift coefficients
    re-estimated locally, instead of thinning the data to ``max_global`` as the PyKrige
    version did. The moving neighbourhood is wider than ordinary kriging's 32 because it also
    fits the drift: with 32 neighbours the local drift is noisy (on the Jura points tasks it
    lost 0.06 to 0.08 of skill against the global system).

    On grid tasks the data are block means, so the same estimator runs at block support:
    :class:`~geochem_bench.models.area_to_point_regression.AreaToPointExternalDrift` kriges
    the blocks within ``radius`` with block-to-point covariances and the drift re-estimated
    in each neighbourhood, on covariates smoothed by ``sigma`` cells, and keeps the block
    data.

    Args:
        components: principal components of the standardised covariates used as drift.
        neighbours: nearest data per estimate above ``max_global`` data.
        max_global: largest number of data kriged in one global system.
        variogram_model: variogram of the target.
        nlags: lags of the experimental variogram.
        radius: grid tasks: neighbourhood half-width in blocks.
        sigma: grid tasks: Gaussian smoothing of the covariates, in fine cells.
        back_projection: grid tasks: natural-unit back-projection steps (log10 elements);
            10, chosen on dev realisations 100-102 of the synthetic scene (3, ATPRK's, left
            the natural-unit block means 0.6 % off the data at x16; 10 keeps them to 0.01 %,
            at the same skill: ``benchmarks/atpk_dev.py --only ked``).
    """

    label = "kriging with external drift"

    def __init__(
        self,
        components: int = 2,
        neighbours: int = 128,
        max_global: int = 1500,
        variogram_model: str = "spherical",
        nlags: int | None = None,
        radius: int = 3,
        sigma: float = 2.0,
        back_projection: int = 10,
    ) -> None:
        super().__init__(variogram_model, neighbours, nlags)
        self.components = components
        self.max_global = max_global
        self.radius = radius
        self.sigma = sigma
        self.back_projection = back_projection

    def fit(self, inputs: TaskInputs) -> None:
        """Fit from the samples, or on a grid task the block-support estimator."""
        if inputs.protocol != "grid":
            super().fit(inputs)
            return
        self.block_model_ = self._block_model()
        self.block_model_.fit(inputs)

    def predict(self, inputs: TaskInputs) -> Prediction:
        """Krige every target element onto the valid fine cells (at block support on grids)."""
        if inputs.protocol != "grid":
            return super().predict(inputs)
        if getattr(self, "block_model_", None) is None:
            self.fit(inputs)
        return self.block_model_.predict(inputs)

    def context_cells(self, scale: int) -> int:
        """Halo of a tiled grid prediction (the block model's), in fine cells."""
        return self._block_model().context_cells(scale)

    def _block_model(self) -> AreaToPointExternalDrift:
        from geochem_bench.models.area_to_point_regression import AreaToPointExternalDrift

        return AreaToPointExternalDrift(
            components=self.components,
            radius=self.radius,
            back_projection=self.back_projection,
            sigma=self.sigma,
        )

    def _fit_element(self, inputs: TaskInputs, data: PointData) -> Estimator:
        centre, scale, basis = leading_components(data.features, self.components)
        fitted = fit_ordinary_kriging(data.x, data.y, data.value, self.variogram_model, self.nlags)
        ked = PointKriging(
            fitted.x,
            fitted.y,
            fitted.z,
            fitted.variogram,
            ((data.features - centre) / scale) @ basis,
        )
        neighbours = None if len(data.value) <= self.max_global else self.neighbours

        def estimate(inputs, rows, cols, qx, qy):  # type: ignore[no-untyped-def]
            target_drift = np.concatenate(
                [
                    ((self._features(inputs, rows[s], cols[s]) - centre) / scale) @ basis
                    for s in _slices(len(rows))
                ]
            )
            return krige(ked, qx, qy, neighbours, target_drift=target_drift)

        return estimate


def site_cells(
    inputs: TaskInputs, xy: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Fine cells holding the sites ``xy`` (M, 2), clamped to the grid for a site off it."""
    t = inputs.grid.transform  # as GridSpec.cell_of, without its -1 off the grid
    cols = np.floor((np.asarray(xy[:, 0], dtype=np.float64) - t.c) / t.a)
    rows = np.floor((np.asarray(xy[:, 1], dtype=np.float64) - t.f) / t.e)
    return (
        np.clip(rows, 0, inputs.grid.height - 1).astype(np.intp),
        np.clip(cols, 0, inputs.grid.width - 1).astype(np.intp),
    )


def _slices(n: int, size: int = _CHUNK) -> list[slice]:
    return [slice(s, s + size) for s in range(0, n, size)]
