"""Area-to-point regression kriging (ATPRK): a covariate trend plus ATPK of its block residuals.

Wang, Shi, Atkinson & Zhao (2015, *IEEE Transactions on Geoscience and Remote Sensing*
53(11):5924-5936, "Downscaling MODIS images with area-to-point regression kriging"): the
coarse data are regressed on the covariates aggregated to the same block support, the
regression is applied to the fine covariates, and the block residuals of that fine trend are
downscaled by area-to-point kriging (:mod:`~geochem_bench.models.area_to_point`). The
residual map's block means equal the residuals, so trend + residual keeps the block data
exactly: the covariates add detail, never a contradiction of the data.

The **support of the covariates** decides whether a relation fitted between block means
transfers to fine cells: a covariate's fine detail need not behave like its block means (it
carries noise and structures the target does not share). The trend is therefore fitted and
applied on covariates smoothed by a Gaussian of ``sigma`` fine cells. ``sigma = 2`` was
chosen on dev realisations of the synthetic scene (``benchmarks/atpk_dev.py``; mean dev skill
over x4/x8/x16: +0.060 unsmoothed, +0.138 at 1, +0.144 at 2, +0.125 at 4). A Wald
self-validation on the lowres grid alone (fit one level coarser, score on the lowres values)
was tried to choose it per element and chose badly (+0.035 and +0.100 at x4 and x8, against
+0.083 and +0.162 for a fixed 2): at block support the smoothing hardly changes the
covariates, so that validation cannot see the sub-block transfer it is meant to judge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.grid import block_mean
from geochem_bench.core.task import TaskInputs
from geochem_bench.errors import InvalidInputError
from geochem_bench.models.area_to_point import (
    AreaToPointKriging,
    area_to_point,
    block_data,
    deconvolve,
    require_grid,
)
from geochem_bench.models.data_points import covariate_fill

_CHUNK = 500_000  # fine cells per forest call: bounds memory on national grids


def smoothed_where_finite(bands: NDArray[np.floating], sigma: float) -> NDArray[np.float64]:
    """Each band (C, H, W) convolved with a Gaussian of ``sigma`` cells over its finite cells.

    ``sigma = 0`` leaves the bands as given. A band without a non-finite cell is plainly
    convolved (edges: nearest); a band with some (a covariate NaN off the survey mask, as
    stored scenes have them) is divided by the smoothed weight of its finite cells, so a NaN
    never spreads onto the cells within the kernel's reach. NaN only where no finite cell is
    within reach.
    """
    from scipy import ndimage

    out = np.asarray(bands, dtype=np.float64)
    if sigma <= 0:
        return out
    result = []
    for band in out:
        finite = np.isfinite(band)
        if finite.all():
            result.append(ndimage.gaussian_filter(band, sigma, mode="nearest"))
            continue
        total = ndimage.gaussian_filter(np.where(finite, band, 0.0), sigma, mode="nearest")
        weight = ndimage.gaussian_filter(finite.astype(np.float64), sigma, mode="nearest")
        with np.errstate(invalid="ignore", divide="ignore"):
            result.append(np.where(weight > 0, total / weight, np.nan))
    return np.stack(result)


def fit_trend(
    features: NDArray[np.float64], target: NDArray[np.float64], ridge: float = 1e-6
) -> NDArray[np.float64]:
    """Least-squares coefficients (intercept first) of ``target`` on ``features`` (N, C).

    A ridge of ``ridge`` times the mean squared feature keeps collinear bands (one-hot classes
    with the intercept) solvable; it is far below anything that shrinks a real effect.
    """
    design = np.column_stack([np.ones(len(features)), features])
    gram = design.T @ design
    penalty = ridge * np.trace(gram) / len(gram) * np.eye(len(gram))
    penalty[0, 0] = 0.0  # never shrink the intercept
    return np.linalg.solve(gram + penalty, design.T @ target)


def apply_trend(bands: NDArray[np.float64], coef: NDArray[np.float64]) -> NDArray[np.float64]:
    """The trend ``coef`` (intercept first) on bands (C, H, W) -> (H, W)."""
    return coef[0] + np.tensordot(coef[1:], bands, axes=1)


def _block_features(
    bands: NDArray[np.float64], valid: NDArray[np.bool_], scale: int
) -> NDArray[np.float64]:
    """Block means (C, h, w) of the bands over the valid fine cells."""
    means, _ = block_mean(np.where(valid, bands, np.nan), scale)
    return means.astype(np.float64)


class AreaToPointRegressionKriging(AreaToPointKriging):
    """The ATPRK baseline of the grid protocol (see the module docstring).

    Per element, in its analysis space: fit the linear trend between the block data and the
    block means of the covariates smoothed by ``sigma`` cells, apply it to the smoothed fine
    covariates, krige the block residuals of that fine trend by ATPK, and add the two. For
    a log10 element, ``back_projection`` natural-unit steps then move the natural-unit block
    means onto lowres, as in :class:`~geochem_bench.models.area_to_point.AreaToPointKriging`.

    Args:
        radius: ATPK neighbourhood half-width in blocks.
        back_projection: natural-unit back-projection steps for log10 elements (0: none).
        sigma: Gaussian smoothing of the covariates, in fine cells (0: as given).
        fit_nugget: fit a point-support nugget to the residuals (see
            :func:`~geochem_bench.models.area_to_point.deconvolve`).
    """

    def __init__(
        self,
        radius: int = 3,
        back_projection: int = 3,
        sigma: float = 2.0,
        fit_nugget: bool = False,
    ) -> None:
        super().__init__(radius=radius, fit_nugget=fit_nugget, back_projection=back_projection)
        self.sigma = sigma

    def fit(self, inputs: TaskInputs) -> None:
        """Fit each element's trend and the point covariance of its block residuals."""
        require_grid(inputs, "area-to-point regression kriging")
        if not (np.isfinite(self.sigma) and self.sigma >= 0):
            raise InvalidInputError(
                f"sigma is a Gaussian width in fine cells, 0 or more; got {self.sigma!r}"
            )
        self.fill_ = covariate_fill(inputs)
        fine = self._fit_bands(inputs)
        at_block = _block_features(fine, inputs.valid, inputs.scale)
        self.coef_: list[Any] = []
        self.models_ = []
        for e in range(len(inputs.elements)):
            data = block_data(inputs, e)
            train = np.isfinite(data) & np.isfinite(at_block).all(axis=0)
            self.coef_.append(self._fit_trend(at_block[:, train].T, data[train], inputs))
            _, residual = self._trend_and_residual(inputs, fine, e)
            model = deconvolve(residual, inputs.scale, inputs.grid.res, fit_nugget=self.fit_nugget)
            self.models_.append(model)

    def _bands(self, inputs: TaskInputs) -> NDArray[np.float64]:
        """The fine bands (C, H, W) the trend reads: the covariates smoothed by ``sigma``."""
        return self._smoothed_covariates(inputs)

    def _fit_bands(self, inputs: TaskInputs) -> NDArray[np.float64]:
        """:meth:`_bands` of the fitted inputs, fitting first whatever the bands depend on."""
        return self._bands(inputs)

    def _smoothed_covariates(self, inputs: TaskInputs) -> NDArray[np.float64]:
        """The covariates smoothed by ``sigma``, finite on every valid cell.

        A valid cell without a covariate takes the fit's fill value (the band's mean over the
        fitted valid cells), so a window is filled as the whole scene was; covariates missing
        off the valid cells are left out of the smoothing rather than filled, and so never
        reach a valid cell. (Smoothing them as NaN spread NaN over every valid cell within
        the kernel's reach of the survey edge: 1.0.0's trend was NaN there.)
        """
        bands = np.asarray(inputs.covariates, dtype=np.float64)
        if len(bands) != len(self.fill_):
            raise InvalidInputError(
                f"the model was fitted on {len(self.fill_)} covariate bands and these inputs "
                f"have {len(bands)}: fit it on inputs with the same bands"
            )
        missing = inputs.valid[None] & ~np.isfinite(bands)
        if missing.any():
            bands = np.where(missing, self.fill_[:, None, None], bands)
        return smoothed_where_finite(bands, self.sigma)

    def _fit_trend(
        self, features: NDArray[np.float64], target: NDArray[np.float64], inputs: TaskInputs
    ) -> Any:
        """The trend fitted between block means (N, C) and block data (N,): linear here."""
        return fit_trend(features, target)

    def _apply_trend(self, bands: NDArray[np.float64], trend: Any) -> NDArray[np.float64]:
        """A fitted trend on fine bands (C, H, W) -> (H, W)."""
        return apply_trend(bands, trend)

    def context_cells(self, scale: int) -> int:
        """Halo of a tiled prediction, in fine cells.

        The kriging neighbourhood and back-projection's reach, plus the covariate smoothing
        (4 sigma).
        """
        return super().context_cells(scale) + int(np.ceil(4 * self.sigma))

    def _trend_and_residual(
        self, inputs: TaskInputs, fine: NDArray[np.float64], e: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Element ``e``'s fine trend on these inputs and the block residuals it leaves."""
        trend = self._apply_trend(fine, self.coef_[e])
        trend_blocks = _block_features(trend[None], inputs.valid, inputs.scale)[0]
        return trend, block_data(inputs, e) - trend_blocks

    def _analysis_map(
        self, inputs: TaskInputs, e: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The trend plus the kriged block residuals, with the residuals' kriging variance.

        Both come from ``inputs`` (a tile's window in tiled evaluation); only the trend's
        coefficients and the residuals' point covariance come from :meth:`fit`.
        """
        fine = self._bands(inputs)
        trend, residual = self._trend_and_residual(inputs, fine, e)
        kriged = area_to_point(
            residual,
            inputs.valid,
            inputs.scale,
            inputs.grid.res,
            self.models_[e],
            self.radius,
        )
        return trend + kriged.mean, kriged.variance


class ForestAreaToPointKriging(AreaToPointRegressionKriging):
    """ATPRK with a random-forest trend: the grid-protocol path of the random-forest baseline.

    The forest learns the block data from the block means of the smoothed covariates (the
    support on which both are known), predicts every fine cell from the smoothed fine
    covariates, and ATPK of the block residuals restores the block data exactly, so the
    forest's errors at fine scale are corrected wherever the data can see them.

    Args:
        n_estimators: trees.
        min_samples_leaf: minimum samples (blocks) per leaf.
        radius: ATPK neighbourhood half-width in blocks.
        back_projection: natural-unit back-projection steps for log10 elements (0: none).
        sigma: Gaussian smoothing of the covariates, in fine cells (0: as given).
        use_coordinates: add the cell-centre x, y as bands (a spatial trend).
    """

    def __init__(
        self,
        n_estimators: int = 300,
        min_samples_leaf: int = 2,
        radius: int = 3,
        back_projection: int = 3,
        sigma: float = 2.0,
        use_coordinates: bool = False,
    ) -> None:
        super().__init__(radius=radius, back_projection=back_projection, sigma=sigma)
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.use_coordinates = use_coordinates

    def _bands(self, inputs: TaskInputs) -> NDArray[np.float64]:
        bands = super()._bands(inputs)
        if not self.use_coordinates:
            return bands
        height, width = inputs.valid.shape
        rows, cols = np.indices((height, width))
        x, y = inputs.grid.centres(rows.ravel(), cols.ravel())
        return np.concatenate([bands, np.stack([x, y]).reshape(2, height, width)])

    def _fit_trend(
        self, features: NDArray[np.float64], target: NDArray[np.float64], inputs: TaskInputs
    ) -> Any:
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            random_state=inputs.seed,
            n_jobs=-1,
        ).fit(features, target)

    def _apply_trend(self, bands: NDArray[np.float64], trend: Any) -> NDArray[np.float64]:
        """The forest on the cells whose bands are all finite; NaN elsewhere.

        A covariate NaN or infinite off the survey mask stays so after the smoothing (with
        ``sigma = 0``, or beyond the kernel's reach of any finite cell): the forest is not
        asked there (scikit-learn refuses infinity, and NaN before 1.4). Valid cells always
        have finite bands, and the map is NaN off them anyway.
        """
        flat = bands.reshape(len(bands), -1).T
        out = np.full(len(flat), np.nan)
        finite = np.flatnonzero(np.isfinite(flat).all(axis=1))
        for s in range(0, len(finite), _CHUNK):
            cells = finite[s : s + _CHUNK]
            out[cells] = trend.predict(flat[cells])
        return out.reshape(bands.shape[1:])


class AreaToPointExternalDrift(AreaToPointRegressionKriging):
    """Kriging with an external drift at block support: ``kriging-external-drift`` on grids.

    The drift is the ``components`` leading principal components of the covariates smoothed
    by ``sigma`` cells (the support ATPRK's trend uses), and a block's drift datum is their
    mean over its valid cells. Each block kriges its fine cells from the blocks within
    ``radius`` with the drift coefficients re-estimated in that neighbourhood
    (:func:`~geochem_bench.models.area_to_point.area_to_point` with ``drift``), where ATPRK
    fits one trend for the whole scene. The point covariance is deconvolved from the block
    residuals of a global regression on the same components: the covariance of what the
    drift leaves. The map keeps the block data, like ATPK.

    Args:
        components: principal components of the standardised smoothed covariates used as
            drift (besides the unknown constant).
        radius: neighbourhood half-width in blocks.
        back_projection: natural-unit back-projection steps for log10 elements (0: none).
        sigma: Gaussian smoothing of the covariates, in fine cells (0: as given).
        fit_nugget: fit a point-support nugget to the residuals.
    """

    def __init__(
        self,
        components: int = 2,
        radius: int = 3,
        back_projection: int = 3,
        sigma: float = 2.0,
        fit_nugget: bool = False,
    ) -> None:
        super().__init__(
            radius=radius, back_projection=back_projection, sigma=sigma, fit_nugget=fit_nugget
        )
        self.components = components

    def fit(self, inputs: TaskInputs) -> None:
        """Fit the drift's components, then each element's residual point covariance."""
        require_grid(inputs, "kriging with external drift at block support")
        super().fit(inputs)

    def _fit_bands(self, inputs: TaskInputs) -> NDArray[np.float64]:
        """The drift fields of the fitted inputs, after fitting the components' axes.

        The covariates are smoothed once here, for the axes and the fields alike.
        """
        from geochem_bench.models.data_points import leading_components

        fine = self._smoothed_covariates(inputs)
        at_block = _block_features(fine, inputs.valid, inputs.scale).reshape(len(fine), -1).T
        self.axes_ = leading_components(
            at_block[np.isfinite(at_block).all(axis=1)], self.components
        )
        return self._components(fine)

    def _bands(self, inputs: TaskInputs) -> NDArray[np.float64]:
        """The drift fields (components, H, W) on these inputs, with the axes of the fit."""
        return self._components(self._smoothed_covariates(inputs))

    def _components(self, fine: NDArray[np.float64]) -> NDArray[np.float64]:
        """Smoothed covariates (C, H, W) projected on the fitted axes: (components, H, W)."""
        centre, scale, axes = self.axes_
        standard = (fine - centre[:, None, None]) / scale[:, None, None]
        return np.tensordot(axes.T, standard, axes=1)

    def _analysis_map(
        self, inputs: TaskInputs, e: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The block data kriged with the drift (ATPK's map, not ATPRK's trend + residual)."""
        return AreaToPointKriging._analysis_map(self, inputs, e)

    def _drift(self, inputs: TaskInputs) -> NDArray[np.float64]:
        """The drift fields: the smoothed covariates' components (:meth:`_bands`)."""
        return self._bands(inputs)
