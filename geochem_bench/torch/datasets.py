"""TorchGeo dataset classes and a data module over the benchmark's task folds.

One class per scene, all built on :class:`FusionDataset`: a ``NonGeoDataset`` that tiles a
task fold into square patches. It reads the scene through the same loader as the harness
(:func:`geochem_bench.scenes.registry.load_scene`), and what it yields follows the protocol: the
``train`` and ``val`` splits hold only what a model may see in that fold; only ``test`` holds
the held-out values the fold is scored against.

A sample is a dict of tensors:

* ``image``: covariates (C, p, p), NaN outside the scene or off its valid cells;
* ``lowres``: the coarse grid at native size (E, p/s, p/s), natural units, NaN where empty;
* ``lowres_up``: bicubic upsampling of the coarse grid in analysis space (E, p, p);
* ``valid``: cells where a prediction is needed (p, p);
* ``target``: ``test`` split of a grid task: the exhaustive truth (E, p, p);
* ``sample_values`` / ``sample_mask``: point tasks: samples rasterised onto the patch
  (E, p, p); training samples for ``train``, a spatial hold-out of them for ``val``, the
  fold's held-out samples for ``test``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from numpy.typing import NDArray
from torchgeo.datamodules import NonGeoDataModule
from torchgeo.datasets import DatasetNotFoundError, NonGeoDataset

from geochem_bench.core.task import TaskSpec
from geochem_bench.errors import InvalidInputError, SceneNotFoundError
from geochem_bench.models.upsampling import upsample_lowres
from geochem_bench.scenes.registry import get_task, list_tasks, load_scene
from geochem_bench.tasks.protocols import build_fold, task_split


class FusionDataset(NonGeoDataset):
    """Patches of one task fold of a scene.

    Subclasses set ``scene_name`` and ``default_task``.

    Args:
        root: data root of the real scenes (ignored by the synthetic scene).
        split: ``"train"``, ``"val"`` or ``"test"`` (see the module docstring).
        task: task id (default: the class's ``default_task``).
        fold: fold index of the task.
        patch_size: patch edge in fine cells, a multiple of the task's scale factor
            (default: 8 coarse cells).
        transforms: a function applied to each sample dict.
        download: download and build the scene if missing.
        checksum: verify raw and built files against their sha256.
        mirror: folder or base URL replacing the upstream hosts.

    Raises:
        DatasetNotFoundError: the scene is not in ``root`` and ``download`` is False.
        ValueError: an invalid split, task, fold or patch size.
    """

    scene_name: ClassVar[str]
    default_task: ClassVar[str]
    valid_splits: ClassVar[tuple[str, ...]] = ("train", "val", "test")

    def __init__(
        self,
        root: str | Path = "data",
        split: str = "train",
        task: str | None = None,
        fold: int = 0,
        patch_size: int | None = None,
        transforms: Any = None,
        download: bool = False,
        checksum: bool = False,
        mirror: str | None = None,
    ) -> None:
        if split not in self.valid_splits:
            raise InvalidInputError(f"split must be one of {self.valid_splits}, got {split!r}")
        self.root = root
        self.split = split
        self.download = download
        self.checksum = checksum
        self.transforms = transforms
        self.task: TaskSpec = get_task(task or self.default_task)
        if self.task.scene != self.scene_name:
            choices = [t.id for t in list_tasks([f"{self.scene_name}/*"])]
            raise InvalidInputError(
                f"task {self.task.id} is not a {self.scene_name} task; choose from {choices}"
            )
        patch_size = patch_size or 8 * self.task.scale
        if patch_size % self.task.scale:
            raise InvalidInputError(
                f"patch_size {patch_size} must be a multiple of the scale factor {self.task.scale}"
            )
        self.patch_size = patch_size
        options: dict[str, Any] = {}
        if self.scene_name != "synthetic":
            options = {"root": root, "download": download, "checksum": checksum, "mirror": mirror}
        try:
            scene = load_scene(self.scene_name, **options)
        except SceneNotFoundError as exc:
            raise DatasetNotFoundError(self) from exc
        inputs, held_out = build_fold(scene, self.task, fold)
        self.inputs, self.fold = inputs, fold
        self._fields = self._assemble(scene, inputs, held_out)
        height, width = inputs.grid.shape
        p = patch_size
        corners = [(r, c) for r in range(0, height, p) for c in range(0, width, p)]
        self._corners = [(r, c) for r, c in corners if inputs.valid[r : r + p, c : c + p].any()]

    def _assemble(self, scene: Any, inputs: Any, held_out: Any) -> dict[str, NDArray[np.float32]]:
        shape = inputs.output_shape
        fields: dict[str, NDArray[np.float32]] = {
            "image": np.where(inputs.valid, inputs.covariates, np.nan).astype(np.float32),
            "lowres_up": upsample_lowres(inputs, "bicubic"),
            "valid": inputs.valid.astype(np.float32),
        }
        if self.task.protocol == "grid":
            if self.split == "test":
                fields["target"] = held_out.truth.astype(np.float32)
            return fields
        values = np.full(shape, np.nan, dtype=np.float32)
        symbols = [e.symbol for e in inputs.elements]
        if self.split == "test":
            rows, cols, table = held_out.rows, held_out.cols, held_out.values
        else:
            pts = inputs.points
            rows, cols = inputs.grid.cell_of(pts.x, pts.y)
            table = pts.values[:, [pts.index(s) for s in symbols]]
            keep = self._val_rows(scene, pts.ids)
            if self.split == "train":
                keep = ~keep
            rows, cols, table = rows[keep], cols[keep], table[keep]
        for e in range(len(symbols)):
            ok = np.isfinite(table[:, e])
            values[e, rows[ok], cols[ok]] = table[ok, e]  # last sample wins in a shared cell
        fields["sample_values"] = values
        fields["sample_mask"] = np.isfinite(values).astype(np.float32)
        return fields

    def _val_rows(self, scene: Any, visible_ids: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Training samples set aside for validation: those of the next fold's blocks."""
        split = task_split(scene, self.task)
        if split.n_folds < 2:
            return np.zeros(len(visible_ids), dtype=bool)
        next_fold = (self.fold + 1) % split.n_folds
        val_ids = split.sample_ids[split.test_mask(next_fold)]
        return np.isin(visible_ids, val_ids)

    def __len__(self) -> int:
        """Number of patches with at least one valid cell."""
        return len(self._corners)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        """One patch as a dict of tensors (NaN-padded at the scene edges)."""
        r, c = self._corners[index]
        p, s = self.patch_size, self.task.scale
        sample = {key: torch.from_numpy(_crop(a, r, c, p)) for key, a in self._fields.items()}
        sample["valid"] = (
            sample["valid"][0] > 0.5 if sample["valid"].ndim == 3 else sample["valid"] > 0.5
        )
        lowres = _crop(self.inputs.lowres, r // s, c // s, p // s)
        sample["lowres"] = torch.from_numpy(lowres)
        if "sample_mask" in sample:
            sample["sample_mask"] = sample["sample_mask"] > 0.5
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample

    def plot(
        self, sample: dict[str, torch.Tensor], show_titles: bool = True, suptitle: str | None = None
    ) -> Any:
        """Plot a sample: covariates RGB, lowres, target or samples, and ``prediction`` if present.

        Args:
            sample: a sample from ``__getitem__``, optionally with a ``prediction`` (E, p, p).
            show_titles: title each panel.
            suptitle: figure title.

        Returns:
            The matplotlib figure.
        """
        import matplotlib.pyplot as plt

        from geochem_bench.tasks.plotting import rgb_band_indices, stretch_rgb

        element = self.inputs.elements[0]
        rgb_idx = rgb_band_indices(self.inputs.band_names)
        panels: list[tuple[str, NDArray[np.float64], bool]] = [
            ("covariates", stretch_rgb(sample["image"].numpy()[rgb_idx]), True),
            (
                f"lowres {element.symbol}",
                element.to_analysis(sample["lowres_up"].numpy()[0]),
                False,
            ),
        ]
        if "target" in sample:
            panels.append(
                (f"truth {element.symbol}", element.to_analysis(sample["target"].numpy()[0]), False)
            )
        if "sample_values" in sample:
            panels.append(
                (
                    f"samples {element.symbol}",
                    element.to_analysis(sample["sample_values"].numpy()[0]),
                    False,
                )
            )
        if "prediction" in sample:
            panels.append(
                (
                    f"prediction {element.symbol}",
                    element.to_analysis(sample["prediction"].numpy()[0]),
                    False,
                )
            )
        fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), squeeze=False)
        finite = [p for _, p, rgb in panels if not rgb and np.isfinite(p).any()]
        vmin = min(float(np.nanmin(p)) for p in finite) if finite else 0.0
        vmax = max(float(np.nanmax(p)) for p in finite) if finite else 1.0
        for ax, (title, array, rgb) in zip(axes[0], panels):
            if rgb:
                ax.imshow(array)
            else:
                ax.imshow(array, vmin=vmin, vmax=vmax, cmap="viridis", interpolation="nearest")
            ax.axis("off")
            if show_titles:
                ax.set_title(title, fontsize=9)
        if suptitle:
            fig.suptitle(suptitle)
        return fig


def _crop(array: NDArray[Any], r: int, c: int, p: int) -> NDArray[np.float32]:
    a = array if array.ndim == 3 else array[None]
    out = np.full((a.shape[0], p, p), np.nan, dtype=np.float32)
    part = a[:, r : r + p, c : c + p]
    out[:, : part.shape[1], : part.shape[2]] = part
    return out


class SyntheticDataset(FusionDataset):
    """The procedural synthetic scene (no download)."""

    scene_name = "synthetic"
    default_task = "synthetic/all/s8/grid"


class OlindaDataset(FusionDataset):
    """Olinda: real Landsat 7 + DEM, simulated geochemistry (grid protocol)."""

    scene_name = "olinda"
    default_task = "olinda/all/s8/grid"


class WalkerLakeDataset(FusionDataset):
    """Walker Lake: V guided by U (grid protocol)."""

    scene_name = "walker-lake"
    default_task = "walker-lake/v/s10/grid"


class MeuseDataset(FusionDataset):
    """Meuse: floodplain heavy metals (points protocol)."""

    scene_name = "meuse"
    default_task = "meuse/zn/s10/points"


class LaplandIOCGDataset(FusionDataset):
    """Lapland IOCG: regional till geochemistry at ~2 km (points and transfer)."""

    scene_name = "lapland-iocg"
    default_task = "lapland-iocg/cu/s40/points"


class JuraDataset(FusionDataset):
    """Jura: Swiss topsoil heavy metals, official 259/100 split."""

    scene_name = "jura"
    default_task = "jura/cd/s10/points"


class FusionDataModule(NonGeoDataModule):
    """A Lightning data module over a :class:`FusionDataset` subclass.

    Args:
        dataset_class: e.g. :class:`MeuseDataset`.
        batch_size: patches per batch.
        num_workers: data loader workers.
        **kwargs: passed to the dataset (root, task, fold, patch_size, download, ...).
    """

    def __init__(
        self,
        dataset_class: type[FusionDataset],
        batch_size: int = 8,
        num_workers: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(dataset_class, batch_size, num_workers, **kwargs)
