"""Area-to-point kriging: exact coherence, agreement with a dense solve, variogram recovery."""

from __future__ import annotations

import numpy as np
import pytest

from geochem_bench.core.grid import block_mean
from geochem_bench.data.random_fields import gaussian_random_field
from geochem_bench.models.area_to_point import (
    PointCovariance,
    area_to_point,
    block_block_covariance,
    block_variogram,
    deconvolve,
)

RES = (1.0, 1.0)


def _dense_atpk(values, valid, scale, res, model, drift=None):
    """Global ATPK written the slow, obvious way: every pair of fine cells.

    With ``drift`` (p, H, W): the universal system, the block drift the mean over the
    block's valid cells.
    """
    h, w = values.shape
    supports, data = [], []
    for i in range(h):
        for j in range(w):
            r, c = np.nonzero(valid[i * scale : (i + 1) * scale, j * scale : (j + 1) * scale])
            if r.size and np.isfinite(values[i, j]):
                supports.append(np.column_stack([r + i * scale, c + j * scale]))
                data.append(values[i, j])
    if drift is not None:
        return _dense_universal(supports, np.array(data), valid, res, model, drift)

    def cov(a, b):
        d = np.hypot(
            (a[:, None, 0] - b[None, :, 0]) * res[1], (a[:, None, 1] - b[None, :, 1]) * res[0]
        )
        return model(d)

    n = len(supports)
    system = np.ones((n + 1, n + 1))
    system[n, n] = 0
    for a in range(n):
        for b in range(n):
            system[a, b] = cov(supports[a], supports[b]).mean()
    cells = np.argwhere(valid)
    rhs = np.ones((n + 1, len(cells)))
    for b in range(n):
        rhs[b] = cov(cells, supports[b]).mean(axis=1)
    sol = np.linalg.solve(system, rhs)
    out = np.full(valid.shape, np.nan)
    out[cells[:, 0], cells[:, 1]] = sol[:n].T @ np.array(data)
    return out


def _dense_universal(supports, data, valid, res, model, drift):
    def cov(a, b):
        d = np.hypot(
            (a[:, None, 0] - b[None, :, 0]) * res[1], (a[:, None, 1] - b[None, :, 1]) * res[0]
        )
        return model(d)

    n, q = len(supports), 1 + len(drift)
    f = np.ones((n, q))
    for a, cells in enumerate(supports):
        f[a, 1:] = drift[:, cells[:, 0], cells[:, 1]].mean(axis=1)
    system = np.zeros((n + q, n + q))
    for a in range(n):
        for b in range(n):
            system[a, b] = cov(supports[a], supports[b]).mean()
    system[:n, n:] = f
    system[n:, :n] = f.T
    cells = np.argwhere(valid)
    rhs = np.ones((n + q, len(cells)))
    for b in range(n):
        rhs[b] = cov(cells, supports[b]).mean(axis=1)
    rhs[n + 1 :] = drift[:, cells[:, 0], cells[:, 1]]
    sol = np.linalg.solve(system, rhs)
    out = np.full(valid.shape, np.nan)
    out[cells[:, 0], cells[:, 1]] = sol[:n].T @ data
    return out


def _blocks(rng, shape, scale, valid):
    field = np.where(valid, rng.normal(size=valid.shape).cumsum(0).cumsum(1) * 0.05, np.nan)
    return block_mean(field, scale)[0].astype(np.float64)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_block_means_of_the_map_equal_the_data(scale):
    """Kyriakidis's coherence, also next to the mask edge, the grid edge and empty blocks."""
    rng = np.random.default_rng(scale)
    valid = np.ones((11 * scale - 1, 9 * scale - 2), dtype=bool)  # partial blocks at the edge
    valid[: 2 * scale + 1, : 3 * scale - 1] = False  # an empty corner and partial blocks
    valid[5 * scale + 1, 4 * scale + 2] = False
    values = _blocks(rng, valid.shape, scale, valid)
    model = PointCovariance(nugget=0.01, sill=1.0, range=6.0 * scale)
    result = area_to_point(values, valid, scale, RES, model, radius=2)
    assert np.isfinite(result.mean[valid]).all() and np.isnan(result.mean[~valid]).all()
    means = block_mean(np.where(valid, result.mean, np.nan), scale)[0]
    finite = np.isfinite(values)
    # block means equal the data to 1e-6 in analysis space (float64; the harness casts to float32)
    np.testing.assert_allclose(means[finite], values[finite], rtol=0, atol=1e-6)
    assert (result.variance[valid] >= 0).all()


def test_matches_a_dense_global_solve_on_a_small_grid():
    """With a neighbourhood that covers every block, ATPK is the textbook global system."""
    rng = np.random.default_rng(7)
    scale = 3
    valid = np.ones((5 * scale - 1, 4 * scale), dtype=bool)
    valid[0, :2] = False
    values = _blocks(rng, valid.shape, scale, valid)
    values[2, 3] = np.nan  # a block without data
    model = PointCovariance(nugget=0.05, sill=2.0, range=7.0)
    res = (1.0, 1.5)  # non-square cells: distances in map units
    fast = area_to_point(values, valid, scale, res, model, radius=5)
    slow = _dense_atpk(values, valid, scale, res, model)
    has = np.isfinite(slow)
    np.testing.assert_allclose(fast.mean[has], slow[has], rtol=1e-9, atol=1e-9)


def test_regular_blocks_share_weights_with_the_exact_path():
    """The lattice shortcut (one solve per neighbourhood pattern) equals per-block supports."""
    rng = np.random.default_rng(3)
    scale = 4
    valid = np.ones((8 * scale, 8 * scale), dtype=bool)
    values = _blocks(rng, valid.shape, scale, valid)
    model = PointCovariance(nugget=0.0, sill=1.0, range=20.0)
    regular = area_to_point(values, valid, scale, RES, model, radius=1)
    valid_edge = valid.copy()
    valid_edge[-1, -1] = False  # one partial block sends its neighbours down the exact path
    edged = area_to_point(values, valid_edge, scale, RES, model, radius=1)
    # blocks far from the partial one are predicted by the shortcut in both runs
    np.testing.assert_allclose(edged.mean[: 5 * scale], regular.mean[: 5 * scale], atol=1e-12)
    # the exact path on a full block reproduces the shortcut: compare a block next to it
    block = (slice(6 * scale, 7 * scale), slice(5 * scale, 6 * scale))
    np.testing.assert_allclose(edged.mean[block], regular.mean[block], atol=1e-9)


def test_block_covariance_is_the_mean_over_cell_pairs():
    model = PointCovariance(nugget=0.3, sill=1.0, range=5.0)
    scale = 3
    cells = np.argwhere(np.ones((scale, scale)))
    for lag in [(0, 0), (1, 0), (2, -1)]:
        other = cells + np.array(lag) * scale
        d = np.hypot(*(cells[:, None, :] - other[None, :, :]).transpose(2, 0, 1))
        expected = model(d).mean()
        got = block_block_covariance(model, scale, RES, np.array([lag]))[0]
        assert got == pytest.approx(expected, rel=1e-12)


def test_block_variogram_counts_every_pair_once():
    z = np.arange(12, dtype=float).reshape(3, 4)
    vg = block_variogram(z, 2, RES, max_lag=1)
    by_lag = {tuple(lag): (g, n) for lag, g, n in zip(vg.lags, vg.gamma, vg.pairs)}
    assert by_lag[(0, 1)] == (0.5, 9)  # along rows: differences of 1
    assert by_lag[(1, 0)] == (8.0, 8)  # down columns: differences of 4
    assert by_lag[(1, -1)] == (4.5, 6)  # differences of 3
    assert (0, -1) not in by_lag and (0, 0) not in by_lag


def test_deconvolution_recovers_the_point_variogram():
    """Block means of fields with a known exponential point covariance: the fitted point model
    recovers its sill and range within 10 % (mean of four fields, which share the model)."""
    scale, practical_range = 8, 48.0
    fits = []
    for seed in range(4):
        field = gaussian_random_field((512, 512), 1.0, practical_range, np.random.default_rng(seed))
        blocks = block_mean(field, scale)[0].astype(np.float64)
        fits.append(deconvolve(blocks, scale, RES))
    sill = np.mean([f.sill + f.nugget for f in fits])
    rng = np.mean([f.range for f in fits])
    assert sill == pytest.approx(1.0, rel=0.10)
    assert rng == pytest.approx(practical_range, rel=0.10)
    # and the block data alone would mislead: their variance is far below the point sill
    assert np.var(blocks) < 0.8


def test_deconvolve_refuses_data_without_spread():
    from geochem_bench.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="at least 3 blocks"):
        deconvolve(np.full((4, 4), 2.0), 4, RES)


@pytest.mark.parametrize("name", ["atpk", "atprk"])
def test_the_baselines_run_through_the_harness_and_refuse_point_tasks(tmp_path, name):
    from pathlib import Path

    from geochem_bench.core.task import TaskSpec
    from geochem_bench.evaluation.executors import evaluate
    from geochem_bench.evaluation.harness import RunOptions
    from geochem_bench.evaluation.submission import load_submission

    root = Path(__file__).resolve().parents[1]
    tasks = [
        TaskSpec("synthetic", ("Cu", "Fe"), 16, "grid"),
        TaskSpec("synthetic", ("Cu",), 16, "points", n_spatial_folds=2),
    ]
    submission = load_submission(root / "baselines" / name)
    grid, *points = evaluate(submission, tasks, RunOptions(tmp_path, progress=False))
    assert grid.status == "ok", grid.failure
    for symbol in ("Cu", "Fe"):
        row = grid.metrics[symbol]
        assert row["coherence"] < 0.01  # block means kept (natural units after back-projection)
        assert 0 < row["coverage_90"] <= 1 and row["crps"] > 0
    assert grid.metrics["overall"]["skill"] > 0
    assert [r.status for r in points] == ["failed", "failed"]
    assert "grid protocol" in str(points[0].failure)


def _one_system_weights(k, rhs):
    """ATPK's solve before the kriging engine: one ``np.linalg.solve`` of the bordered system."""
    n = k.shape[0]
    system = np.ones((n + 1, n + 1))
    system[:n, :n] = k
    system[n, n] = 0.0
    right = np.ones((n + 1, rhs.shape[0]))
    right[:n] = rhs.T
    solution = np.linalg.solve(system, right)
    return solution[:n].T, solution[n]


def test_the_engine_solver_leaves_atpk_unchanged(monkeypatch):
    """Routing ATPK through the engine's batched solver keeps its maps (official records)."""
    import geochem_bench.models.area_to_point as atpk

    rng = np.random.default_rng(11)
    scale = 4
    valid = np.ones((9 * scale - 2, 7 * scale), dtype=bool)
    valid[:3, :5] = False  # partial blocks: the exact path as well as the lattice shortcut
    values = _blocks(rng, valid.shape, scale, valid)
    values[4, 2] = np.nan
    model = PointCovariance(nugget=0.02, sill=1.5, range=12.0)
    engine = area_to_point(values, valid, scale, (1.0, 1.5), model, radius=2)
    monkeypatch.setattr(atpk, "_ordinary_weights", _one_system_weights)
    before = area_to_point(values, valid, scale, (1.0, 1.5), model, radius=2)
    np.testing.assert_allclose(engine.mean, before.mean, rtol=0, atol=1e-10, equal_nan=True)
    np.testing.assert_allclose(engine.variance, before.variance, rtol=0, atol=1e-10, equal_nan=True)


def _drift_fields(rng, shape, p=2):
    """Smooth random drift fields (p, H, W)."""
    from scipy import ndimage

    return np.stack([ndimage.gaussian_filter(rng.normal(size=shape), 2.0) for _ in range(p)])


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_external_drift_keeps_the_block_means(scale):
    """With a drift re-estimated per neighbourhood the map still averages to the data."""
    rng = np.random.default_rng(10 + scale)
    valid = np.ones((11 * scale - 1, 9 * scale - 2), dtype=bool)
    valid[: 2 * scale + 1, : 3 * scale - 1] = False
    values = _blocks(rng, valid.shape, scale, valid)
    drift = _drift_fields(rng, valid.shape)
    model = PointCovariance(nugget=0.01, sill=1.0, range=6.0 * scale)
    result = area_to_point(values, valid, scale, RES, model, radius=2, drift=drift)
    assert np.isfinite(result.mean[valid]).all() and np.isnan(result.mean[~valid]).all()
    means = block_mean(np.where(valid, result.mean, np.nan), scale)[0]
    finite = np.isfinite(values)
    np.testing.assert_allclose(means[finite], values[finite], rtol=0, atol=1e-6)
    assert (result.variance[valid] >= 0).all()


def test_external_drift_matches_a_dense_universal_solve():
    """With a neighbourhood that covers every block, it is the textbook universal system."""
    rng = np.random.default_rng(8)
    scale = 3
    valid = np.ones((5 * scale - 1, 4 * scale), dtype=bool)
    valid[0, :2] = False
    values = _blocks(rng, valid.shape, scale, valid)
    values[2, 3] = np.nan
    drift = _drift_fields(rng, valid.shape)
    model = PointCovariance(nugget=0.05, sill=2.0, range=7.0)
    res = (1.0, 1.5)
    fast = area_to_point(values, valid, scale, res, model, radius=5, drift=drift)
    slow = _dense_atpk(values, valid, scale, res, model, drift=drift)
    has = np.isfinite(slow)
    np.testing.assert_allclose(fast.mean[has], slow[has], rtol=1e-8, atol=1e-8)
    ordinary = area_to_point(values, valid, scale, res, model, radius=5)
    assert np.abs(fast.mean[has] - ordinary.mean[has]).max() > 1e-3  # the drift mattered


def test_a_drift_the_data_cannot_estimate_falls_back_to_ordinary_atpk():
    """A constant drift is collinear with the unknown mean: ordinary ATPK, not a crash."""
    rng = np.random.default_rng(4)
    scale = 3
    valid = np.ones((6 * scale, 6 * scale), dtype=bool)
    values = _blocks(rng, valid.shape, scale, valid)
    model = PointCovariance(nugget=0.0, sill=1.0, range=9.0)
    flat = area_to_point(
        values, valid, scale, RES, model, radius=2, drift=np.ones((1, *valid.shape))
    )
    ordinary = area_to_point(values, valid, scale, RES, model, radius=2)
    np.testing.assert_allclose(flat.mean, ordinary.mean, atol=1e-9)


def test_external_drift_recovers_the_detail_its_drift_carries():
    """A field that follows a fine covariate: the drift restores sub-block detail ATPK cannot."""
    rng = np.random.default_rng(5)
    scale = 4
    valid = np.ones((16 * scale, 16 * scale), dtype=bool)
    covariate = rng.normal(size=valid.shape)
    truth = 2.0 * covariate + 0.1 * _blocks(rng, valid.shape, 1, valid)
    values = block_mean(truth, scale)[0].astype(np.float64)
    model = deconvolve(values, scale, RES)
    ked = area_to_point(values, valid, scale, RES, model, radius=2, drift=covariate[None])
    atpk = area_to_point(values, valid, scale, RES, model, radius=2)
    ked_rmse = np.sqrt(np.mean((ked.mean - truth) ** 2))
    atpk_rmse = np.sqrt(np.mean((atpk.mean - truth) ** 2))
    assert ked_rmse < 0.2 * atpk_rmse


def test_kriging_external_drift_runs_on_grid_and_point_tasks(tmp_path):
    """The baseline kriges block data at block support on grid tasks, samples elsewhere."""
    from pathlib import Path

    from geochem_bench.core.task import TaskSpec
    from geochem_bench.evaluation.executors import evaluate
    from geochem_bench.evaluation.harness import RunOptions
    from geochem_bench.evaluation.submission import load_submission

    root = Path(__file__).resolve().parents[1]
    tasks = [
        TaskSpec("synthetic", ("Cu", "Fe"), 16, "grid"),
        TaskSpec("synthetic", ("Cu",), 16, "points", n_spatial_folds=2),
    ]
    submission = load_submission(root / "baselines" / "kriging-external-drift")
    grid, *points = evaluate(submission, tasks, RunOptions(tmp_path, progress=False))
    assert grid.status == "ok", grid.failure
    for symbol in ("Cu", "Fe"):
        assert grid.metrics[symbol]["coherence"] < 0.01
        assert 0 < grid.metrics[symbol]["coverage_90"] <= 1
    assert grid.metrics["overall"]["skill"] > 0
    assert [r.status for r in points] == ["ok", "ok"]


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("nan", "finite on the valid cells"),
        ("inf", "finite on the valid cells"),
        ("flat", r"\(p, 12, 12\)"),
        ("shape", r"\(p, 12, 12\)"),
    ],
)
def test_a_drift_that_cannot_be_used_is_refused_clearly(bad, match):
    """A non-finite drift on a valid cell, or fields of the wrong shape, are named, not kriged.

    (Before: NaN raised LinAlgError 'SVD did not converge', inf was silently dropped in the
    blocks it touched, and a (H, W) drift was read as H copies of one field, collinear, so
    the whole map silently fell back to ordinary ATPK.)
    """
    from geochem_bench.errors import InvalidInputError

    rng = np.random.default_rng(2)
    scale = 3
    valid = np.ones((4 * scale, 4 * scale), dtype=bool)
    values = _blocks(rng, valid.shape, scale, valid)
    drift = _drift_fields(rng, valid.shape)
    if bad == "nan":
        drift[0, 4, 5] = np.nan
    elif bad == "inf":
        drift[1, 0, 0] = np.inf
    elif bad == "flat":
        drift = drift[0]
    else:
        drift = drift[:, :-1]
    model = PointCovariance(nugget=0.0, sill=1.0, range=9.0)
    with pytest.raises(InvalidInputError, match=match):
        area_to_point(values, valid, scale, RES, model, radius=2, drift=drift)


def test_a_drift_off_the_valid_cells_may_be_missing():
    """Drift values on cells that do not count are never read: NaN there changes nothing."""
    rng = np.random.default_rng(6)
    scale = 3
    valid = np.ones((5 * scale, 5 * scale), dtype=bool)
    valid[4:7, 4:7] = False
    values = _blocks(rng, valid.shape, scale, valid)
    drift = _drift_fields(rng, valid.shape)
    holed = np.where(valid, drift, np.nan)
    model = PointCovariance(nugget=0.0, sill=1.0, range=9.0)
    a = area_to_point(values, valid, scale, RES, model, radius=2, drift=drift)
    b = area_to_point(values, valid, scale, RES, model, radius=2, drift=holed)
    np.testing.assert_array_equal(a.mean, b.mean)


@pytest.mark.parametrize(("factor", "offset"), [(1e9, 0.0), (1e-9, 0.0), (1.0, 1e9), (1e3, -5e8)])
def test_external_drift_does_not_depend_on_the_drift_units(factor, offset):
    """The drift spans the same space in any units or origin (with the unknown constant), so
    the map must not change: an offset of 1e9 made every neighbourhood look rank-deficient
    and silently dropped the drift."""
    rng = np.random.default_rng(9)
    scale = 3
    valid = np.ones((6 * scale, 5 * scale), dtype=bool)
    valid[:2, :4] = False
    values = _blocks(rng, valid.shape, scale, valid)
    drift = _drift_fields(rng, valid.shape)
    model = PointCovariance(nugget=0.01, sill=1.0, range=9.0)
    reference = area_to_point(values, valid, scale, RES, model, radius=2, drift=drift)
    moved = area_to_point(values, valid, scale, RES, model, radius=2, drift=drift * factor + offset)
    has = np.isfinite(reference.mean)
    np.testing.assert_allclose(moved.mean[has], reference.mean[has], rtol=0, atol=1e-6)
    np.testing.assert_allclose(moved.variance[has], reference.variance[has], rtol=0, atol=1e-6)
