"""TorchGeo-style tests of the dataset classes, on seeded fake raw data and real files."""

from __future__ import annotations

import shutil

import matplotlib
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader
from torchgeo.datasets import DatasetNotFoundError

from geochem_bench.data.sources import ChecksumError
from geochem_bench.scenes import Jura, LaplandIOCG, Meuse, Olinda, WalkerLake
from geochem_bench.torch.datasets import (
    FusionDataModule,
    JuraDataset,
    LaplandIOCGDataset,
    MeuseDataset,
    OlindaDataset,
    SyntheticDataset,
    WalkerLakeDataset,
)

from .conftest import RAW_DIR, fake_files, load_generator, require_raw

matplotlib.use("Agg")

# dataset class, scene class, raw folder, fake generator (None: the real files are tiny)
CASES = {
    "meuse": (MeuseDataset, Meuse, "meuse", "meuse"),
    "olinda": (OlindaDataset, Olinda, "olinda", "olinda"),
    "jura": (JuraDataset, Jura, "jura", None),
    "walker-lake": (WalkerLakeDataset, WalkerLake, "walker_lake", None),
    "lapland-iocg": (LaplandIOCGDataset, LaplandIOCG, "lapland_iocg", None),
}


@pytest.fixture(params=sorted(CASES))
def case(request, tmp_path, monkeypatch):
    dataset_cls, scene_cls, folder, fake = CASES[request.param]
    mirror = tmp_path / "mirror"
    if fake:
        load_generator(fake)(mirror / folder)
        monkeypatch.setattr(scene_cls, "files", fake_files(mirror, folder))
    else:
        require_raw()
        for raw in scene_cls.files:
            (mirror / raw.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(RAW_DIR / raw.path, mirror / raw.path)
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
    batch = next(iter(DataLoader(ds, batch_size=2)))
    assert batch["image"].shape[0] == min(2, len(ds))


def test_already_built_needs_no_download(case):
    dataset_cls, _, mirror, root = case
    dataset_cls(root=root, download=True, mirror=str(mirror))
    shutil.rmtree(mirror)
    shutil.rmtree(root / "raw")
    assert len(dataset_cls(root=root)) > 0


def test_not_downloaded(case):
    dataset_cls, *_, root = case
    with pytest.raises(DatasetNotFoundError, match="download=True"):
        dataset_cls(root=root)


def test_checksum_mismatch(case):
    dataset_cls, scene_cls, mirror, root = case
    victim = mirror / scene_cls.files[0].path
    victim.write_bytes(victim.read_bytes()[:-1] + b"\0")
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
    sample["prediction"] = sample["lowres_up"].clone()
    fig = ds.plot(sample, suptitle="test")
    assert len(fig.axes) >= 4
    matplotlib.pyplot.close(fig)


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


def test_datamodule():
    dm = FusionDataModule(
        SyntheticDataset, batch_size=4, task="synthetic/cu/s16/points", patch_size=64
    )
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch["image"].shape == (4, 7, 64, 64)
    dm.setup("test")
    assert len(dm.test_dataset) == len(dm.train_dataset)
    assert np.isfinite(
        batch["lowres_up"][batch["valid"].unsqueeze(1).expand_as(batch["lowres_up"])].numpy()
    ).all()
