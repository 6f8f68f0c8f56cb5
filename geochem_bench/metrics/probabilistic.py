"""Scores of a predictive distribution, for models that return a standard deviation."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri
from scipy.stats import norm

from geochem_bench.errors import InvalidInputError

Array = NDArray[np.floating]


def crps_gaussian(truth: Array, mean: Array, std: Array) -> float:
    """Mean continuous ranked probability score of Gaussian forecasts.

    Closed form of Gneiting & Raftery (2007, JASA 102:359-378):
    sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)], z = (y - mu) / sigma; it reduces to the
    absolute error when sigma = 0. Lower is better, in the units of the truth.
    """
    y = np.asarray(truth, dtype=np.float64)
    mu = np.asarray(mean, dtype=np.float64)
    sigma = np.asarray(std, dtype=np.float64)
    if y.size == 0:
        return float("nan")
    if np.any(sigma < 0):
        raise InvalidInputError("a predictive standard deviation cannot be negative")
    err = np.abs(y - mu)
    safe = np.where(sigma > 0, sigma, 1.0)
    z = (y - mu) / safe
    crps = safe * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / np.sqrt(np.pi))
    return float(np.mean(np.where(sigma > 0, crps, err)))


def interval_coverage(truth: Array, mean: Array, std: Array, level: float = 0.9) -> float:
    """Fraction of truths inside the central Gaussian interval of probability ``level``.

    A calibrated model covers about ``level``; less means overconfident.
    """
    y = np.asarray(truth, dtype=np.float64)
    if y.size == 0:
        return float("nan")
    half_width = ndtri(0.5 + level / 2) * np.asarray(std, dtype=np.float64)
    return float(np.mean(np.abs(y - np.asarray(mean, dtype=np.float64)) <= half_width))
