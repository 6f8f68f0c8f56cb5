"""A minimal geochem-bench submission: bicubic upsampling plus a covariate detail term.

The lowres grid is regressed on the covariates averaged to the same coarse cells (ordinary
least squares, in each element's analysis space); at the fine resolution the fitted
coefficients are applied to the covariates' departures from their coarse means, and the
result is added to the bicubic upsampling. It is an example of the interface, not a
recommendation.
"""

from __future__ import annotations

import numpy as np

from geochem_bench.core.grid import block_mean
from geochem_bench.core.task import TaskInputs
from geochem_bench.models import FusionModel
from geochem_bench.models.upsampling import upsample_lowres


class CovariateDetail(FusionModel):
    """Bicubic upsampling plus ``strength`` x the regressed covariate detail."""

    def __init__(self, strength: float = 1.0) -> None:
        self.strength = strength

    def predict(self, inputs: TaskInputs) -> np.ndarray:
        """Predict natural-unit concentrations on the fine grid."""
        covariates = np.where(inputs.valid, inputs.covariates, np.nan)
        coarse, _ = block_mean(covariates, inputs.scale)  # (C, h, w)
        smooth = np.repeat(np.repeat(coarse, inputs.scale, 1), inputs.scale, 2)
        detail = covariates - smooth[:, : covariates.shape[1], : covariates.shape[2]]
        base = upsample_lowres(inputs, "bicubic")
        out = base.copy()
        for e, element in enumerate(inputs.elements):
            target = element.to_analysis(inputs.lowres[e].astype(np.float64))
            design = coarse.reshape(len(coarse), -1).T
            usable = np.isfinite(target.ravel()) & np.isfinite(design).all(axis=1)
            if usable.sum() <= design.shape[1] + 1:
                continue  # too few coarse cells to fit: keep the upsampling
            x = np.column_stack([np.ones(usable.sum()), design[usable]])
            coef, *_ = np.linalg.lstsq(x, target.ravel()[usable], rcond=None)
            fine_detail = np.nan_to_num(np.tensordot(coef[1:], detail, axes=1))
            analysis = element.to_analysis(base[e].astype(np.float64)) + self.strength * fine_detail
            out[e] = element.from_analysis(analysis)
        out[:, ~inputs.valid] = np.nan
        return out.astype(np.float32)
