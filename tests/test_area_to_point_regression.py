"""ATPRK: coherent by construction, exact when the covariates explain the field linearly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import block_mean
from geochem_bench.core.task import TaskInputs
from geochem_bench.models.area_to_point_regression import (
    AreaToPointRegressionKriging,
    ForestAreaToPointKriging,
    apply_trend,
    fit_trend,
)


def _inputs(truth: np.ndarray, covariates: np.ndarray, scale: int, valid: np.ndarray) -> TaskInputs:
    from affine import Affine

    from geochem_bench.core.grid import GridSpec

    top = float(truth.shape[0] * 10)
    grid = GridSpec(*truth.shape, Affine(10.0, 0, 0.0, 0, -10.0, top), "EPSG:32633")
    lowres, count = block_mean(np.where(valid, truth, np.nan)[None], scale)
    coarse = GridSpec(
        *lowres.shape[1:], Affine(10.0 * scale, 0, 0.0, 0, -10.0 * scale, top), "EPSG:32633"
    )
    return TaskInputs(
        task_id="t/fe/s4/grid",
        fold=0,
        protocol="grid",
        scale=scale,
        elements=(Element("Fe", "%", "linear"),),
        covariates=covariates.astype(np.float32),
        band_names=tuple(f"b{i}" for i in range(len(covariates))),
        valid=valid,
        grid=grid,
        lowres=lowres,
        lowres_count=count,
        lowres_grid=coarse,
        points=None,
    )


def _field(seed: int, shape=(64, 72)):
    from geochem_bench.data.random_fields import gaussian_random_field

    rng = np.random.default_rng(seed)
    return np.stack([gaussian_random_field(shape, 10.0, 150.0, rng) for _ in range(3)])


def test_a_field_linear_in_the_covariates_is_recovered():
    bands = _field(0)
    truth = 5.0 + 0.8 * bands[0] - 0.3 * bands[1]
    valid = np.ones(truth.shape, dtype=bool)
    inputs = _inputs(truth, bands, 4, valid)
    model = AreaToPointRegressionKriging(sigma=0.0, back_projection=0)
    model.fit(inputs)
    np.testing.assert_allclose(model.coef_[0][:3], [5.0, 0.8, -0.3], atol=1e-4)
    mean = model.predict(inputs).mean[0]
    np.testing.assert_allclose(mean, truth, atol=1e-3)


@pytest.mark.parametrize("sigma", [0.0, 2.0])
def test_block_means_of_the_map_equal_the_data(sigma):
    bands = _field(1)
    truth = 3.0 + 0.5 * bands[2] + 0.4 * _field(2)[0]  # half of it unexplained
    valid = np.ones(truth.shape, dtype=bool)
    valid[:5, :9] = False  # partial and empty blocks
    inputs = _inputs(truth, bands, 4, valid)
    mean = AreaToPointRegressionKriging(sigma=sigma, back_projection=0).predict(inputs).mean[0]
    assert np.isfinite(mean[valid]).all() and np.isnan(mean[~valid]).all()
    means = block_mean(np.where(valid, mean, np.nan), 4)[0]
    has = np.isfinite(inputs.lowres[0])
    np.testing.assert_allclose(means[has], inputs.lowres[0][has], atol=1e-5)


def test_trend_fit_survives_collinear_one_hot_bands():
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 3, 200)
    one_hot = np.eye(3)[classes]  # sums to 1: collinear with the intercept
    target = np.array([1.0, 2.0, 4.0])[classes]
    coef = fit_trend(one_hot, target)
    fitted = apply_trend(one_hot.T[:, :, None], coef)[:, 0]
    np.testing.assert_allclose(fitted, target, atol=1e-4)


@pytest.mark.parametrize("use_coordinates", [False, True])
def test_the_forest_trend_keeps_the_block_data(use_coordinates):
    bands = _field(3)
    truth = 3.0 + np.tanh(bands[0]) + 0.4 * _field(4)[0]  # non-linear, half unexplained
    valid = np.ones(truth.shape, dtype=bool)
    valid[-6:, -7:] = False
    inputs = _inputs(truth, bands, 4, valid)
    model = ForestAreaToPointKriging(
        n_estimators=20, back_projection=0, use_coordinates=use_coordinates
    )
    model.fit(inputs)
    prediction = model.predict(inputs)
    mean = prediction.mean[0]
    assert np.isfinite(mean[valid]).all() and np.isnan(mean[~valid]).all()
    assert np.isfinite(prediction.std[0][valid]).all()
    means = block_mean(np.where(valid, mean, np.nan), 4)[0]
    has = np.isfinite(inputs.lowres[0])
    np.testing.assert_allclose(means[has], inputs.lowres[0][has], atol=1e-5)
    # the trend alone does not keep them: the residual step is what does
    trend = model._apply_trend(model._bands(inputs), model.coef_[0])
    trend_means = block_mean(np.where(valid, trend, np.nan), 4)[0]
    assert np.abs(trend_means[has] - inputs.lowres[0][has]).max() > 1e-3


def test_the_random_forest_baseline_is_coherent_on_grid_tasks():
    from geochem_bench.models.covariate_models import RandomForestFusion

    bands = _field(5)
    truth = 2.0 + 0.7 * bands[1] + 0.3 * _field(6)[0]
    valid = np.ones(truth.shape, dtype=bool)
    inputs = _inputs(truth, bands, 8, valid)
    model = RandomForestFusion(n_estimators=20)
    model.fit(inputs)
    mean = model.predict(inputs).mean[0]
    means = block_mean(mean, 8)[0]
    np.testing.assert_allclose(means, inputs.lowres[0], atol=1e-5)
    # a same-seeded refit is the same map (the forest is seeded by inputs.seed)
    again = RandomForestFusion(n_estimators=20)
    again.fit(inputs)
    np.testing.assert_array_equal(again.predict(inputs).mean, model.predict(inputs).mean)


def _masked_scene(seed: int = 3, scale: int = 4, shape=(64, 72)):
    """A field linear in its covariates on a mask with a hole and a ragged edge, the
    covariates NaN off the mask (as the stored lapland-radiometrics and olinda scenes are)."""
    bands = _field(seed, shape)
    truth = 5.0 + 0.8 * bands[0] - 0.3 * bands[1] + 0.2 * _field(seed + 1, shape)[0]
    valid = np.ones(truth.shape, dtype=bool)
    valid[20:31, 25:37] = False
    valid[:, 66:] = False
    valid[:9, :13] = False
    return truth, np.where(valid, bands, np.nan), valid, scale


def _block_models():
    """Every grid model that reads smoothed covariates, log10 back-projection off."""
    from geochem_bench.models.kriging import KrigingExternalDrift

    return {
        "external-drift": lambda: KrigingExternalDrift(back_projection=0),
        "atprk": lambda: AreaToPointRegressionKriging(back_projection=0),
        "forest-atprk": lambda: ForestAreaToPointKriging(n_estimators=10, back_projection=0),
    }


@pytest.mark.parametrize("name", ["external-drift", "atprk", "forest-atprk"])
@pytest.mark.parametrize("element", ["linear", "log10"])
def test_block_models_on_a_scene_whose_covariates_stop_at_the_mask(element, name):
    """Covariates NaN off the valid cells, as real scenes store them. Smoothing them spread the
    NaN onto valid cells near the mask: the drift's SVD failed ('SVD did not converge') on
    lapland-radiometrics and olinda, and ATPRK 1.0.0 and the forest's grid path (random
    forest 2.0.0) left a NaN trend there (block means off the data by 0.11-0.15 on those
    scenes). The map is finite and keeps the block data."""
    truth, bands, valid, scale = _masked_scene()
    if element == "log10":
        truth = np.exp(truth / 4.0)
    inputs = _inputs(truth, bands, scale, valid)
    if element == "log10":
        inputs = dataclasses.replace(inputs, elements=(Element("Cu", "mg/kg", "log10"),))
    model = _block_models()[name]()
    model.fit(inputs)
    pred = model.predict(inputs)
    assert np.isfinite(pred.mean[:, valid]).all() and np.isfinite(pred.std[:, valid]).all()
    means = block_mean(np.where(valid, pred.mean[0].astype(np.float64), np.nan), scale)[0]
    data = inputs.lowres[0]
    has = np.isfinite(data)
    if element == "linear":
        np.testing.assert_allclose(means[has], data[has], rtol=1e-5, atol=1e-5)
    else:  # geometric block means kept: log10 of the map averages to log10 of the data
        logs = block_mean(np.where(valid, np.log10(pred.mean[0]), np.nan), scale)[0]
        np.testing.assert_allclose(logs[has], np.log10(data[has]), rtol=0, atol=1e-5)


def test_external_drift_fills_a_missing_covariate_as_at_its_fit():
    """A valid cell without a covariate takes the fit's fill value, not each window's own."""
    from geochem_bench.models.kriging import KrigingExternalDrift

    truth, bands, valid, scale = _masked_scene(5, shape=(112, 72))
    bands[0, 100:103, 40:42] = np.nan  # a hole in one band on valid cells
    inputs = _inputs(truth, bands, scale, valid)
    model = KrigingExternalDrift(back_projection=0)
    model.fit(inputs)
    whole = model.predict(inputs).mean
    assert np.isfinite(whole[:, valid]).all()
    halo = model.context_cells(scale)
    window = _inputs(truth[48:], bands[:, 48:], scale, valid[48:])
    part = model.predict(window).mean
    assert halo <= 48
    # beyond the halo the window sees the same drift as the whole scene: the same fill
    np.testing.assert_allclose(part[:, 48:], whole[:, 96:], rtol=1e-6, equal_nan=True)


def test_external_drift_refuses_a_negative_number_of_components():
    """components=-1 silently used all but the last component (a slice vt[:-1])."""
    from geochem_bench.errors import InvalidInputError
    from geochem_bench.models.kriging import KrigingExternalDrift

    truth, bands, valid, scale = _masked_scene()
    inputs = _inputs(truth, np.nan_to_num(bands), scale, valid)
    with pytest.raises(InvalidInputError, match="components must be 0 or more"):
        KrigingExternalDrift(components=-1).fit(inputs)


class _FiniteOnly:
    """A fitted forest that refuses non-finite features, as scikit-learn < 1.4 does for NaN
    (``scikit-learn>=1.3`` is allowed) and every version does for infinity."""

    def __init__(self, forest):
        self.forest = forest

    def predict(self, features):
        assert np.isfinite(features).all(), "the forest was asked at a non-finite covariate"
        return self.forest.predict(features)


@pytest.mark.parametrize("sigma", [0.0, 2.0])
def test_the_forest_is_never_asked_at_covariates_left_non_finite_off_the_mask(sigma):
    """Off the mask the smoothed covariates stay NaN beyond the kernel's reach of a finite
    cell (everywhere with sigma = 0, where an infinity stays too): the forest's grid path
    handed those cells to the forest, which raised ('Input X contains infinity') with
    sigma = 0, and on NaN with scikit-learn 1.3. The map does not depend on them."""
    truth, bands, valid, scale = _masked_scene(shape=(64, 96))
    valid[:, 66:] = False  # 30 columns off the mask: beyond a sigma=2 kernel's reach
    bands = np.where(valid, bands, np.nan)
    bands[1, :, 80:] = -np.inf
    inputs = _inputs(truth, bands, scale, valid)
    model = ForestAreaToPointKriging(n_estimators=10, back_projection=0, sigma=sigma)
    model.fit(inputs)
    model.coef_ = [_FiniteOnly(forest) for forest in model.coef_]
    pred = model.predict(inputs)
    assert np.isfinite(pred.mean[:, valid]).all() and np.isnan(pred.mean[:, ~valid]).all()
    means = block_mean(np.where(valid, pred.mean[0].astype(np.float64), np.nan), scale)[0]
    has = np.isfinite(inputs.lowres[0])
    np.testing.assert_allclose(means[has], inputs.lowres[0][has], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("sigma", [-1.0, float("nan"), float("inf")])
def test_a_covariate_smoothing_that_is_not_a_width_is_refused(sigma):
    """A negative sigma switched the smoothing off while shrinking the tiled halo."""
    from geochem_bench.errors import InvalidInputError

    truth, bands, valid, scale = _masked_scene()
    inputs = _inputs(truth, bands, scale, valid)
    with pytest.raises(InvalidInputError, match="sigma is a Gaussian width"):
        AreaToPointRegressionKriging(sigma=sigma).fit(inputs)


def test_inputs_with_other_bands_than_the_fit_are_refused_with_the_reason():
    """Predicting with 2 bands after fitting on 3 failed with 'shape-mismatch for sum'."""
    from geochem_bench.errors import InvalidInputError

    truth, bands, valid, scale = _masked_scene()
    model = AreaToPointRegressionKriging()
    model.fit(_inputs(truth, bands, scale, valid))
    fewer = _inputs(truth, bands[:2], scale, valid)
    with pytest.raises(InvalidInputError, match="fitted on 3 covariate bands"):
        model.predict(fewer)
