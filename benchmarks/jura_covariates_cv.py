"""Would rock type and land use help covariable kriging on Jura? Inner CV on training sites.

Builds the official fold of ``jura/{cd,cu}/s10/transfer`` (the 100 validation sites' target
is hidden there, so it is never read) and runs a 10-fold cross-validation inside the 259
training sites, three random fold assignments, for each variogram model and neighbourhood,
with and without the scene's covariates (one-hot rock type and land use at each site's cell)
as extra regression terms beside the co-located elements. Prints the mean absolute error in
mg/kg, best first. Used for the covariable-kriging card ("Tried and not adopted").

    GEOCHEM_BENCH_DATA=... python benchmarks/jura_covariates_cv.py
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from geochem_bench.models.covariable_kriging import CovariableKriging, covariable_symbols
from geochem_bench.models.kriging import site_cells
from geochem_bench.scenes.registry import get_task, load_scene
from geochem_bench.tasks.protocols import build_inputs, task_split


class _WithCovariates(CovariableKriging):
    """Covariable kriging whose regression may also read the covariates at the sites."""

    use_covariates = True

    def _regressors(self, inputs, symbols, rows, cols, qx, qy):  # type: ignore[no-untyped-def]
        fields, at_sites = super()._regressors(inputs, symbols, rows, cols, qx, qy)
        if not self.use_covariates:
            return fields, at_sites
        points = inputs.points
        site_rows, site_cols = site_cells(inputs, np.column_stack([points.x, points.y]))
        bands = inputs.covariates[:, site_rows, site_cols].T.astype(np.float64)
        query = inputs.covariates[:, rows, cols].T.astype(np.float64)
        varying = bands.std(axis=0) > 0  # a class absent from the sites adds nothing
        return (
            np.column_stack([fields, query[:, varying]]),
            np.column_stack([at_sites, bands[:, varying]]),
        )


def inner_folds(n: int, repeat: int, folds: int = 10) -> np.ndarray:
    """The fold (0..folds-1) of each of ``n`` training sites in assignment ``repeat``.

    Shared with ``benchmarks/jura_gp_cv.py``, so both scripts score the same folds.
    """
    return np.random.default_rng(100 + repeat).permutation(n) % folds


def inner_cv(task_id: str, repeats: int = 3, folds: int = 10) -> dict[Any, list[float]]:
    """Mean absolute error per (covariates?, variogram, neighbours), one per repeat."""
    task = get_task(task_id)
    scene = load_scene(task.scene)
    inputs = build_inputs(scene, task, 0, seed=0, split=task_split(scene, task))
    points = inputs.points
    assert points is not None
    target = inputs.elements[0]
    symbols = covariable_symbols(inputs, 0, 3)
    known = np.flatnonzero(np.isfinite(points.column(target.symbol)))
    print(f"{task_id}: covariables {symbols}, {len(known)} training sites with the target")
    errors: dict[Any, list[float]] = {}
    for repeat in range(repeats):
        group = inner_folds(len(known), repeat, folds)
        for use in (False, True):
            for variogram in ("spherical", "exponential"):
                for neighbours in (32, None):
                    model = _WithCovariates(variogram_model=variogram, neighbours=neighbours)
                    model.use_covariates = use
                    total = 0.0
                    for k in range(folds):
                        left = np.zeros(len(points.ids), dtype=bool)
                        left[known[group == k]] = True
                        hidden = replace(inputs, points=points.with_hidden((target.symbol,), left))
                        qx, qy = points.x[left], points.y[left]
                        rows, cols = site_cells(inputs, np.column_stack([qx, qy]))
                        z, _ = model._with_covariables(hidden, 0, symbols, rows, cols, qx, qy)
                        truth = points.column(target.symbol)[left]
                        total += float(np.abs(target.from_analysis(z) - truth).sum())
                    errors.setdefault((use, variogram, neighbours), []).append(total / len(known))
    return errors


def main() -> None:
    for task_id in ("jura/cd/s10/transfer", "jura/cu/s10/transfer"):
        errors = inner_cv(task_id)
        for (use, variogram, neighbours), values in sorted(
            errors.items(), key=lambda kv: float(np.mean(kv[1]))
        ):
            label = "with covariates" if use else "without"
            print(
                f"  {label:16s} {variogram:12s} {neighbours!s:5s} "
                f"{np.round(values, 4)} mean {np.mean(values):.4f}"
            )


if __name__ == "__main__":
    main()
