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

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.task import TaskInputs
from geochem_bench.models.kriging import OrdinaryKrigingModel, fit_ordinary_kriging, krige_points

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

    Args:
        max_covariables: most covariable elements used (the most correlated with the target).
        variogram_model: variogram model of every kriging step (a PyKrige model name).
        neighbours: moving neighbourhood of every kriging step.
        nlags: lags of the experimental variograms.
    """

    label = "covariable kriging"
    on_grid = "atpk (area-to-point kriging; a grid task has no covariable elements at sites)"

    def __init__(
        self,
        max_covariables: int = 3,
        variogram_model: str = "spherical",
        neighbours: int | None = 32,
        nlags: int | None = None,
    ) -> None:
        super().__init__(variogram_model, neighbours, nlags)
        self.max_covariables = max_covariables

    def _element(self, inputs, e, rows, cols, qx, qy):  # type: ignore[no-untyped-def]
        symbols = covariable_symbols(inputs, e, self.max_covariables)
        if symbols:
            return self._with_covariables(inputs, e, symbols, rows, cols, qx, qy)
        return super()._element(inputs, e, rows, cols, qx, qy)

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
        fields = np.column_stack(
            [self._covariable_field(inputs, s, rows, cols, qx, qy) for s in symbols]
        )
        at_sites = np.column_stack([np.log10(points.column(s)) for s in symbols])
        train = np.isfinite(t) & np.isfinite(at_sites).all(axis=1)
        design = np.column_stack([np.ones(train.sum()), at_sites[train]])
        coef, *_ = np.linalg.lstsq(design, t[train], rcond=None)
        residual = t[train] - design @ coef
        ok = fit_ordinary_kriging(
            points.x[train], points.y[train], residual, self.variogram_model, self.nlags
        )
        z, var = krige_points(ok, qx, qy, self.neighbours)
        return coef[0] + fields @ coef[1:] + z, var

    def _covariable_field(
        self,
        inputs: TaskInputs,
        symbol: str,
        rows: NDArray[np.intp],
        cols: NDArray[np.intp],
        qx: NDArray[np.float64],
        qy: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """log10 of a covariable on the valid cells: the sample mean where sampled, else kriged."""
        points = inputs.points
        assert points is not None
        v = points.column(symbol)
        known = np.isfinite(v) & (v > 0)
        logv = np.log10(v[known])
        ok = fit_ordinary_kriging(
            points.x[known], points.y[known], logv, self.variogram_model, self.nlags
        )
        field, _ = krige_points(ok, qx, qy, self.neighbours)
        sample_rows, sample_cols = inputs.grid.cell_of(points.x[known], points.y[known])
        height, width = inputs.valid.shape
        flat = sample_rows * width + sample_cols
        sums = np.bincount(flat, weights=logv, minlength=height * width)
        counts = np.bincount(flat, minlength=height * width)
        cell = rows * width + cols
        sampled = counts[cell] > 0
        field[sampled] = sums[cell[sampled]] / counts[cell[sampled]]
        return field
