"""Isotropic variogram models, the experimental variogram and its automatic fit.

The models and their parameters are PyKrige's (``pykrige.variogram_models``): ``[psill,
range, nugget]`` for the spherical, exponential and gaussian models, ``[slope, nugget]`` for
the linear one, so parameters pass between the two unchanged. The automatic fit is PyKrige's
too (``pykrige.core._initialize_variogram_model`` and ``_calculate_variogram_model``): equal
lag bins from the shortest to the longest pair distance, a soft-L1 least-squares fit from the
same start and bounds, and with ``weight`` the same logistic weights that favour short lags.
PyKrige stays the cross-check of this module (``tests/test_kriging_engine.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geochem_bench.errors import InvalidInputError

#: Models with a sill (a covariance exists); the linear model has none.
BOUNDED = ("spherical", "exponential", "gaussian")
MODELS = (*BOUNDED, "linear")


@dataclass(frozen=True)
class Variogram:
    """An isotropic variogram model with PyKrige's parameters.

    ``gamma(0)`` is the nugget, as in PyKrige's model functions: a datum and a target at the
    same place differ by the nugget, which is read as noise and micro-scale variation (PyKrige
    ``exact_values=False``); a datum with itself differs by nothing (the diagonal of a kriging
    system is the sill).

    Attributes:
        model: spherical, exponential, gaussian or linear.
        parameters: ``(psill, range, nugget)``, or ``(slope, nugget)`` for linear.
    """

    model: str
    parameters: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise InvalidInputError(f"unknown variogram model {self.model!r}; use one of {MODELS}")
        expected = 2 if self.model == "linear" else 3
        if len(self.parameters) != expected:
            raise InvalidInputError(
                f"the {self.model} variogram takes {expected} parameters, got {self.parameters}"
            )

    @property
    def nugget(self) -> float:
        """Variance at zero distance that is not spatially correlated."""
        return float(self.parameters[-1])

    @property
    def sill(self) -> float:
        """Total sill, C(0); 0 for the linear model, whose covariance is generalised."""
        if self.model == "linear":
            return 0.0
        return float(self.parameters[0] + self.parameters[2])

    def gamma(self, h: ArrayLike) -> NDArray[np.float64]:
        """Semivariance at distances ``h`` (PyKrige's formula, ``gamma(0)`` = nugget)."""
        d = np.asarray(h, dtype=np.float64)
        if self.model == "linear":
            slope, nugget = self.parameters
            return slope * d + nugget
        psill, rng, nugget = self.parameters
        if self.model == "spherical":
            r = np.minimum(d / rng, 1.0)
            return psill * r * (1.5 - 0.5 * r * r) + nugget
        if self.model == "exponential":
            return psill * (1.0 - np.exp(-d / (rng / 3.0))) + nugget
        return psill * (1.0 - np.exp(-(d**2) / (rng * 4.0 / 7.0) ** 2)) + nugget

    def covariance(self, h: ArrayLike) -> NDArray[np.float64]:
        """``sill - gamma(h)``: the covariance between points ``h`` apart (``h`` > 0).

        For the linear model this is ``-gamma(h)``, a generalised covariance: valid only in
        systems that filter a constant mean (ordinary and universal kriging), where adding a
        constant to every covariance changes neither weights nor variance. Written out per
        model, in place, rather than as ``sill - gamma``: kriging evaluates it on every pair of
        every neighbourhood, and the temporaries cost more than the arithmetic.
        """
        d = np.array(h, dtype=np.float64)  # a copy, worked on in place
        if self.model == "linear":
            slope, nugget = self.parameters
            d *= -slope
            d -= nugget
            return d
        psill, rng, _ = self.parameters
        if self.model == "spherical":
            d *= 1.0 / rng
            np.minimum(d, 1.0, out=d)
            cubic = d * d
            cubic *= 0.5
            cubic -= 1.5
            cubic *= d  # 0.5 r^3 - 1.5 r
            cubic += 1.0
            cubic *= psill
            return cubic
        if self.model == "exponential":
            d *= -3.0 / rng
        else:
            d *= 7.0 / (4.0 * rng)
            d *= d
            d *= -1.0
        np.exp(d, out=d)
        d *= psill
        return d


@dataclass(frozen=True)
class ExperimentalVariogram:
    """Semivariance averaged in lag bins (empty bins dropped).

    Attributes:
        lags: mean pair distance per bin.
        semivariance: mean half squared difference per bin.
    """

    lags: NDArray[np.float64]
    semivariance: NDArray[np.float64]


def experimental_variogram(
    x: ArrayLike, y: ArrayLike, z: ArrayLike, nlags: int
) -> ExperimentalVariogram:
    """Experimental variogram over ``nlags`` equal bins, binned as PyKrige bins.

    The bins run from the shortest to the longest pair distance (+0.001, so the longest pair
    falls in the last bin); one pass of ``searchsorted`` replaces PyKrige's loop of masks.
    """
    from scipy.spatial.distance import pdist

    xy = np.column_stack([np.asarray(x, np.float64), np.asarray(y, np.float64)])
    values = np.asarray(z, dtype=np.float64)
    if len(values) < 2:
        raise InvalidInputError(f"a variogram needs at least 2 data, got {len(values)}")
    d = pdist(xy, metric="euclidean")
    g = 0.5 * pdist(values[:, None], metric="sqeuclidean")
    dmin, dmax = float(d.min()), float(d.max())
    width = (dmax - dmin) / nlags
    edges = np.array([dmin + n * width for n in range(nlags)] + [dmax + 0.001])
    which = np.searchsorted(edges, d, side="right") - 1
    inside = (which >= 0) & (which < nlags)
    counts = np.bincount(which[inside], minlength=nlags)
    sum_d = np.bincount(which[inside], weights=d[inside], minlength=nlags)
    sum_g = np.bincount(which[inside], weights=g[inside], minlength=nlags)
    filled = counts > 0
    return ExperimentalVariogram(sum_d[filled] / counts[filled], sum_g[filled] / counts[filled])


def fit_variogram(
    experimental: ExperimentalVariogram, model: str, weight: bool = True
) -> Variogram:
    """Fit ``model`` to an experimental variogram as PyKrige fits it.

    Soft-L1 least squares (robust to odd bins) from PyKrige's start and within its bounds
    (partial sill up to 10x the largest semivariance, range up to the longest lag, nugget up
    to the largest semivariance); ``weight`` multiplies the residuals by a logistic weight
    centred at 70 % of the lag span, so short lags dominate.
    """
    from scipy.optimize import least_squares

    if model not in MODELS:
        raise InvalidInputError(f"unknown variogram model {model!r}; use one of {MODELS}")
    lags, sv = experimental.lags, experimental.semivariance
    if model == "linear":
        x0 = [(sv.max() - sv.min()) / (lags.max() - lags.min()), sv.min()]
        bounds = ([0.0, 0.0], [np.inf, sv.max()])
    else:
        x0 = [sv.max() - sv.min(), 0.25 * lags.max(), sv.min()]
        bounds = ([0.0, 0.0, 0.0], [10.0 * sv.max(), lags.max(), sv.max()])
    if weight:
        span = lags.max() - lags.min()
        k = 2.1972 / (0.1 * span)
        w = 1.0 / (1.0 + np.exp(-k * (0.7 * span + lags.min() - lags)))
        w /= w.sum()
    else:
        w = np.ones_like(lags)

    def residuals(params: NDArray[np.float64]) -> NDArray[np.float64]:
        return (Variogram(model, tuple(params)).gamma(lags) - sv) * w

    fit = least_squares(residuals, x0, bounds=bounds, loss="soft_l1")
    return Variogram(model, tuple(float(p) for p in fit.x))


def auto_variogram(
    x: ArrayLike,
    y: ArrayLike,
    z: ArrayLike,
    model: str,
    nlags: int,
    parameters: Sequence[float] | None = None,
    weight: bool = True,
) -> Variogram:
    """The given ``parameters``, or the fit of ``model`` to the data's experimental variogram.

    Raises:
        InvalidInputError: data a variogram cannot be fitted to (see :func:`check_point_data`).
    """
    if parameters is not None:
        return Variogram(model, tuple(float(p) for p in parameters))
    check_point_data(x, y, z, min_sites=3)
    if np.ptp(np.asarray(z, dtype=np.float64)) == 0:
        raise InvalidInputError(
            "every datum has the same value: there is no spatial variation to fit a variogram "
            "to; predict that constant instead of kriging"
        )
    return fit_variogram(experimental_variogram(x, y, z, nlags), model, weight)


def check_point_data(x: ArrayLike, y: ArrayLike, z: ArrayLike, min_sites: int = 1) -> None:
    """Refuse point data kriging cannot use, saying what is wrong.

    Raises:
        InvalidInputError: arrays of different lengths; a NaN or inf coordinate or value;
            data at fewer than ``min_sites`` distinct sites.
    """
    x, y, z = (np.asarray(a, dtype=np.float64).ravel() for a in (x, y, z))
    if not len(x) == len(y) == len(z):
        raise InvalidInputError(f"x, y and z differ in length: {len(x)}, {len(y)}, {len(z)}")
    for name, a in (("coordinate x", x), ("coordinate y", y), ("value", z)):
        if not np.isfinite(a).all():
            bad = int((~np.isfinite(a)).sum())
            raise InvalidInputError(
                f"{bad} data have a NaN or inf {name}: drop them before kriging"
            )
    sites = len(np.unique(np.column_stack([x, y]), axis=0)) if len(x) else 0
    if sites < min_sites:
        raise InvalidInputError(
            f"{len(z)} data at {sites} distinct site(s): kriging needs data at {min_sites} or "
            "more sites"
        )
