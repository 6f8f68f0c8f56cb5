"""TorchGeo-style tests of the dataset classes, on seeded fake raw data and real files."""

from __future__ import annotations

import dataclasses
import shutil

import matplotlib
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from torchgeo.datasets import DatasetNotFoundError

from geochem_bench.core.task import TaskSpec
from geochem_bench.data.sources import DATA_ENV, ChecksumError
from geochem_bench.scenes import (
    SCENES,
    Jura,
    LaplandIOCG,
    LaplandRadiometrics,
    Meuse,
    Olinda,
    SirSamuel,
    SirSamuelRadiometrics,
    WalkerLake,
    registry,
)
from geochem_bench.torch import datasets as torch_datasets
from geochem_bench.torch.datasets import (
    FillInvalid,
    FusionDataModule,
    FusionDataset,
    JuraDataset,
    LaplandIOCGDataset,
    LaplandRadiometricsDataset,
    MeuseDataset,
    OlindaDataset,
    SirSamuelDataset,
    SirSamuelRadiometricsDataset,
    SyntheticDataset,
    WalkerLakeDataset,
)

from .conftest import generate_fakes

matplotlib.use("Agg")

# dataset class, scene class; every scene runs on its seeded fakes (tests/data/<scene>/data.py)
CASES = {
    "meuse": (MeuseDataset, Meuse),
    "olinda": (OlindaDataset, Olinda),
    "jura": (JuraDataset, Jura),
    "walker-lake": (WalkerLakeDataset, WalkerLake),
    "lapland-iocg": (LaplandIOCGDataset, LaplandIOCG),
    "sir-samuel-radiometrics": (SirSamuelRadiometricsDataset, SirSamuelRadiometrics),
    "sir-samuel": (SirSamuelDataset, SirSamuel),
    "lapland-radiometrics": (LaplandRadiometricsDataset, LaplandRadiometrics),
}


@pytest.fixture(params=sorted(CASES))
def case(request, tmp_path, monkeypatch):
    dataset_cls, scene_cls = CASES[request.param]
    mirror = tmp_path / "mirror"
    monkeypatch.setattr(scene_cls, "files", generate_fakes(scene_cls, mirror))
    return dataset_cls, scene_cls, mirror, tmp_path / "root"


def test_getitem_len_and_dataloader(case):
    dataset_cls, _, mirror, root = case
    ds = dataset_cls(root=root, download=True, mirror=str(mirror))
    assert len(ds) > 0
    sample = ds[0]
    p = ds.patch_size
    assert sample["image"].shape[1:] == (p, p) and sample["image"].dtype == torch.float32
    assert sample["lowres"].shape[1:] == (p // ds.task.scale, p // ds.task.scale)
    assert sample["lowres_up"].shape == (len(ds.task.elements), p, p)
    assert sample["valid"].dtype == torch.bool
    assert sample["mask"].shape == (len(ds.task.elements), p, p)
    assert sample["lowres_mask"].shape == sample["lowres"].shape
    for split in ("train", "val", "test"):
        ds = dataset_cls(root=root, split=split)
        for i in range(len(ds)):
            for key, value in ds[i].items():
                assert torch.isfinite(value.float()).all(), (split, i, key)
    batch = next(iter(DataLoader(ds, batch_size=2)))
    assert batch["image"].shape[0] == min(2, len(ds))


def test_already_built_needs_no_download(case, monkeypatch):
    dataset_cls, _, mirror, root = case
    dataset_cls(root=root, download=True, mirror=str(mirror))
    shutil.rmtree(mirror)
    shutil.rmtree(root / "raw")
    assert len(dataset_cls(root=root)) > 0
    monkeypatch.setenv(DATA_ENV, str(root))  # the CLI's data root is the default root
    assert dataset_cls().root == root and len(dataset_cls()) > 0


def test_default_root_is_the_cli_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "cli-root"))
    with pytest.raises(DatasetNotFoundError, match="cli-root"):
        MeuseDataset()


def test_not_downloaded(case):
    dataset_cls, *_, root = case
    with pytest.raises(DatasetNotFoundError, match="download=True"):
        dataset_cls(root=root)


def test_checksum_mismatch(case):
    dataset_cls, scene_cls, mirror, root = case
    victim = mirror / scene_cls.files[0].path
    data = victim.read_bytes()
    victim.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # a changed byte, whatever it was
    with pytest.raises(ChecksumError, match=scene_cls.files[0].path):
        dataset_cls(root=root, download=True, mirror=str(mirror))


def test_invalid_split(case):
    dataset_cls, *_ = case
    with pytest.raises(ValueError, match="split must be one of"):
        dataset_cls(split="foo")


def test_plot_with_prediction(case):
    dataset_cls, _, mirror, root = case
    ds = dataset_cls(root=root, split="test", download=True, mirror=str(mirror))
    sample = ds[0]
    sample["prediction"] = sample["mask"].clone()  # predictions live in the space of `mask`
    fig = ds.plot(sample, suptitle="test")
    assert len(fig.axes) >= 4
    matplotlib.pyplot.close(fig)
    sample["prediction"] = sample["mask"][0]  # a stock trainer's (p, p) prediction
    matplotlib.pyplot.close(ds.plot(sample))


def _sample_cells(ds) -> set[tuple[int, int]]:
    cells = set()
    for i, (r, c) in enumerate(ds._corners):
        for dr, dc in torch.nonzero(ds[i]["sample_mask"][0]).tolist():
            cells.add((r + dr, c + dc))
    return cells


def test_splits_follow_the_protocol():
    kw = {"task": "synthetic/cu/s16/points", "patch_size": 64, "fold": 1}
    train, val, test = (SyntheticDataset(split=s, **kw) for s in ("train", "val", "test"))
    cells = [_sample_cells(d) for d in (train, val, test)]
    assert all(cells)
    assert not cells[0] & cells[1] and not cells[0] & cells[2] and not cells[1] & cells[2]
    assert len(cells[0]) + len(cells[1]) == len(train.inputs.points)  # train + val = visible
    assert "target" not in train[0]
    grid_test = SyntheticDataset(split="test", patch_size=64)
    assert (
        "target" in grid_test[0]
        and "target" not in SyntheticDataset(split="train", patch_size=64)[0]
    )


def test_patch_size_must_be_a_multiple_of_the_scale():
    with pytest.raises(ValueError, match="multiple of the scale"):
        SyntheticDataset(patch_size=30)


SYNTHETIC_TASKS = [t.id for t in registry.scenes()["synthetic"].tasks]


@pytest.mark.parametrize("task", SYNTHETIC_TASKS)
@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_fill_invalid_leaves_no_nan_and_masks_say_where(task, split):
    raw = SyntheticDataset(split=split, task=task, patch_size=64, transforms=None)
    filled = SyntheticDataset(split=split, task=task, patch_size=64)
    masks = {"lowres": "lowres_mask", "sample_values": "sample_mask"}
    saw_nan = False
    for i in range(len(raw)):
        r, f = raw[i], filled[i]
        assert r.keys() == f.keys()
        for key, value in f.items():
            assert torch.isfinite(value.float()).all(), (i, key)
            if not value.is_floating_point():
                assert torch.equal(value, r[key])
                continue
            nan = torch.isnan(r[key])
            saw_nan |= bool(nan.any())
            assert (f[key][nan] == 0.0).all() and torch.equal(f[key][~nan], r[key][~nan])
            mask = r[masks[key]] if key in masks else r["valid"].expand_as(value)
            assert not nan[mask].any(), (i, key)  # NaN only where the mask says no value
    assert saw_nan  # the scene has invalid cells: the fill is exercised


def test_fill_invalid_per_key_fill():
    sample = {"image": torch.tensor([1.0, float("nan")]), "valid": torch.tensor([True, False])}
    out = FillInvalid(fill=-9.0, fills={"image": 2.5})(sample)
    assert out["image"].tolist() == [1.0, 2.5] and torch.isnan(sample["image"][1])
    assert FillInvalid(-9.0)({"x": torch.tensor([float("nan")])})["x"].item() == -9.0


def _analysis(ds, natural):
    """Natural units (E, p, p) to each element's analysis space (log10 or linear)."""
    return torch.stack(
        [torch.from_numpy(e.to_analysis(b.numpy())) for e, b in zip(ds.inputs.elements, natural)]
    ).float()


def test_mask_is_the_target_in_analysis_space():
    grid = SyntheticDataset(split="test", task="synthetic/all/s8/grid", patch_size=64)
    assert {e.analysis_space for e in grid.inputs.elements} == {"log10", "linear"}  # Fe linear
    points = SyntheticDataset(split="train", task="synthetic/cu/s16/points", patch_size=64)
    for ds, fine_key in ((grid, "target"), (points, "sample_values")):
        for i in range(len(ds)):
            s = ds[i]
            valid = s["valid"].expand_as(s["mask"])
            known = valid if fine_key == "target" else s["sample_mask"]
            fine, prior = _analysis(ds, s[fine_key]), _analysis(ds, s["lowres_up"])
            torch.testing.assert_close(s["mask"][known], fine[known])
            torch.testing.assert_close(s["mask"][valid & ~known], prior[valid & ~known])
            assert (s["mask"][~valid] == 0.0).all()
    # grid train/val: no fine values may be shown, so the target is the upsampled lowres grid
    train_ds = SyntheticDataset(split="train", task="synthetic/all/s8/grid", patch_size=64)
    train = train_ds[0]
    assert "target" not in train
    v = train["valid"].expand_as(train["mask"])
    torch.testing.assert_close(train["mask"][v], _analysis(train_ds, train["lowres_up"])[v])


def test_scene_classes_follow_the_registry():
    named = {
        cls.scene: cls
        for cls in vars(torch_datasets).values()
        if isinstance(cls, type) and issubclass(cls, FusionDataset) and cls.scene is not None
    }
    # built-in: declared in geochem_bench.scenes, in the official suite or not yet (a user
    # survey registered by another test is neither)
    builtin = {cls.name for cls in SCENES}
    assert set(named) == builtin, "add a one-line FusionDataset subclass per built-in scene"
    for name, cls in named.items():
        assert {k for k in vars(cls) if not k.startswith("_")} == {"scene"}  # no own logic
        assert name in cls.__doc__
    ds = SyntheticDataset(patch_size=64)
    assert ds.task.id == registry.scenes()["synthetic"].tasks[0].id  # default: first task
    generic = FusionDataset(scene="synthetic", patch_size=64)
    by_task = FusionDataset(task=ds.task.id, patch_size=64)
    for other in (generic, by_task):
        assert other.task == ds.task and len(other) == len(ds)
        assert all(torch.equal(v, other[3][k]) for k, v in ds[3].items())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "needs a scene or a task"),
        ({"scene": "nowhere"}, "unknown scene"),
        ({"scene": "synthetic", "task": "meuse/zn/s10/points"}, "disagree"),
    ],
)
def test_scene_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FusionDataset(**kwargs)


def test_named_class_keeps_its_scene():
    with pytest.raises(ValueError, match="disagree"):
        SyntheticDataset(scene="meuse")
    with pytest.raises(ValueError, match="disagree"):
        SyntheticDataset(task="meuse/zn/s10/points")


@pytest.fixture()
def user_survey(monkeypatch):
    """A user survey registered like `register_survey` does: here the synthetic scene renamed."""
    registry.scenes()  # the built-in scenes first, then a copy of the catalogue to restore
    monkeypatch.setattr(registry, "_SCENES", dict(registry._SCENES))
    scene = dataclasses.replace(registry.load_scene("synthetic"), name="mysurvey")
    task = TaskSpec("mysurvey", ("Cu",), 16, "points", n_spatial_folds=5, block_cells=2)
    registry.register_scene(
        registry.SceneEntry(
            name="mysurvey",
            summary="a user survey",
            size="256x256",
            licence="CC0-1.0",
            loader=lambda **_: scene,
            tasks=(task,),
            in_suite=False,
        )
    )
    return task


def test_generic_dataset_and_datamodule_on_a_user_survey(user_survey):
    ds = FusionDataset(scene="mysurvey", patch_size=64)
    assert ds.task == user_survey and len(ds) > 0
    mine = SyntheticDataset(task="synthetic/cu/s16/points", patch_size=64)
    assert all(torch.equal(v, mine[2][k]) for k, v in ds[2].items())
    dm = FusionDataModule("mysurvey", batch_size=4, patch_size=64)
    dm.setup("fit")
    assert next(iter(dm.train_dataloader()))["image"].shape == (4, 7, 64, 64)


def test_datamodule():
    dm = FusionDataModule("synthetic", batch_size=4, task="synthetic/cu/s16/points", patch_size=64)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (4, 7, 64, 64)
    dm.setup("test")
    assert len(dm.test_dataset) == len(dm.train_dataset)
    assert np.isfinite(
        batch["lowres_up"][batch["valid"].unsqueeze(1).expand_as(batch["lowres_up"])].numpy()
    ).all()
    out = dm.aug(dict(batch))  # what on_after_batch_transfer applies
    mean, std = dm.statistics
    valid = batch["valid"].unsqueeze(1).expand_as(batch["image"])
    expected = (batch["image"] - mean[:, None, None]) / std[:, None, None]
    torch.testing.assert_close(out["image"][valid], expected[valid])
    assert (out["image"][~valid] == 0).all()
    for key in batch.keys() - {"image"}:
        assert torch.equal(out[key], batch[key]), key
    # what a stock trainer's validation step hands to `plot`: one sample, (p, p) prediction
    from torchgeo.datasets import unbind_samples

    out["prediction"] = out["mask"][:, 0]
    matplotlib.pyplot.close(dm.plot(unbind_samples(out)[0]))
    restored = FusionDataModule("synthetic", task="synthetic/cu/s16/points", patch_size=64)
    restored.load_state_dict(dm.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(restored.statistics, dm.statistics))


class _Altered(FusionDataset):
    """Images of some splits scaled and shifted: statistics must ignore val and test."""

    altered: tuple[str, ...] = ("val", "test")

    def __getitem__(self, index):
        sample = super().__getitem__(index)
        if self.split in self.altered:
            sample["image"] = sample["image"] * 10.0 + 5.0
        return sample


class _AlteredTrain(_Altered):
    altered = ("train",)


def test_statistics_come_from_the_training_split_only(scene):
    kw = {"task": "synthetic/cu/s16/points", "patch_size": 64}

    def stats(cls, stage="fit"):
        dm = FusionDataModule("synthetic", dataset_class=cls, **kw)
        dm.setup(stage)
        return dm.statistics

    reference = stats(FusionDataset)
    for altered in (stats(_Altered), stats(_Altered, "test"), stats(_Altered, "validate")):
        assert all(torch.equal(a, b) for a, b in zip(reference, altered))
    assert not torch.allclose(reference[0], stats(_AlteredTrain)[0])  # train does count
    # every split tiles the whole scene (splits differ in their targets), so the training
    # statistics are those of the scene's valid cells
    cov = scene.covariates[:, scene.valid].astype(np.float64)
    np.testing.assert_allclose(reference[0], cov.mean(1), rtol=1e-5)
    np.testing.assert_allclose(reference[1], cov.std(1), rtol=1e-4)


def test_torchgeo_pixelwise_regression_task_trains():
    import lightning as L
    from torchgeo.trainers import PixelwiseRegressionTask

    class Losses(L.Callback):
        def __init__(self):
            self.values = []

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            self.values.append(float(outputs["loss"]))
            assert batch["image"].abs().max() < 50  # standardised
            assert "mask" in batch and torch.isfinite(batch["mask"]).all()

    L.seed_everything(0, verbose=False)
    dm = FusionDataModule("synthetic", task="synthetic/cu/s16/points", patch_size=64, batch_size=4)
    task = PixelwiseRegressionTask(model="fcn", in_channels=7, num_filters=8, loss="mse")
    losses = Losses()
    trainer = L.Trainer(
        max_steps=3,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[losses],
    )
    trainer.fit(task, datamodule=dm)
    print("train losses", losses.values)
    assert len(losses.values) == 3 and np.isfinite(losses.values).all()
    assert np.isfinite(float(trainer.callback_metrics["train_loss"]))
    (tested,) = trainer.test(task, datamodule=dm, verbose=False)
    print("test loss", tested["test_loss"])
    assert np.isfinite(tested["test_loss"])
