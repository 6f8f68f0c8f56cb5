"""The kriging engine against PyKrige (ordinary, universal, automatic fit) and dense solves."""

from __future__ import annotations

import numpy as np
import pytest
from pykrige.ok import OrdinaryKriging
from pykrige.uk import UniversalKriging

from geochem_bench.errors import InvalidInputError
from geochem_bench.kriging.neighbours import neighbour_sets
from geochem_bench.kriging.point import PointKriging, collocated_cokriging, krige
from geochem_bench.kriging.systems import solve_shared
from geochem_bench.kriging.variogram import Variogram, auto_variogram

MODELS = ["spherical", "exponential", "gaussian", "linear"]


@pytest.fixture()
def field(rng):
    """300 noisy data of a smooth field on 100 x 100 and 400 targets, some on the data."""
    x, y = rng.uniform(0, 100, 300), rng.uniform(0, 100, 300)
    z = np.sin(x / 10) + np.cos(y / 12) + rng.normal(0, 0.3, 300)
    qx = np.concatenate([rng.uniform(0, 100, 380), x[:20]])
    qy = np.concatenate([rng.uniform(0, 100, 380), y[:20]])
    return x, y, z, qx, qy


def pykrige_ok(x, y, z, model):
    return OrdinaryKriging(
        x, y, z, variogram_model=model, nlags=20, weight=True, exact_values=False
    )


@pytest.mark.parametrize("model", MODELS)
def test_automatic_fit_equals_pykrige(field, model):
    x, y, z, _, _ = field
    expected = pykrige_ok(x, y, z, model).variogram_model_parameters
    fitted = auto_variogram(x, y, z, model, nlags=20)
    # the nugget may sit at its bound 0, where both fits stop at ~1e-20 of different noise
    np.testing.assert_allclose(fitted.parameters, expected, rtol=1e-6, atol=1e-9 * z.var())


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("neighbours", [None, 16])
def test_ordinary_kriging_equals_pykrige(field, model, neighbours):
    x, y, z, qx, qy = field
    ok = pykrige_ok(x, y, z, model)
    if neighbours is None:
        expected, expected_var = ok.execute("points", qx, qy)
    else:
        expected, expected_var = ok.execute(
            "points", qx, qy, backend="C", n_closest_points=neighbours
        )
    data = PointKriging(x, y, z, Variogram(model, tuple(ok.variogram_model_parameters)))
    est, var = krige(data, qx, qy, neighbours)
    np.testing.assert_allclose(est, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(var, np.maximum(expected_var, 0), rtol=0, atol=1e-6)


def test_external_drift_equals_pykrige_universal_kriging(field):
    x, y, z, qx, qy = field
    drift = np.column_stack([np.sin(x / 10), y / 50])
    target_drift = np.column_stack([np.sin(qx / 10), qy / 50])
    uk = UniversalKriging(
        x,
        y,
        z,
        variogram_model="spherical",
        nlags=20,
        weight=True,
        drift_terms=["specified"],
        specified_drift=list(drift.T),
        exact_values=False,
    )
    expected, expected_var = uk.execute(
        "points", qx, qy, specified_drift_arrays=list(target_drift.T)
    )
    data = PointKriging(
        x, y, z, Variogram("spherical", tuple(uk.variogram_model_parameters)), drift
    )
    est, var = krige(data, qx, qy, target_drift=target_drift)
    np.testing.assert_allclose(est, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(var, np.maximum(expected_var, 0), rtol=0, atol=1e-6)


def nearest(x, y, px, py, k):
    return np.argsort(np.hypot(x - px, y - py), kind="stable")[:k]


def dense_covariance(vg, x, y, idx):
    d = np.hypot(x[idx, None] - x[None, idx], y[idx, None] - y[None, idx])
    return np.where(d > 0, vg.sill - vg.gamma(d), vg.sill)


@pytest.mark.parametrize("neighbours", [None, 12])
def test_simple_kriging_equals_a_dense_solve(field, neighbours):
    x, y, z, qx, qy = field
    vg = Variogram("exponential", (0.8, 30.0, 0.05))
    mean = 0.3
    est, var = krige(PointKriging(x, y, z, vg), qx, qy, neighbours, mean=mean)
    for t in range(0, len(qx), 37):
        idx = nearest(x, y, qx[t], qy[t], neighbours or len(x))
        c = vg.sill - vg.gamma(np.hypot(x[idx] - qx[t], y[idx] - qy[t]))
        w = np.linalg.solve(dense_covariance(vg, x, y, idx), c)
        assert est[t] == pytest.approx(mean + w @ (z[idx] - mean), abs=1e-9)
        assert var[t] == pytest.approx(vg.sill - w @ c, abs=1e-9)


def test_simple_kriging_refuses_a_variogram_without_sill(field):
    x, y, z, qx, qy = field
    with pytest.raises(InvalidInputError, match="sill"):
        krige(PointKriging(x, y, z, Variogram("linear", (0.01, 0.1))), qx, qy, mean=0.0)


@pytest.mark.parametrize("neighbours", [None, 12])
def test_collocated_cokriging_equals_a_dense_solve(field, rng, neighbours):
    x, y, z, qx, qy = field
    secondary = 2 * z + rng.normal(0, 0.5, len(z))
    target_secondary = 2 * (np.sin(qx / 10) + np.cos(qy / 12))
    vg = Variogram("spherical", (0.9, 35.0, 0.1))
    est, var = collocated_cokriging(
        PointKriging(x, y, z, vg), secondary, qx, qy, target_secondary, neighbours
    )
    rho = np.corrcoef(z, secondary)[0, 1]
    cross = rho * secondary.std() / np.sqrt(vg.sill)
    for t in range(0, len(qx), 37):
        idx = nearest(x, y, qx[t], qy[t], neighbours or len(x))
        c = vg.sill - vg.gamma(np.hypot(x[idx] - qx[t], y[idx] - qy[t]))
        k = len(idx)
        a = np.zeros((k + 1, k + 1))
        a[:k, :k] = dense_covariance(vg, x, y, idx)
        a[:k, k] = a[k, :k] = cross * c
        a[k, k] = secondary.var()
        b = np.r_[c, cross * vg.sill]
        w = np.linalg.solve(a, b)
        expected = z.mean() + w[:k] @ (z[idx] - z.mean())
        expected += w[k] * (target_secondary[t] - secondary.mean())
        assert est[t] == pytest.approx(expected, abs=1e-9)
        assert var[t] == pytest.approx(vg.sill - w @ b, abs=1e-9)
    # a secondary variable that carries the signal lowers the variance below simple kriging
    _, simple_var = krige(PointKriging(x, y, z, vg), qx, qy, neighbours, mean=z.mean())
    assert np.mean(var) < 0.9 * np.mean(simple_var)


@pytest.mark.parametrize("spacing", [0.5, 7.0])  # tile search (dense), per-target query
def test_neighbour_sets_group_exactly_the_targets_with_the_same_nearest_data(rng, spacing):
    xy = rng.uniform(0, 100, (200, 2))
    g = np.arange(spacing / 2, 100, spacing)
    targets = np.column_stack([a.ravel() for a in np.meshgrid(g, g)])
    targets += rng.uniform(-0.01, 0.01, targets.shape)  # no exact ties at the k-th datum
    sets = neighbour_sets(xy, targets, 8)
    assert len(sets.members) < len(targets)  # adjacent cells share sets: the point of it
    d = np.hypot(targets[:, None, 0] - xy[None, :, 0], targets[:, None, 1] - xy[None, :, 1])
    expected = np.sort(np.argsort(d, axis=1, kind="stable")[:, :8], axis=1)
    np.testing.assert_array_equal(np.sort(sets.members[sets.system], axis=1), expected)


def test_moving_window_on_a_dense_grid_equals_pykrige(field):
    """Dense targets take the tiled neighbour search: still PyKrige's estimates."""
    x, y, z, _, _ = field
    g = np.arange(0.25, 100, 0.5)
    qx, qy = (a.ravel() for a in np.meshgrid(g, g))
    ok = pykrige_ok(x, y, z, "spherical")
    expected, expected_var = ok.execute("points", qx, qy, backend="C", n_closest_points=16)
    data = PointKriging(x, y, z, Variogram("spherical", tuple(ok.variogram_model_parameters)))
    est, var = krige(data, qx, qy, 16)
    np.testing.assert_allclose(est, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(var, np.maximum(expected_var, 0), rtol=0, atol=1e-6)


def test_shared_systems_solve_like_one_solve_per_target(rng):
    lhs = rng.normal(size=(5, 6, 6)) + 6 * np.eye(6)
    system = np.sort(rng.integers(0, 5, 40))
    system[:3] = 0  # one system with several targets
    rhs = rng.normal(size=(40, 6))
    expected = np.stack([np.linalg.solve(lhs[s], r) for s, r in zip(system, rhs)])
    np.testing.assert_allclose(solve_shared(lhs, rhs, system), expected, rtol=1e-12)


def test_a_singular_system_does_not_fail_its_batch(rng):
    lhs = np.stack([np.eye(3) * 2, np.ones((3, 3))])  # the second is singular
    rhs = np.array([[2.0, 4.0, 6.0], [3.0, 3.0, 3.0]])
    solution = solve_shared(lhs, rhs, np.array([0, 1]))
    np.testing.assert_allclose(solution[0], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(lhs[1] @ solution[1], rhs[1])  # consistent: solved exactly


def test_local_external_drift_equals_a_dense_solve(field):
    x, y, z, qx, qy = field
    drift = np.column_stack([np.sin(x / 10), y / 50])
    target_drift = np.column_stack([np.sin(qx / 10), qy / 50])
    vg = Variogram("spherical", (0.9, 35.0, 0.1))
    est, var = krige(PointKriging(x, y, z, vg, drift), qx, qy, 24, target_drift=target_drift)
    for t in range(0, len(qx), 37):
        idx = nearest(x, y, qx[t], qy[t], 24)
        f = np.column_stack([np.ones(24), drift[idx]])
        a = np.zeros((27, 27))
        a[:24, :24] = dense_covariance(vg, x, y, idx)
        a[:24, 24:] = f
        a[24:, :24] = f.T
        b = np.r_[
            vg.sill - vg.gamma(np.hypot(x[idx] - qx[t], y[idx] - qy[t])), 1.0, target_drift[t]
        ]
        w = np.linalg.solve(a, b)
        assert est[t] == pytest.approx(w[:24] @ z[idx], abs=1e-9)
        assert var[t] == pytest.approx(vg.sill - w @ b, abs=1e-9)


@pytest.mark.parametrize("neighbours", [None, 16])
def test_estimates_without_variance_are_the_same_estimates(field, neighbours):
    x, y, z, qx, qy = field
    drift = np.column_stack([np.sin(x / 10)])
    data = PointKriging(x, y, z, Variogram("exponential", (0.8, 30.0, 0.05)), drift)
    target_drift = np.column_stack([np.sin(qx / 10)])
    est, var = krige(data, qx, qy, neighbours, target_drift=target_drift)
    only, none = krige(data, qx, qy, neighbours, target_drift=target_drift, variance=False)
    np.testing.assert_allclose(only, est, rtol=0, atol=1e-9)
    assert np.isnan(none).all() and np.isfinite(var).all()


def _fitted(x, y, z):
    ok = pykrige_ok(x, y, z, "spherical")
    return PointKriging(x, y, z, Variogram("spherical", tuple(ok.variogram_model_parameters)))


def test_squares_much_smaller_than_the_targets_spacing_are_the_moving_window(field):
    """Each target alone in a square whose centre is within 1e-7 of it: PyKrige's estimator."""
    x, y, z, qx, qy = field
    data = _fitted(x, y, z)
    exact, exact_var = krige(data, qx, qy, 16)
    shared, shared_var = krige(data, qx, qy, 16, shared_within=1e-7)
    np.testing.assert_allclose(shared, exact, rtol=0, atol=1e-6)
    np.testing.assert_allclose(shared_var, exact_var, rtol=0, atol=1e-6)


def test_targets_of_one_square_are_kriged_from_its_centres_neighbours(field):
    """Every target of the square uses the k nearest data of the square's centre, exactly as
    kriging from those k data alone (the global system on them)."""
    x, y, z, _, _ = field
    data = _fitted(x, y, z)
    g = np.linspace(40.0, 50.0, 11)  # one square of side 12 holds them all
    qx, qy = (a.ravel() for a in np.meshgrid(g, g))
    sets = neighbour_sets(np.column_stack([x, y]), np.column_stack([qx, qy]), 12, 12.0)
    assert len(sets.members) == 1 and (sets.system == 0).all()
    centre = np.array([40.0 + 6.0, 40.0 + 6.0])
    nearest = np.argsort(np.hypot(x - centre[0], y - centre[1]))[:12]
    np.testing.assert_array_equal(np.sort(sets.members[0]), np.sort(nearest))
    alone = PointKriging(x[nearest], y[nearest], z[nearest], data.variogram)
    expected, expected_var = krige(alone, qx, qy, None)
    est, var = krige(data, qx, qy, 12, shared_within=12.0)
    np.testing.assert_allclose(est, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(var, expected_var, rtol=0, atol=1e-9)


def test_squares_of_about_the_data_spacing_keep_the_accuracy(rng):
    """On a dense grid, squares about as wide as the mean spacing of the data change the RMSE
    against the truth by far less than 1 % (the benchmark's condition), with fewer systems."""
    x, y = rng.uniform(0, 200, 400), rng.uniform(0, 200, 400)

    def smooth(a, b):
        return np.sin(a / 20) + np.cos(b / 25)

    z = smooth(x, y) + rng.normal(0, 0.1, 400)
    data = _fitted(x, y, z)
    g = np.arange(0.5, 200, 1.0)
    qx, qy = (a.ravel() for a in np.meshgrid(g, g))
    truth = smooth(qx, qy)
    exact, _ = krige(data, qx, qy, 32)
    shared, _ = krige(data, qx, qy, 32, shared_within=10.0)  # mean spacing 10
    rmse_exact = np.sqrt(np.mean((exact - truth) ** 2))
    rmse_shared = np.sqrt(np.mean((shared - truth) ** 2))
    assert rmse_shared == pytest.approx(rmse_exact, rel=0.01)
    sets = neighbour_sets(np.column_stack([x, y]), np.column_stack([qx, qy]), 32, 10.0)
    assert len(sets.members) == 400  # 20 x 20 squares


@pytest.mark.parametrize("side", [0.0, -1.0, float("nan"), float("inf")])
def test_shared_within_must_be_a_positive_length(field, side):
    x, y, z, qx, qy = field
    with pytest.raises(InvalidInputError, match="shared_within must be a positive length"):
        krige(_fitted(x, y, z), qx, qy, 16, shared_within=side)
