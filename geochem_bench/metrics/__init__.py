"""Metrics of the benchmark, each a plain function on numpy arrays.

Point-wise metrics take paired 1-D arrays of truth and prediction that are already in the
element's analysis space and finite. Image metrics take 2-D fields and a mask. Undefined
values (a correlation on a constant field, a metric of one point) are NaN, never a guess.

Moment-based metrics (RMSE, MAE, bias, R², Pearson r, Lin's CCC, PSNR, coherence) all come
from one streaming engine, :mod:`geochem_bench.metrics.streaming`, which in-memory and tiled
scoring share.
"""

from geochem_bench.metrics.anomaly import anomaly_metrics, average_precision, f1_at_threshold
from geochem_bench.metrics.image import coherence, coherence_pairs, ergas, psnr, ssim
from geochem_bench.metrics.probabilistic import crps_gaussian, interval_coverage
from geochem_bench.metrics.regression import bias, lin_ccc, mae, pearson_r, r2, rmse, spearman_rho
from geochem_bench.metrics.streaming import ElementMoments, PairedMoments

__all__ = [
    "ElementMoments",
    "PairedMoments",
    "anomaly_metrics",
    "average_precision",
    "bias",
    "coherence",
    "coherence_pairs",
    "crps_gaussian",
    "ergas",
    "f1_at_threshold",
    "interval_coverage",
    "lin_ccc",
    "mae",
    "pearson_r",
    "psnr",
    "r2",
    "rmse",
    "spearman_rho",
    "ssim",
]
