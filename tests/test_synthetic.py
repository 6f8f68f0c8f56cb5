from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import skew

from geochem_bench.data.random_fields import gaussian_random_field
from geochem_bench.scenes.registry import load_scene
from geochem_bench.scenes.synthetic import (
    SYNTHETIC_VERSION,
    Synthetic,
    SyntheticConfig,
    generate_synthetic,
)


def test_same_seed_gives_identical_bytes():
    a = generate_synthetic(SyntheticConfig(height=96, width=80, seed=7))
    b = generate_synthetic(SyntheticConfig(height=96, width=80, seed=7))
    assert a.fingerprint() == b.fingerprint()
    assert a.covariates.tobytes() == b.covariates.tobytes()
    assert a.truth.tobytes() == b.truth.tobytes()
    assert a.version == SYNTHETIC_VERSION


def test_other_seed_gives_other_scene():
    a = generate_synthetic(SyntheticConfig(height=96, width=96, seed=1))
    b = generate_synthetic(SyntheticConfig(height=96, width=96, seed=2))
    assert a.fingerprint()["truth"] != b.fingerprint()["truth"]


def test_layout_and_georeferencing(scene):
    assert scene.covariates.shape == (7, 256, 256)
    assert scene.covariates.dtype == np.float32 and scene.truth.dtype == np.float32
    assert scene.band_names[-1] == "elevation"
    assert scene.grid.crs == "EPSG:32633" and scene.grid.res == (30.0, 30.0)
    assert 0.9 < scene.valid.mean() < 1.0  # a lake is masked out
    assert np.isnan(scene.truth[:, ~scene.valid]).all()
    assert np.isfinite(scene.truth[:, scene.valid]).all()
    assert (scene.truth[:, scene.valid] > 0).all()
    reflectance = scene.covariates[:6]
    assert reflectance.min() >= 0 and reflectance.max() <= 1


def test_geochemistry_is_lognormal_and_correlated(scene):
    logs = np.log10(scene.truth[:, scene.valid])
    natural = scene.truth[:, scene.valid]
    for e, element in enumerate(scene.elements):
        if element.analysis_space == "log10":
            assert skew(natural[e]) > 1.0, element.symbol  # right-skewed in natural units
            assert abs(skew(logs[e])) < abs(skew(natural[e])) / 2, element.symbol
    corr = np.corrcoef(logs)
    sym = [e.symbol for e in scene.elements]
    assert corr[sym.index("Zn"), sym.index("Pb")] > 0.3
    assert corr[sym.index("Cu"), sym.index("Fe")] > 0.3


@pytest.mark.parametrize("realisation", Synthetic.test_realisations)
def test_mineralisation_halo_shows_in_upper_tail(realisation):
    # anomalies, not just background, in every test realisation (their strength varies with
    # the fertile intrusions drawn: P99.5 / median from 9 to 42 over realisations 0, 1, 2)
    scene = load_scene("synthetic", realisation=realisation)
    cu = scene.truth[0][scene.valid]
    assert np.percentile(cu, 99.5) / np.median(cu) > 5
    assert cu.max() / np.median(cu) > 10


def test_remote_sensing_is_informative_but_partial(scene):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import train_test_split

    mask = scene.valid
    features = scene.covariates[:, mask].T
    rng = np.random.default_rng(0)
    pick = rng.choice(features.shape[0], 6000, replace=False)
    for e in (0, 1):  # Cu, Zn
        target = np.log10(scene.truth[e][mask])[pick]
        xtr, xte, ytr, yte = train_test_split(features[pick], target, random_state=0)
        model = RandomForestRegressor(n_estimators=60, random_state=0, n_jobs=2).fit(xtr, ytr)
        r2 = model.score(xte, yte)
        assert 0.2 < r2 < 0.9, (scene.elements[e].symbol, r2)


def test_survey_samples_match_truth_within_analytical_error(scene):
    pts = scene.points
    rows, cols = scene.grid.cell_of(pts.x, pts.y)
    ratio = np.log10(pts.values / scene.truth[:, rows, cols].T)
    assert 300 < len(pts) < 400
    assert abs(ratio.mean()) < 0.01 and 0.02 < ratio.std() < 0.04


@pytest.mark.parametrize("model", ["exponential", "gaussian"])
def test_random_field_has_declared_range(model):
    field = gaussian_random_field((512, 512), 10.0, 400.0, np.random.default_rng(0), model)
    assert field.dtype == np.float64  # float64, so generators can round it alike everywhere
    assert abs(field.mean()) < 1e-5 and abs(field.std() - 1) < 1e-4

    def corr(lag: int) -> float:
        a, b = field[:, :-lag].ravel(), field[:, lag:].ravel()
        return float(np.corrcoef(a, b)[0, 1])

    assert corr(40) < 0.2  # 40 cells = 400 m: the practical range
    assert corr(2) > 0.7


def test_sizes_are_free():
    s = generate_synthetic(SyntheticConfig(height=33, width=120, seed=3))
    assert s.covariates.shape == (7, 33, 120)


@pytest.mark.slow
def test_8192_square_scene_generates():
    s = generate_synthetic(SyntheticConfig(height=8192, width=8192))
    assert s.truth.shape == (6, 8192, 8192)
    assert np.isfinite(s.covariates).all()
