"""Every metric against an independent reference and its edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from sklearn import metrics as skm

from geochem_bench import metrics
from geochem_bench.core.task import Prediction


@pytest.fixture()
def pair(rng):
    t = rng.normal(2.0, 0.5, 500)
    p = t + rng.normal(0.1, 0.3, 500)
    return t, p


def test_regression_metrics_match_references(pair):
    t, p = pair
    assert metrics.rmse(t, p) == pytest.approx(np.sqrt(skm.mean_squared_error(t, p)), rel=1e-12)
    assert metrics.mae(t, p) == pytest.approx(skm.mean_absolute_error(t, p), rel=1e-12)
    assert metrics.bias(t, p) == pytest.approx(np.mean(p) - np.mean(t), rel=1e-12)
    assert metrics.r2(t, p) == pytest.approx(skm.r2_score(t, p), rel=1e-12)
    assert metrics.pearson_r(t, p) == pytest.approx(stats.pearsonr(t, p)[0], rel=1e-12)
    assert metrics.spearman_rho(t, p) == pytest.approx(stats.spearmanr(t, p)[0], rel=1e-12)


def test_lin_ccc_hand_computed():
    t = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([2.0, 3.0, 4.0, 5.0])  # perfectly correlated, biased by +1
    # cov = 1.25, var_t = var_p = 1.25, (mean diff)^2 = 1 -> 2.5 / 3.5
    assert metrics.lin_ccc(t, p) == pytest.approx(2.5 / 3.5)
    assert metrics.lin_ccc(t, t) == pytest.approx(1.0)
    assert metrics.lin_ccc(t, -t) == pytest.approx(-2 * 1.25 / (2 * 1.25 + 25.0))


def test_spearman_handles_ties():
    t = np.array([1.0, 1.0, 2.0, 3.0, 3.0, 4.0])
    p = np.array([0.5, 0.7, 0.7, 2.0, 1.0, 3.0])
    assert metrics.spearman_rho(t, p) == pytest.approx(stats.spearmanr(t, p)[0], rel=1e-12)


def test_constant_truth_gives_undefined_not_perfect():
    t = np.full(10, 3.0)
    p = np.linspace(2.0, 4.0, 10)
    assert np.isnan(metrics.r2(t, p))
    assert np.isnan(metrics.pearson_r(t, p))
    assert np.isnan(metrics.spearman_rho(t, p))
    assert metrics.rmse(t, p) > 0
    assert np.isnan(metrics.psnr(t, p, data_range=0.0))
    out = metrics.anomaly_metrics(t, p)
    assert np.isnan(out["ap_p90"])  # no truth above its own 90th percentile


def test_single_point():
    t, p = np.array([2.0]), np.array([2.5])
    assert metrics.rmse(t, p) == pytest.approx(0.5)
    assert metrics.mae(t, p) == pytest.approx(0.5)
    for fn in (metrics.r2, metrics.pearson_r, metrics.spearman_rho, metrics.lin_ccc):
        assert np.isnan(fn(t, p))


def test_no_pairs():
    empty = np.array([])
    assert np.isnan(metrics.rmse(empty, empty))
    assert np.isnan(metrics.crps_gaussian(empty, empty, empty))


def test_psnr_and_ssim_match_skimage(rng):
    t = rng.normal(size=(64, 80)).cumsum(axis=0).cumsum(axis=1) / 30
    p = t + rng.normal(0, 0.2, t.shape)
    rng_t = float(t.max() - t.min())
    assert metrics.psnr(t.ravel(), p.ravel(), rng_t) == pytest.approx(
        peak_signal_noise_ratio(t, p, data_range=rng_t), rel=1e-10
    )
    expected = structural_similarity(
        t, p, data_range=rng_t, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert metrics.ssim(t, p, data_range=rng_t) == pytest.approx(expected, rel=1e-6)
    assert metrics.ssim(t, t, data_range=rng_t) == pytest.approx(1.0)


def test_ssim_ignores_masked_cells(rng):
    t = rng.normal(size=(40, 40))
    p = t + rng.normal(0, 0.1, t.shape)
    mask = np.ones_like(t, dtype=bool)
    mask[:10] = False
    garbage = p.copy()
    garbage[:10] = 1e6
    t_nan = t.copy()
    t_nan[:10] = np.nan
    a = metrics.ssim(t, p, mask, data_range=4.0)
    b = metrics.ssim(t_nan, garbage, mask, data_range=4.0)
    assert a == pytest.approx(b)


def test_average_precision_matches_sklearn(rng):
    labels = rng.uniform(size=1000) > 0.8
    scores = labels * 0.5 + rng.normal(size=1000)
    scores[:200] = np.round(scores[:200], 1)  # ties
    assert metrics.average_precision(labels, scores) == pytest.approx(
        skm.average_precision_score(labels, scores), rel=1e-12
    )


def test_f1_matches_sklearn(pair):
    t, p = pair
    tau = np.percentile(t, 90)
    assert metrics.f1_at_threshold(t, p, tau) == pytest.approx(skm.f1_score(t > tau, p > tau))
    out = metrics.anomaly_metrics(t, p, (90, 95))
    assert set(out) == {"ap_p90", "f1_p90", "ap_p95", "f1_p95"}
    assert out["f1_p90"] == pytest.approx(skm.f1_score(t > tau, p > tau))


def test_crps_matches_numerical_integral():
    y, mu, sigma = 1.3, 0.4, 0.7

    def integrand(x: float) -> float:
        return (stats.norm.cdf(x, mu, sigma) - (x >= y)) ** 2

    expected = integrate.quad(integrand, -20, y)[0] + integrate.quad(integrand, y, 20)[0]
    assert metrics.crps_gaussian(np.array([y]), np.array([mu]), np.array([sigma])) == pytest.approx(
        expected, rel=1e-6
    )
    # sigma = 0 is the absolute error
    assert metrics.crps_gaussian(np.array([y]), np.array([mu]), np.array([0.0])) == pytest.approx(
        0.9
    )


def test_interval_coverage_is_calibrated_for_true_distribution(rng):
    mu = rng.normal(size=20000)
    sigma = rng.uniform(0.5, 2.0, 20000)
    y = mu + sigma * rng.normal(size=20000)
    assert metrics.interval_coverage(y, mu, sigma, 0.9) == pytest.approx(0.9, abs=0.01)
    assert metrics.interval_coverage(y, mu, sigma / 3, 0.9) < 0.6


def test_ergas_hand_computed():
    # two bands: relative errors 0.1 and 0.2, scale 4 -> 100/4 * sqrt((0.01 + 0.04) / 2)
    assert metrics.ergas(np.array([1.0, 4.0]), np.array([10.0, 20.0]), 4) == pytest.approx(
        25 * np.sqrt(0.025)
    )


def test_coherence_is_the_rms_relative_error_of_natural_block_means():
    lowres = np.array([[1.0, 2.0], [4.0, np.nan]])
    pred = np.kron(np.nan_to_num(lowres, nan=9.0), np.ones((3, 3)))
    assert metrics.coherence(pred, lowres, 3) == pytest.approx(0.0)
    assert metrics.coherence(pred * 1.1, lowres, 3) == pytest.approx(0.1)
    # +1 everywhere: relative errors 1, 1/2, 1/4 over the three cells with data
    assert metrics.coherence(pred + 1, lowres, 3) == pytest.approx(np.sqrt((1 + 0.25 + 0.0625) / 3))


def test_coherence_of_a_linear_element_is_relative_to_the_level_not_to_each_cell():
    """Linear-space elements reach 0 and below (airborne K after background removal): the
    error is the RMS of block mean - lowres over the mean lowres, defined at every cell."""
    lowres = np.array([[-0.2, 0.001], [1.0, 3.2]])  # mean 1.00025
    pred = np.kron(lowres, np.ones((2, 2)))
    assert metrics.coherence(pred, lowres, 2, level=True) == pytest.approx(0.0, abs=1e-6)
    # +0.1 everywhere: an RMS error of 0.1 against a level of 1.0, whatever the cells are
    assert metrics.coherence(pred + 0.1, lowres, 2, level=True) == pytest.approx(0.1, rel=1e-3)
    # per cell, the 0.001 cell alone makes it ~50 and the -0.2 cell is dropped
    assert metrics.coherence(pred + 0.1, lowres, 2) > 50
    # a non-positive level leaves it undefined rather than negative or infinite
    assert np.isnan(metrics.coherence(pred - 5, lowres - 5, 2, level=True))


def test_scoring_picks_the_coherence_of_each_elements_space(fake_data):
    """Grid scoring compares linear elements against the level, log10 ones cell by cell."""
    from geochem_bench.evaluation.reference import reference_prediction
    from geochem_bench.evaluation.scoring import score_fold
    from geochem_bench.scenes.registry import get_task
    from geochem_bench.tasks.protocols import build_fold

    scene = fake_data.build("sir-samuel-radiometrics")
    task = get_task("sir-samuel-radiometrics/all/s8/grid")
    inputs, held_out = build_fold(scene, task, 0)
    reference = reference_prediction(inputs)
    table = score_fold(inputs, held_out, Prediction(mean=reference), reference)
    for e, element in enumerate(inputs.elements):
        assert element.analysis_space == "linear"
        field = np.where(inputs.valid, reference[e], np.nan)
        expected = metrics.coherence(field, inputs.lowres[e], task.scale, level=True)
        assert table[element.symbol]["coherence"] == pytest.approx(expected)
        assert expected != pytest.approx(metrics.coherence(field, inputs.lowres[e], task.scale))


def test_coherence_takes_block_means_in_natural_units():
    # a block whose cells are 1 and 100 has the arithmetic mean 50.5, the geometric mean 10
    pred = np.array([[1.0, 100.0]])
    assert metrics.coherence(pred, np.array([[50.5]]), 2) == pytest.approx(0.0)
    assert metrics.coherence(pred, np.array([[10.0]]), 2) == pytest.approx(4.05)
