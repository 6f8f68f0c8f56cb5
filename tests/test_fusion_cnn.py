"""The reference fusion CNN: runs on every protocol, deterministically, saves hashed weights.

Since 0.4.0 (issue 14): its base is ATPK on grid tasks and kriging of the training samples on
point tasks, it back-projects on grid tasks only, it learns the covariates' support, and its
pretraining never sees a test realisation.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from geochem_bench.cli.main import main
from geochem_bench.core.task import TaskSpec
from geochem_bench.evaluation.executors import evaluate
from geochem_bench.evaluation.harness import RunOptions

TINY = {"steps": 3, "finetune_steps": 2, "batch": 2, "fine_crop": 32}
# No training: the zero-initialised head leaves the base surface as the output.
UNTRAINED = {"steps": 0, "finetune_steps": 0, "pretrained": None}


@pytest.fixture(scope="module")
def grid_inputs():
    from geochem_bench.scenes.registry import get_task, load_scene
    from geochem_bench.tasks.protocols import build_fold

    inputs, _ = build_fold(load_scene("synthetic"), get_task("synthetic/all/s16/grid"), 0)
    return inputs


@pytest.fixture(scope="module")
def points_inputs():
    from geochem_bench.scenes.registry import load_scene
    from geochem_bench.tasks.protocols import build_fold

    task = TaskSpec("synthetic", ("Cu",), 16, "points", n_spatial_folds=2, target_fraction=0.5)
    inputs, _ = build_fold(load_scene("synthetic"), task, 0)
    return inputs


@pytest.mark.parametrize("protocol", ["grid", "points", "transfer"])
def test_fusion_cnn_smoke(tmp_path, protocol):
    from geochem_bench.evaluation.submission import Submission

    n_folds = 1 if protocol == "grid" else 2
    task = TaskSpec(
        "synthetic", ("Cu",), 16, protocol, n_spatial_folds=n_folds, target_fraction=0.5
    )
    sub = Submission(
        name="cnn",
        version="test",
        model="geochem_bench.models.fusion_cnn:FusionCNN",
        params=TINY,
    )
    first = evaluate(sub, [task], RunOptions(tmp_path / "a", progress=False))
    second = evaluate(sub, [task], RunOptions(tmp_path / "b", progress=False))
    assert all(r.status == "ok" for r in first), [r.failure for r in first]
    assert [r.metrics for r in first] == [r.metrics for r in second]  # seeded and deterministic


def test_seed_decides_the_training(grid_inputs):
    """Same seed, same map; another seed, another map (the seed is really used)."""
    import dataclasses

    from geochem_bench.models.fusion_cnn import FusionCNN

    params = {"steps": 3, "batch": 2, "fine_crop": 32, "pretrained": None}
    inputs = dataclasses.replace(grid_inputs, elements=grid_inputs.elements[:1])
    inputs = dataclasses.replace(inputs, lowres=grid_inputs.lowres[:1])
    maps = []
    for seed in (0, 0, 1):
        model = FusionCNN(**params)
        model.fit(dataclasses.replace(inputs, seed=seed))
        maps.append(model.predict(inputs))
    np.testing.assert_array_equal(maps[0], maps[1])
    assert not np.array_equal(maps[0], maps[2])


def test_grid_base_is_atpk_and_keeps_block_means(grid_inputs):
    from geochem_bench.core.grid import block_mean
    from geochem_bench.models.area_to_point import AreaToPointKriging
    from geochem_bench.models.fusion_cnn import FusionCNN

    inputs = grid_inputs
    atpk = AreaToPointKriging(radius=3, back_projection=0)
    atpk.fit(inputs)
    expected = atpk.predict(inputs).mean
    bare = FusionCNN(**UNTRAINED, back_projection=0)
    bare.fit(inputs)
    got = bare.predict(inputs)
    valid = inputs.valid
    np.testing.assert_allclose(got[:, valid], expected[:, valid], rtol=1e-4, atol=1e-5)

    projected = FusionCNN(**UNTRAINED)  # the default: 3 natural-unit back-projection steps
    projected.fit(inputs)
    out = projected.predict(inputs)
    means, _ = block_mean(np.where(valid, out, np.nan), inputs.scale)
    known = np.isfinite(inputs.lowres)
    after = np.abs(means[known] / inputs.lowres[known] - 1)
    # ATPK alone keeps geometric, not arithmetic, block means for log10 elements
    raw, _ = block_mean(np.where(valid, expected, np.nan), inputs.scale)
    before = np.abs(raw[known] / inputs.lowres[known] - 1)
    # three steps are not exact at the mask's edge blocks: judge the typical block
    assert np.median(after) < 0.002 and after.mean() < before.mean() / 3


def test_points_base_is_kriging_without_back_projection(points_inputs):
    from geochem_bench.models.fusion_cnn import FusionCNN
    from geochem_bench.models.kriging import OrdinaryKrigingModel

    inputs = points_inputs
    kriged = OrdinaryKrigingModel("spherical", neighbours=32).predict(inputs).mean
    model = FusionCNN(**UNTRAINED, back_projection=3)  # asked for, and still not applied
    model.fit(inputs)
    got = model.predict(inputs)
    valid = inputs.valid
    np.testing.assert_allclose(got[:, valid], kriged[:, valid], rtol=1e-4)


def test_point_loss_uses_bases_kriged_without_the_sample(points_inputs):
    """Each sample's training base comes from the other folds, so it does not hold it."""
    from geochem_bench.models.fusion_cnn import BaseSurface, FusionCNN, element_data

    model = FusionCNN(**UNTRAINED)
    bases = BaseSurface(model.config, points_inputs)
    data = element_data(points_inputs, 0, bases, with_samples=True, seed=0)
    assert data.oof_base is not None and data.sample_fold is not None
    assert len(np.unique(data.sample_fold)) == data.oof_base.shape[0] > 1
    at_samples = data.oof_base[data.sample_fold, data.rows, data.cols]
    in_sample = data.base[data.rows, data.cols]
    # kriging honours its own data closely; kriging without them does not
    assert np.mean((at_samples - data.values) ** 2) > 2 * np.mean((in_sample - data.values) ** 2)


def test_coarse_out_of_fold_bases_equal_full_kriging_on_their_lattice(points_inputs):
    """0.4.1's ``oof_stride``: kriged at every 4th cell, interpolated bilinearly between."""
    from geochem_bench.models.fusion_cnn import BaseSurface, FusionCNN

    inputs = points_inputs
    element = inputs.elements[0]
    values = inputs.points.column(element.symbol)
    keep = np.isfinite(values)
    x, y = inputs.points.x[keep], inputs.points.y[keep]
    z = np.asarray(element.to_analysis(values[keep]), dtype=np.float64)
    model = FusionCNN(**UNTRAINED, oof_stride=4)
    bases = BaseSurface(model.config, inputs)
    full = bases.kriged(inputs, x, y, z)
    coarse = bases.kriged(inputs, x, y, z, coarse=True)
    assert coarse.shape == full.shape and np.isfinite(coarse).all()
    lattice = np.ix_(np.arange(0, full.shape[0], 4), np.arange(0, full.shape[1], 4))
    valid = inputs.valid[lattice]
    np.testing.assert_allclose(coarse[lattice][valid], full[lattice][valid], atol=1e-9)
    # between the nodes it is close to the kriged surface, far from a constant
    ok = inputs.valid
    assert np.sqrt(np.mean((coarse - full)[ok] ** 2)) < 0.2 * full[ok].std()
    # stride 1 (0.4.0) krigs every cell even when asked for the coarse base
    exact = BaseSurface(FusionCNN(**UNTRAINED).config, inputs)
    np.testing.assert_array_equal(exact.kriged(inputs, x, y, z, coarse=True), full)


def test_oof_stride_below_one_is_refused():
    from geochem_bench.errors import InvalidInputError
    from geochem_bench.models.fusion_cnn import FusionCNN

    with pytest.raises(InvalidInputError, match="oof_stride"):
        FusionCNN(oof_stride=0)


def test_pretraining_refuses_test_realisations():
    from geochem_bench.errors import InvalidInputError
    from geochem_bench.models.fusion_cnn_pretraining import (
        PRETRAIN_REALISATIONS,
        pretrain,
        require_dev,
    )

    for realisations in ((0,), (1, 100), (2,), (99,)):
        with pytest.raises(InvalidInputError, match="dev realisations only"):
            pretrain(realisations=realisations, steps=1)
    require_dev(PRETRAIN_REALISATIONS)  # the shipped weights' realisations are dev ones
    # and the ablation report's realisations are not among them
    assert not {100, 101, 102, 103, 104, 105} & set(PRETRAIN_REALISATIONS)


def test_shipped_weights_are_hashed_small_and_used_only_on_their_bands(grid_inputs):
    from geochem_bench.models.fusion_cnn import FusionCNN
    from geochem_bench.models.fusion_cnn_weights import load_pretrained, shipped_weights

    path = shipped_weights()
    meta = json.loads(path.with_suffix(".json").read_text())
    assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]
    assert path.stat().st_size < 512 * 1024
    assert set(meta["realisations"]) <= set(range(100, 110))
    model = FusionCNN()
    state = load_pretrained("synthetic", model, grid_inputs.band_names)
    assert state is not None and float(state["head.weight"].abs().sum()) > 0  # trained
    assert load_pretrained("synthetic", model, ("red", "nir")) is None  # another scene
    # the pretrained head moves the map off the base even before fine-tuning
    pretrained = FusionCNN(steps=0, back_projection=0)
    pretrained.fit(grid_inputs)
    bare = FusionCNN(**UNTRAINED, back_projection=0)
    bare.fit(grid_inputs)
    assert not np.allclose(pretrained.predict(grid_inputs), bare.predict(grid_inputs))


def test_pretrained_weights_of_another_architecture_are_refused(grid_inputs):
    from geochem_bench.errors import InvalidInputError
    from geochem_bench.models.fusion_cnn import FusionCNN

    with pytest.raises(InvalidInputError, match="pretrained with"):
        FusionCNN(width=8, steps=0).fit(grid_inputs)


def test_support_stem_is_trainable_and_crops_match_the_scene():
    from geochem_bench.models.fusion_cnn import ResidualFusionNet, Scene, train_network

    net = ResidualFusionNet(3, width=4, blocks=1)
    assert net.support is not None
    halo = net.halo
    rng = np.random.default_rng(0)
    cov = rng.normal(size=(1, 3, 40 + 2 * halo, 40 + 2 * halo)).astype(np.float32)
    whole = net.support(torch.from_numpy(cov))
    crop = net.support(torch.from_numpy(cov[:, :, 10 : 30 + 2 * halo, 5 : 25 + 2 * halo]))
    torch.testing.assert_close(crop, whole[:, :, 10:30, 5:25])
    # a pretraining-style fit moves the widths: they are learnt, not fixed
    from geochem_bench.models.fusion_cnn import ElementData

    valid = np.ones((40, 40), bool)
    truth = cov[0, 0, halo:-halo, halo:-halo] - 0.5 * cov[0, 1, halo:-halo, halo:-halo]
    element = ElementData(
        coarse=np.zeros((10, 10), np.float32),
        coarse_known=np.ones((10, 10), bool),
        base=np.zeros((40, 40), np.float32),
        mean=0.0,
        std=1.0,
        truth=truth.astype(np.float32),
    )
    before = net.support.log_sigma.detach().clone()
    train_network(
        net, [Scene(cov[0], valid, 4, [element])], {"truth": 2}, {"truth": 1.0}, 5, 1e-2, 8, 16, 0
    )
    assert not torch.equal(before, net.support.log_sigma.detach())
    no_stem = ResidualFusionNet(3, width=4, blocks=1, support_stem=False)
    assert no_stem.support is None and no_stem.halo == 0


def test_train_cnn_writes_hashed_weights(tmp_path):
    config = tmp_path / "cnn.toml"
    config.write_text("[params]\n" + "\n".join(f"{k} = {v}" for k, v in TINY.items()) + "\n")
    out = tmp_path / "weights"
    assert (
        main(
            [
                *("train-cnn", "synthetic/all/s16/grid", "--out", str(out)),
                *("--config", str(config), "--accelerator", "cpu", "--devices", "1"),
                *("--strategy", "auto"),
            ]
        )
        == 0
    )
    meta = json.loads((out / "weights.json").read_text())
    assert meta["task"] == "synthetic/all/s16/grid" and meta["config"]["steps"] == 3
    assert set(meta["sha256"]) == {f"{el}.pt" for el in ("Cu", "Zn", "Pb", "Ni", "As", "Fe")}
    for name, digest in meta["sha256"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_predict_needs_fit(grid_inputs):
    from geochem_bench.models.fusion_cnn import FusionCNN

    with pytest.raises(RuntimeError, match="fit"):
        FusionCNN().predict(grid_inputs)


def test_unknown_base_is_refused():
    from geochem_bench.errors import InvalidInputError
    from geochem_bench.models.fusion_cnn import FusionCNN

    with pytest.raises(InvalidInputError, match="base"):
        FusionCNN(base="nearest")
