"""Point-wise agreement between truth and prediction (analysis space, paired 1-D arrays).

The moment-based metrics are the one-chunk case of the streaming engine
(:mod:`geochem_bench.metrics.streaming`), so they equal what tiled scoring accumulates.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from geochem_bench.metrics.streaming import PairedMoments, as_pairs

Array = NDArray[np.floating]


def rmse(truth: Array, pred: Array) -> float:
    """Root mean squared error (the main score); NaN for no pairs."""
    return PairedMoments.of(truth, pred).rmse


def mae(truth: Array, pred: Array) -> float:
    """Mean absolute error."""
    return PairedMoments.of(truth, pred).mae


def bias(truth: Array, pred: Array) -> float:
    """Mean error, prediction minus truth (positive = overestimation)."""
    return PairedMoments.of(truth, pred).bias


def r2(truth: Array, pred: Array) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot; NaN when the truth is constant."""
    return PairedMoments.of(truth, pred).r2


def pearson_r(truth: Array, pred: Array) -> float:
    """Pearson correlation; NaN when either side is constant or fewer than 2 pairs."""
    return PairedMoments.of(truth, pred).pearson_r


def spearman_rho(truth: Array, pred: Array) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    t, p = as_pairs(truth, pred)
    if t.size < 2:
        return float("nan")
    return pearson_r(rankdata(t), rankdata(p))


def lin_ccc(truth: Array, pred: Array) -> float:
    """Lin's concordance correlation coefficient (Lin 1989, Biometrics 45:255-268).

    2 cov / (var_t + var_p + (mean_t - mean_p)^2) with population moments; it is 1 only when
    the prediction equals the truth, so it penalises both scatter and bias.
    """
    return PairedMoments.of(truth, pred).lin_ccc
