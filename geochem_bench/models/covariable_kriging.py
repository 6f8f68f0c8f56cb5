"""Kriging that uses other elements measured where the target is not: the heterotopic case.

On transfer tasks the target element is missing at some sites (the held-out ones among them)
while other elements of the same survey were measured there. Goovaerts (1997, ch. 6) answers
with cokriging; this baseline is its simple, robust relative: a linear regression of the
target on co-located covariable elements, with the covariables observed where sampled and
ordinarily kriged elsewhere, plus ordinary kriging of the regression residuals. Without
covariables at unsampled sites (the points protocol) it is ordinary kriging. Like ordinary
kriging it kriges point data and refuses grid-protocol tasks.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.task import TaskInputs
from geochem_bench.models.data_points import SamplesFit, point_data
from geochem_bench.models.kriging import (
    OrdinaryKrigingModel,
    fit_ordinary_kriging,
    krige_points,
    require_points,
    site_cells,
)

#: A covariable must be known at this share of the sites that lack the target.
_COVERAGE = 0.9


def covariable_symbols(inputs: TaskInputs, e: int, limit: int) -> list[str]:
    """Elements measured where target ``e`` is not, most correlated (log10) with it first."""
    points = inputs.points
    if points is None:
        return []
    target = inputs.elements[e]
    t = target.to_analysis(points.column(target.symbol))
    missing = ~np.isfinite(t)
    if not missing.any():
        return []
    scored: list[tuple[float, str]] = []
    for symbol in points.elements:
        if symbol == target.symbol:
            continue
        v = points.column(symbol)
        if np.isfinite(v[missing]).mean() < _COVERAGE:
            continue
        both = np.isfinite(t) & np.isfinite(v) & (v > 0)
        if both.sum() < 10:
            continue
        r = np.corrcoef(t[both], np.log10(v[both]))[0, 1]
        if np.isfinite(r):
            scored.append((abs(float(r)), symbol))
    return [symbol for _, symbol in sorted(scored, reverse=True)[:limit]]


class CovariableKriging(OrdinaryKrigingModel):
    """Regression on covariable elements (observed or kriged) plus kriged residuals.

    Everything is in the target's analysis space: for a log10 element, log10 of the target is
    regressed on log10 of the covariables, and the estimate is back-transformed with 10^x. That
    is the median of a lognormal predictive distribution, not its mean (no variance term is
    added): it suits absolute errors (MAE), and underestimates the mean.

    Args:
        max_covariables: most covariable elements used (the most correlated with the target).
        variogram_model: variogram model of every kriging step (a PyKrige model name).
        neighbours: moving neighbourhood of every kriging step.
        nlags: lags of the experimental variograms.
        cv_folds: with covariables, choose the variogram model (spherical or exponential) and
            the neighbourhood (``neighbours`` or the global system) by ``cv_folds``-fold
            cross-validation inside the fold's training sites (mean absolute error in natural
            units, the target hidden at the left-out sites as on a transfer task); 0: use
            ``variogram_model`` and ``neighbours`` as given.
        cv_max_sites: skip the cross-validation above this many training sites (its cost
            grows with the survey).
    """

    label = "covariable kriging"
    on_grid = "atpk (area-to-point kriging; a grid task has no covariable elements at sites)"

    def __init__(
        self,
        max_covariables: int = 3,
        variogram_model: str = "spherical",
        neighbours: int | None = 32,
        nlags: int | None = None,
        cv_folds: int = 0,
        cv_max_sites: int = 1000,
    ) -> None:
        super().__init__(variogram_model, neighbours, nlags)
        self.max_covariables = max_covariables
        self.cv_folds = cv_folds
        self.cv_max_sites = cv_max_sites
        self._chosen: dict[tuple[str, int, int], tuple[str, int | None]] = {}

    #: Its covariable fields are kriged onto the query cells of the whole fold's grid (cells
    #: holding samples take their values), so it fits at prediction and maps in memory.
    streams_from_samples = False

    def fit(self, inputs: TaskInputs) -> None:
        """Check the protocol; the regression on the covariables is fitted at prediction."""
        require_points(inputs, self.label, self.on_grid)
        self.fill_ = None
        self.fitted_ = SamplesFit.of(inputs, self.uses_covariates)

    def _estimate_element(self, inputs, e, rows, cols, qx, qy):  # type: ignore[no-untyped-def]
        symbols = covariable_symbols(inputs, e, self.max_covariables)
        if symbols:
            model = self._by_cv(inputs, e, symbols)
            return model._with_covariables(inputs, e, symbols, rows, cols, qx, qy)
        fitted = self._fit_element(inputs, point_data(inputs, e, with_features=False))
        return fitted(inputs, rows, cols, qx, qy)

    def _by_cv(self, inputs: TaskInputs, e: int, symbols: list[str]) -> CovariableKriging:
        """This model with the settings chosen by cross-validation on the training sites."""
        points = inputs.points
        assert points is not None
        target = inputs.elements[e]
        known = np.flatnonzero(np.isfinite(points.column(target.symbol)))
        if self.cv_folds < 2 or len(known) > self.cv_max_sites:
            return self
        key = (inputs.task_id, inputs.fold, e)
        if key not in self._chosen:
            candidates = [
                (variogram, neighbours)
                for variogram in ("spherical", "exponential")
                for neighbours in dict.fromkeys((self.neighbours, None))
            ]
            group = np.random.default_rng(inputs.seed).permutation(len(known)) % self.cv_folds
            errors = {c: 0.0 for c in candidates}
            for k in range(self.cv_folds):
                left_out = np.zeros(len(points.ids), dtype=bool)
                left_out[known[group == k]] = True
                cv_inputs = replace(inputs, points=points.with_hidden((target.symbol,), left_out))
                qx, qy = points.x[left_out], points.y[left_out]
                rows, cols = site_cells(inputs, np.column_stack([qx, qy]))
                truth = points.column(target.symbol)[left_out]
                for candidate in candidates:
                    model = copy.copy(self)
                    model.variogram_model, model.neighbours = candidate
                    z, _ = model._with_covariables(cv_inputs, e, symbols, rows, cols, qx, qy)
                    errors[candidate] += float(np.abs(target.from_analysis(z) - truth).sum())
            self._chosen[key] = min(candidates, key=lambda c: errors[c])
        chosen = copy.copy(self)
        chosen.variogram_model, chosen.neighbours = self._chosen[key]
        return chosen

    def _with_covariables(
        self,
        inputs: TaskInputs,
        e: int,
        symbols: list[str],
        rows: NDArray[np.intp],
        cols: NDArray[np.intp],
        qx: NDArray[np.float64],
        qy: NDArray[np.float64],
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        points = inputs.points
        assert points is not None
        target = inputs.elements[e]
        t = target.to_analysis(points.column(target.symbol))
        fields, at_sites = self._regressors(inputs, symbols, rows, cols, qx, qy)
        train = np.isfinite(t) & np.isfinite(at_sites).all(axis=1)
        design = np.column_stack([np.ones(train.sum()), at_sites[train]])
        coef, *_ = np.linalg.lstsq(design, t[train], rcond=None)
        residual = t[train] - design @ coef
        ok = fit_ordinary_kriging(
            points.x[train], points.y[train], residual, self.variogram_model, self.nlags
        )
        z, var = krige_points(ok, qx, qy, self.neighbours)
        return coef[0] + fields @ coef[1:] + z, var

    def _regressors(
        self,
        inputs: TaskInputs,
        symbols: list[str],
        rows: NDArray[np.intp],
        cols: NDArray[np.intp],
        qx: NDArray[np.float64],
        qy: NDArray[np.float64],
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The regression's terms at the query points (Q, P) and at every sample site (N, P).

        log10 of each covariable: observed or kriged at the queries (:meth:`_covariable_field`),
        as measured at the sites (NaN where not measured: those sites are left out of the fit).
        """
        points = inputs.points
        assert points is not None
        fields = np.column_stack(
            [self._covariable_field(inputs, s, rows, cols, qx, qy) for s in symbols]
        )
        at_sites = np.column_stack([np.log10(points.column(s)) for s in symbols])
        return fields, at_sites

    def _covariable_field(
        self,
        inputs: TaskInputs,
        symbol: str,
        rows: NDArray[np.intp],
        cols: NDArray[np.intp],
        qx: NDArray[np.float64],
        qy: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """log10 of a covariable at the query points (cells or sites).

        Observed where sampled: the sample's own value at a query point that is a sample site
        (``predict_points`` at the held-out sites of a transfer task), else the mean of the
        samples in the query's cell; kriged elsewhere.
        """
        points = inputs.points
        assert points is not None
        v = points.column(symbol)
        known = np.isfinite(v) & (v > 0)
        logv = np.log10(v[known])
        ok = fit_ordinary_kriging(
            points.x[known], points.y[known], logv, self.variogram_model, self.nlags
        )
        field, _ = krige_points(ok, qx, qy, self.neighbours, variance=False)
        sample_rows, sample_cols = inputs.grid.cell_of(points.x[known], points.y[known])
        height, width = inputs.valid.shape
        flat = sample_rows * width + sample_cols
        sums = np.bincount(flat, weights=logv, minlength=height * width)
        counts = np.bincount(flat, minlength=height * width)
        cell = rows * width + cols
        sampled = counts[cell] > 0
        field[sampled] = sums[cell[sampled]] / counts[cell[sampled]]
        at_site, site_value = _values_at_sites(points.x[known], points.y[known], logv, qx, qy)
        field[at_site] = site_value
        return field


def _values_at_sites(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    value: NDArray[np.float64],
    qx: NDArray[np.float64],
    qy: NDArray[np.float64],
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Which query points are sample sites (same coordinates), and the mean value there."""
    from scipy.spatial import cKDTree

    sites, index = np.unique(np.column_stack([x, y]), axis=0, return_inverse=True)
    index = index.ravel()
    mean = np.bincount(index, weights=value) / np.bincount(index)
    distance, nearest = cKDTree(sites).query(np.column_stack([qx, qy]))
    # a site is a sample's location to the floating-point precision of the coordinates
    tolerance = 1e-9 * max(1.0, float(np.abs(sites).max()))
    hit = distance <= tolerance
    return hit, mean[nearest[hit]]
