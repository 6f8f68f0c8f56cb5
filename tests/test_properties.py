"""Property-based tests (hypothesis) of the metrics, the block aggregation and the bootstrap."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from geochem_bench import metrics
from geochem_bench.board.aggregation import interquartile_mean, score_task
from geochem_bench.core.grid import block_mean
from tests.test_aggregation import make_record

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)
pairs = st.integers(2, 60).flatmap(
    lambda n: st.tuples(
        arrays(np.float64, n, elements=finite), arrays(np.float64, n, elements=finite)
    )
)


@given(pairs)
def test_error_metrics_are_ordered_and_symmetric(pair):
    t, p = pair
    rmse, mae, bias = metrics.rmse(t, p), metrics.mae(t, p), metrics.bias(t, p)
    assert rmse + 1e-9 >= mae >= abs(bias) - 1e-9
    assert metrics.rmse(p, t) == rmse and metrics.mae(p, t) == mae
    assert metrics.rmse(t, t) == 0.0


@given(pairs, finite)
def test_shifting_both_fields_changes_no_error(pair, shift):
    t, p = pair
    assert np.isclose(metrics.rmse(t + shift, p + shift), metrics.rmse(t, p), rtol=1e-6, atol=1e-6)


@given(pairs)
def test_correlations_are_bounded_or_undefined(pair):
    t, p = pair
    for value in (metrics.pearson_r(t, p), metrics.spearman_rho(t, p), metrics.lin_ccc(t, p)):
        assert np.isnan(value) or -1 - 1e-9 <= value <= 1 + 1e-9
    assert np.isnan(metrics.r2(t, p)) or metrics.r2(t, p) <= 1 + 1e-9


@settings(max_examples=60)
@given(
    st.integers(1, 5).flatmap(
        lambda s: st.tuples(
            st.just(s),
            arrays(
                np.float64,
                st.tuples(st.integers(1, 23), st.integers(1, 23)),
                elements=st.one_of(finite, st.just(np.nan)),
            ),
        )
    )
)
def test_block_means_weighted_by_counts_give_the_global_mean(case):
    scale, fine = case
    mean, count = block_mean(fine, scale)
    assert count.sum() == np.isfinite(fine).sum()
    if count.sum():
        pooled = np.nansum(np.where(count > 0, mean, 0.0).astype(np.float64) * count) / count.sum()
        assert np.isclose(pooled, np.nanmean(fine), rtol=1e-4, atol=1e-3)
    assert np.all(np.isnan(mean[count == 0]))


@given(arrays(np.float64, st.integers(1, 40), elements=finite))
def test_iqm_lies_between_the_quartiles_and_ignores_order(values):
    iqm = float(interquartile_mean(values))
    assert values.min() - 1e-9 <= iqm <= values.max() + 1e-9
    assert np.isclose(iqm, float(interquartile_mean(values[::-1])), rtol=1e-9, atol=1e-9)
    assert np.isclose(float(interquartile_mean(np.full_like(values, 3.5))), 3.5)


block_sums = st.integers(1, 12).flatmap(
    lambda k: st.tuples(
        arrays(np.float64, k, elements=st.floats(0.0, 50.0)),
        arrays(np.float64, k, elements=st.floats(0.01, 50.0)),
        arrays(np.int64, k, elements=st.integers(1, 40)),
    )
)


@settings(max_examples=40, deadline=None)
@given(block_sums)
def test_bootstrap_interval_brackets_a_skill_that_never_exceeds_one(blocks):
    sse, ref, n = (
        list(map(float, blocks[0])),
        list(map(float, blocks[1])),
        list(map(int, blocks[2])),
    )
    score = score_task([make_record(0, sse, ref, n)], n_boot=200)
    assert np.all(score.replicates <= 1.0 + 1e-12)
    assert score.skill.low <= score.skill.high
    assert score.rmse["Cu"].low <= score.rmse["Cu"].high
