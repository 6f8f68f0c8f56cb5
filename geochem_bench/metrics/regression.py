"""Point-wise agreement between truth and prediction (analysis space, paired 1-D arrays)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.stats import rankdata

from geochem_bench.errors import InvalidInputError

Array = NDArray[np.floating]


def _pair(truth: Array, pred: Array) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    t = np.asarray(truth, dtype=np.float64).ravel()
    p = np.asarray(pred, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise InvalidInputError(f"truth and prediction differ in size: {t.size} vs {p.size}")
    return t, p


def rmse(truth: Array, pred: Array) -> float:
    """Root mean squared error (the main score); NaN for no pairs."""
    t, p = _pair(truth, pred)
    return float(np.sqrt(np.mean((p - t) ** 2))) if t.size else float("nan")


def mae(truth: Array, pred: Array) -> float:
    """Mean absolute error."""
    t, p = _pair(truth, pred)
    return float(np.mean(np.abs(p - t))) if t.size else float("nan")


def bias(truth: Array, pred: Array) -> float:
    """Mean error, prediction minus truth (positive = overestimation)."""
    t, p = _pair(truth, pred)
    return float(np.mean(p - t)) if t.size else float("nan")


def r2(truth: Array, pred: Array) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot; NaN when the truth is constant."""
    t, p = _pair(truth, pred)
    if t.size < 2:
        return float("nan")
    ss_tot = np.sum((t - t.mean()) ** 2)
    if ss_tot == 0:
        return float("nan")
    return float(1.0 - np.sum((t - p) ** 2) / ss_tot)


def pearson_r(truth: Array, pred: Array) -> float:
    """Pearson correlation; NaN when either side is constant or fewer than 2 pairs."""
    t, p = _pair(truth, pred)
    if t.size < 2:
        return float("nan")
    dt, dp = t - t.mean(), p - p.mean()
    denom = np.sqrt(np.sum(dt * dt) * np.sum(dp * dp))
    return float(np.sum(dt * dp) / denom) if denom > 0 else float("nan")


def spearman_rho(truth: Array, pred: Array) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    t, p = _pair(truth, pred)
    if t.size < 2:
        return float("nan")
    return pearson_r(rankdata(t), rankdata(p))


def lin_ccc(truth: Array, pred: Array) -> float:
    """Lin's concordance correlation coefficient (Lin 1989, Biometrics 45:255-268).

    2 cov / (var_t + var_p + (mean_t - mean_p)^2) with population moments; it is 1 only when
    the prediction equals the truth, so it penalises both scatter and bias.
    """
    t, p = _pair(truth, pred)
    if t.size < 2:
        return float("nan")
    mt, mp = t.mean(), p.mean()
    cov = np.mean((t - mt) * (p - mp))
    denom = t.var() + p.var() + (mt - mp) ** 2
    return float(2.0 * cov / denom) if denom > 0 else float("nan")
