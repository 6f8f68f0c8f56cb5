"""Image-quality metrics for the grid protocol: PSNR, SSIM, ERGAS and the coherence error."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from geochem_bench.core.grid import block_mean
from geochem_bench.errors import InvalidInputError
from geochem_bench.metrics.streaming import PairedMoments

Array = NDArray[np.floating]


def psnr(truth: Array, pred: Array, data_range: float) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / MSE) over paired values.

    Returns inf for a perfect prediction and NaN when ``data_range`` is zero (constant truth).
    """
    return PairedMoments.of(truth, pred).psnr(data_range)


def ssim(
    truth: Array,
    pred: Array,
    mask: NDArray[np.bool_] | None = None,
    *,
    data_range: float,
    sigma: float = 1.5,
    truncate: float = 3.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> float:
    """Mean structural similarity (Wang et al. 2004, IEEE TIP 13:600-612).

    Gaussian-weighted local statistics (sigma 1.5), as ``skimage.metrics.structural_similarity``
    with ``gaussian_weights=True, use_sample_covariance=False``. Cells off ``mask`` are filled
    with the mean of the masked truth in both images, and the SSIM map is averaged over masked
    cells away from the border, so a fully valid field gives exactly skimage's value.
    """
    t = np.asarray(truth, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if t.ndim != 2 or t.shape != p.shape:
        raise InvalidInputError(
            f"SSIM needs two 2-D fields of one shape, got {t.shape} and {p.shape}"
        )
    mask = np.ones(t.shape, dtype=bool) if mask is None else mask & np.isfinite(t) & np.isfinite(p)
    if not mask.any() or data_range <= 0:
        return float("nan")
    fill = t[mask].mean()
    t = np.where(mask, t, fill)
    p = np.where(mask, p, fill)

    def smooth(a: NDArray[np.float64]) -> NDArray[np.float64]:
        return ndimage.gaussian_filter(a, sigma=sigma, truncate=truncate, mode="reflect")

    mu_t, mu_p = smooth(t), smooth(p)
    var_t = smooth(t * t) - mu_t * mu_t
    var_p = smooth(p * p) - mu_p * mu_p
    cov = smooth(t * p) - mu_t * mu_p
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    ssim_map = ((2 * mu_t * mu_p + c1) * (2 * cov + c2)) / (
        (mu_t**2 + mu_p**2 + c1) * (var_t + var_p + c2)
    )
    pad = int(truncate * sigma + 0.5)
    inner = np.zeros_like(mask)
    inner[pad : t.shape[0] - pad, pad : t.shape[1] - pad] = True
    keep = mask & inner
    if not keep.any():
        keep = mask
    return float(ssim_map[keep].mean())


def ergas(rmse_natural: Array, mean_natural: Array, scale: int) -> float:
    """ERGAS, the relative dimensionless global error, in natural units.

    100 (1/s) sqrt(mean_k (RMSE_k / mean_k)^2) (L. Wald, Data Fusion, Presses de l'Ecole des
    Mines, 2002), over the elements k of a task.
    """
    r = np.asarray(rmse_natural, dtype=np.float64)
    m = np.asarray(mean_natural, dtype=np.float64)
    if r.size == 0 or np.any(m == 0):
        return float("nan")
    return float(100.0 / scale * np.sqrt(np.mean((r / m) ** 2)))


def coherence(
    pred_natural: Array, lowres_natural: Array, scale: int, *, level: bool = False
) -> float:
    """Coherence error of a prediction's natural-unit block means against the lowres grid.

    Wald's consistency property, measured where it is physically defined: the lowres grid is
    the arithmetic block mean of the field in natural units (mg/kg averages as mass does), so
    the block mean of a prediction is taken in natural units too. A prediction equal to the
    truth scores 0. Comparing the two grids in log10 instead (v1's ``consistency``) rewards a
    prediction whose *log* block means match the log of the arithmetic means, which is biased
    upwards by about ln(10)/2 times the within-block log-variance.

    How the error is made relative follows how the element's errors are judged:

    - per coarse cell (``level=False``, log10-space elements): the RMS over coarse cells of
      (block mean - lowres) / lowres. Such elements are positive and errors in them are
      ratios; cells whose lowres value is not positive are skipped.
    - against the field's level (``level=True``, linear-space elements): the RMS over coarse
      cells of (block mean - lowres), divided by the mean lowres value. Linear elements reach
      0 and below (airborne K, eU, eTh after background removal; Walker Lake's V), where a
      per-cell ratio explodes: at x4 on ``lapland-radiometrics`` 554 coarse cells of K are
      <= 0 and bicubic's per-cell error was 111 (11 100 %) against 0.076 of the level.

    Args:
        pred_natural: predicted field (H, W) in natural units, NaN off the valid mask.
        lowres_natural: the coarse input (h, w) in natural units; NaN cells are skipped.
        scale: the scale factor.
        level: relative to the mean level instead of to each cell (linear-space elements).
    """
    pairs = coherence_pairs(pred_natural, lowres_natural, scale, level=level)
    return PairedMoments.of(*pairs).relative_rmse


def coherence_pairs(
    pred_natural: Array, lowres_natural: Array, scale: int, *, level: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The coarse cells coherence compares, for the streaming engine.

    Args are those of :func:`coherence`; ``lowres_natural`` must have the shape of the block
    means of ``pred_natural`` (a tile's slice of the lowres grid, in tiled scoring).

    Returns:
        ``(lowres, block mean)`` over the coarse cells where both are finite (``level``), or
        ``(ones, block mean / lowres)`` where both are finite and the lowres value is
        positive. The coherence error is their :attr:`~.streaming.PairedMoments.relative_rmse`:
        the first side is the lowres value or 1, so one formula serves both.
    """
    coarse, _ = block_mean(np.asarray(pred_natural, dtype=np.float64)[None], scale)
    a = coarse[0].astype(np.float64)
    b = np.asarray(lowres_natural, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    if level:
        return b[keep], a[keep]
    keep &= b > 0
    return np.ones(int(keep.sum())), a[keep] / b[keep]
