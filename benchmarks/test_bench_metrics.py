"""Metrics on a 4096 x 4096 prediction, and each costly metric beside its reference library.

Run: pytest benchmarks/test_bench_metrics.py --benchmark-enable --benchmark-group-by=group
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from skimage.metrics import structural_similarity
from sklearn.metrics import average_precision_score

from geochem_bench import metrics
from geochem_bench.core.task import TaskSpec
from geochem_bench.evaluation.scoring import score_fold, validate_prediction
from geochem_bench.models.upsampling import upsample_lowres
from geochem_bench.tasks.protocols import build_fold


@pytest.fixture(scope="module")
def fold(scene_4096):
    task = TaskSpec("synthetic", ("Cu",), 8, "grid")
    inputs, held_out = build_fold(scene_4096, task, 0)
    pred = upsample_lowres(inputs, "bilinear")
    ref = upsample_lowres(inputs, "bicubic")
    return inputs, held_out, validate_prediction(pred, inputs), ref


@pytest.fixture(scope="module")
def fields(fold):
    _, held_out, pred, _ = fold
    t = np.log10(np.nan_to_num(held_out.truth[0], nan=1.0).astype(np.float64))
    p = np.log10(np.nan_to_num(pred.mean[0], nan=1.0).astype(np.float64))
    return t, p


@pytest.mark.benchmark(group="score_fold 4096x4096, 1 element")
def test_score_fold(benchmark, fold):
    inputs, held_out, pred, ref = fold
    table = benchmark.pedantic(
        score_fold, args=(inputs, held_out, pred, ref), rounds=3, iterations=1
    )
    assert table["Cu"]["n"] > 16_000_000


@pytest.mark.benchmark(group="ssim 4096x4096")
def test_ssim_ours(benchmark, fields):
    t, p = fields
    benchmark.pedantic(metrics.ssim, args=(t, p), kwargs={"data_range": float(np.ptp(t))}, rounds=3)


@pytest.mark.benchmark(group="ssim 4096x4096")
def test_ssim_skimage(benchmark, fields):
    t, p = fields
    benchmark.pedantic(
        structural_similarity,
        args=(t, p),
        kwargs={
            "data_range": float(np.ptp(t)),
            "gaussian_weights": True,
            "sigma": 1.5,
            "use_sample_covariance": False,
        },
        rounds=3,
    )


@pytest.mark.benchmark(group="average precision 16.7M cells")
def test_ap_ours(benchmark, fields):
    t, p = fields
    labels = t.ravel() > np.percentile(t, 95)
    benchmark.pedantic(metrics.average_precision, args=(labels, p.ravel()), rounds=3)


@pytest.mark.benchmark(group="average precision 16.7M cells")
def test_ap_sklearn(benchmark, fields):
    t, p = fields
    labels = t.ravel() > np.percentile(t, 95)
    benchmark.pedantic(average_precision_score, args=(labels, p.ravel()), rounds=3)


@pytest.mark.benchmark(group="spearman 16.7M cells")
def test_spearman_ours(benchmark, fields):
    t, p = fields
    benchmark.pedantic(metrics.spearman_rho, args=(t.ravel(), p.ravel()), rounds=3)


@pytest.mark.benchmark(group="spearman 16.7M cells")
def test_spearman_scipy(benchmark, fields):
    t, p = fields
    benchmark.pedantic(stats.spearmanr, args=(t.ravel(), p.ravel()), rounds=3)
