"""The streaming metrics engine: chunked equals one-shot, references, numerical stability."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn import metrics as skm

from geochem_bench import metrics
from geochem_bench.errors import InvalidInputError
from geochem_bench.metrics.streaming import (
    GRID_METRICS,
    POINT_METRICS,
    ElementMoments,
    PairedMoments,
)

#: Summary fields and metrics, with the power of the data's magnitude and of n that sets their
#: size: a value near zero (a mean error of 0) is compared to that size, not to itself.
SIZES = {
    "mean_t": (1, 0),
    "mean_p": (1, 0),
    "mean_e": (1, 0),
    "m2_t": (2, 1),
    "m2_p": (2, 1),
    "m2_e": (2, 1),
    "c_tp": (2, 1),
    "sse": (2, 1),
    "sae": (1, 1),
    "rmse": (1, 0),
    "mae": (1, 0),
    "bias": (1, 0),
    "var_t": (2, 0),
    "var_p": (2, 0),
    "var_e": (2, 0),
    "cov": (2, 0),
    "r2": (0, 0),
    "pearson_r": (0, 0),
    "lin_ccc": (0, 0),
}


def _chunks(n: int, cuts: list[int]) -> list[slice]:
    edges = sorted({0, n, *(c % (n + 1) for c in cuts)})
    return [slice(a, b) for a, b in itertools.pairwise(edges)]


def _pairs(seed: int, n: int, offset: float, spread: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = offset + spread * rng.normal(size=n)
    p = 0.8 * t + 0.2 * offset + spread * rng.normal(0.1, 0.5, size=n)
    return t, p


def _close(a: float, b: float, size: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12 * size)


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 400),
    cuts=st.lists(st.integers(0, 400), max_size=12),
    offset=st.floats(-10.0, 10.0),
    spread=st.floats(0.01, 100.0),
    shuffle=st.booleans(),
)
def test_chunked_equals_one_shot(seed, n, cuts, offset, spread, shuffle):
    t, p = _pairs(seed, n, offset, spread)
    whole = PairedMoments.of(t, p)
    parts = [PairedMoments.of(t[s], p[s]) for s in _chunks(n, cuts)]
    if shuffle:  # merge order does not matter either
        parts = parts[::-1]
    chunked = PairedMoments.merged(parts)
    assert chunked.n == whole.n
    assert (chunked.t_min, chunked.t_max) == (whole.t_min, whole.t_max)
    magnitude = abs(offset) + spread
    for name, (power, per_pair) in SIZES.items():
        size = magnitude**power * n**per_pair
        assert _close(getattr(chunked, name), getattr(whole, name), size), name
    assert _close(chunked.psnr(), whole.psnr(), 1.0)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, 300), max_size=8))
def test_element_moments_chunked_equal_one_shot(seed, cuts):
    rng = np.random.default_rng(seed)
    t_nat = 10 ** rng.normal(1.5, 0.4, 300)
    p_nat = t_nat * 10 ** rng.normal(0.05, 0.2, 300)
    r_nat = t_nat * 10 ** rng.normal(0.0, 0.25, 300)
    t, p, r = np.log10(t_nat), np.log10(p_nat), np.log10(r_nat)
    lowres, means = rng.normal(2, 0.5, 40), rng.normal(2, 0.5, 40)
    whole = ElementMoments()
    whole.update(t, p, r, t_nat, p_nat)
    whole.update_coherence(np.ones_like(lowres), means / lowres)
    streamed = ElementMoments()
    for s in _chunks(300, cuts):
        part = ElementMoments()
        part.update(t[s], p[s], r[s], t_nat[s], p_nat[s])
        streamed = streamed.merge(part)
    for s in _chunks(40, cuts):
        streamed.update_coherence(np.ones(len(lowres[s])), means[s] / lowres[s])
    got, want = streamed.row(grid=True), whole.row(grid=True)
    assert tuple(got) == GRID_METRICS
    for key in GRID_METRICS:
        assert got[key] == pytest.approx(want[key], rel=1e-12, abs=1e-13), key
    assert tuple(whole.row(grid=False)) == POINT_METRICS


def test_metrics_match_numpy_scipy_sklearn(rng):
    t = rng.normal(2.0, 0.5, 5000)
    p = t + rng.normal(0.1, 0.3, 5000)
    m = PairedMoments.merged(PairedMoments.of(t[s], p[s]) for s in _chunks(5000, [7, 1000, 4321]))
    assert m.rmse == pytest.approx(np.sqrt(skm.mean_squared_error(t, p)), rel=1e-12)
    assert m.mae == pytest.approx(skm.mean_absolute_error(t, p), rel=1e-12)
    assert m.bias == pytest.approx(np.mean(p - t), rel=1e-12)
    assert m.r2 == pytest.approx(skm.r2_score(t, p), rel=1e-12)
    assert m.pearson_r == pytest.approx(stats.pearsonr(t, p)[0], rel=1e-12)
    assert m.var_t == pytest.approx(np.var(t), rel=1e-12)
    assert m.var_p == pytest.approx(np.var(p), rel=1e-12)
    assert m.var_e == pytest.approx(np.var(p - t), rel=1e-12)
    assert m.cov == pytest.approx(np.cov(t, p, bias=True)[0, 1], rel=1e-12)
    ccc = 2 * np.cov(t, p, bias=True)[0, 1] / (np.var(t) + np.var(p) + (t.mean() - p.mean()) ** 2)
    assert m.lin_ccc == pytest.approx(ccc, rel=1e-12)
    rng_t = float(np.ptp(t))
    assert m.psnr() == pytest.approx(10 * np.log10(rng_t**2 / np.mean((p - t) ** 2)), rel=1e-12)
    assert (m.t_min, m.t_max) == (t.min(), t.max())


def test_one_chunk_is_bit_identical_to_the_direct_formulas(rng):
    # What the in-memory scoring computed before the engine, so official records reproduce.
    t = rng.normal(2.0, 0.5, 1001)
    p = t + rng.normal(0.1, 0.3, 1001)
    m = PairedMoments.of(t, p)
    dt, dp = t - t.mean(), p - p.mean()
    assert m.rmse == float(np.sqrt(np.mean((p - t) ** 2)))
    assert m.mae == float(np.mean(np.abs(p - t)))
    assert m.bias == float(np.mean(p - t))
    assert m.r2 == float(1.0 - np.sum((t - p) ** 2) / np.sum(dt**2))
    assert m.pearson_r == float(np.sum(dt * dp) / np.sqrt(np.sum(dt * dt) * np.sum(dp * dp)))
    denom = t.var() + p.var() + (t.mean() - p.mean()) ** 2
    assert m.lin_ccc == float(2.0 * np.mean(dt * dp) / denom)
    assert m.var_t == float(np.var(t))


def test_variance_survives_a_large_offset_where_one_pass_sums_fail(rng):
    x = 1e8 + rng.normal(0.0, 1.0, 200_000)
    truth_var = np.var(x)  # two-pass, float64
    chunks = [PairedMoments.of(x[i : i + 1000], x[i : i + 1000]) for i in range(0, x.size, 1000)]
    streamed = PairedMoments.merged(chunks)
    assert streamed.var_t == pytest.approx(truth_var, rel=1e-6)
    assert PairedMoments.of(x, x).var_t == truth_var
    # the one-pass formula the tiled scoring used: E[x²] - E[x]², summed chunk by chunk
    s, ss = 0.0, 0.0
    for i in range(0, x.size, 1000):
        s += x[i : i + 1000].sum()
        ss += (x[i : i + 1000] ** 2).sum()
    naive = ss / x.size - (s / x.size) ** 2
    assert abs(naive - truth_var) / truth_var > 1e-2
    # correlations stay meaningful too: a prediction with 10% noise on top of the offset
    y = x + rng.normal(0.0, 0.1, x.size)
    parts = [PairedMoments.of(x[i : i + 1000], y[i : i + 1000]) for i in range(0, x.size, 1000)]
    assert PairedMoments.merged(parts).pearson_r == pytest.approx(
        stats.pearsonr(x - 1e8, y - 1e8)[0], rel=1e-6
    )


def test_empty_and_degenerate_inputs():
    empty = PairedMoments.of(np.array([]), np.array([]))
    assert empty == PairedMoments()
    for name in ("rmse", "mae", "bias", "r2", "pearson_r", "lin_ccc", "truth_mean", "var_t"):
        assert math.isnan(getattr(empty, name)), name
    assert math.isnan(empty.psnr())
    one = PairedMoments.of(np.array([2.0]), np.array([2.5]))
    assert one.merge(empty) is one and empty.merge(one) is one
    assert one.rmse == pytest.approx(0.5) and math.isnan(one.r2) and math.isnan(one.lin_ccc)
    flat = PairedMoments.of(np.full(5, 3.0), np.linspace(2, 4, 5))
    assert math.isnan(flat.r2) and math.isnan(flat.pearson_r) and math.isnan(flat.psnr())
    perfect = PairedMoments.of(np.arange(4.0), np.arange(4.0))
    assert perfect.psnr() == math.inf and perfect.lin_ccc == 1.0
    with pytest.raises(InvalidInputError, match="differ in size"):
        PairedMoments.of(np.zeros(3), np.zeros(4))


def test_public_metric_functions_are_the_engine(rng):
    t = rng.normal(size=50)
    p = t + rng.normal(size=50)
    m = PairedMoments.of(t, p)
    assert metrics.rmse(t, p) == m.rmse and metrics.r2(t, p) == m.r2
    assert metrics.lin_ccc(t, p) == m.lin_ccc and metrics.psnr(t, p, 3.0) == m.psnr(3.0)
