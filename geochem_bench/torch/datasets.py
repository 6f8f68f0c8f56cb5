"""TorchGeo dataset classes and a data module over the benchmark's task folds.

:class:`FusionDataset` is a ``NonGeoDataset`` that tiles one task fold of a registered scene
into square patches: ``FusionDataset(scene="meuse")`` works for every scene of
:func:`geochem_bench.scenes.registry.scenes`, user surveys included (register them first with
:func:`geochem_bench.scenes.survey.register_survey`). The named classes (:class:`MeuseDataset`,
...) are that class bound to one scene. A dataset reads its scene through the same loader
as the harness (:func:`geochem_bench.scenes.registry.load_fold_scene`: a fold of a task on a
simulated scene reads its realisation; for tuning, use the task's ``/dev`` copy, e.g.
``task="synthetic/cu/s16/points/dev"``, which runs on the public dev realisations), and what
it yields follows
the protocol: the ``train`` and ``val`` splits hold only what a model may see in that fold;
only ``test`` holds the held-out values the fold is scored against. Every split tiles the
whole scene; the splits differ in their target keys.

A sample is a dict of tensors (``p``: patch size, ``s``: scale factor, ``C`` covariate
bands, ``E`` task elements):

* ``image`` (C, p, p): covariates, in the scene's units.
* ``valid`` (p, p), bool: cells where a prediction is needed (False off the scene's valid
  cells and in the padding beyond its edges).
* ``lowres`` (E, p/s, p/s): the coarse grid at its native size, natural units;
  ``lowres_mask`` (same shape, bool): coarse cells that hold a value.
* ``lowres_up`` (E, p, p): bicubic upsampling of the coarse grid (interpolated in each
  element's analysis space), natural units.
* ``mask`` (E, p, p): the regression target of a stock TorchGeo trainer
  (:class:`torchgeo.trainers.PixelwiseRegressionTask` reads ``image`` and ``mask``), in each
  element's **analysis space** (log10 for trace elements): the split's fine values where it
  has them (``test`` of a grid task: the exhaustive truth; points tasks: the split's samples)
  and the analysis-space ``lowres_up`` on the other valid cells, the finest field the split
  may show (``train`` and ``val`` of a grid task have no fine values: their ``mask`` is the
  upsampled lowres grid). The stock task predicts one channel: use it on a single-element
  task. Its metrics are not benchmark scores: score with the harness.
* ``target`` (E, p, p), ``test`` split of a grid task only: the exhaustive truth, natural
  units.
* ``sample_values`` (E, p, p), points tasks: samples rasterised onto the patch, natural
  units; ``sample_mask`` (E, p, p), bool: cells holding one. Training samples for ``train``,
  a spatial hold-out of them for ``val``, the fold's held-out samples for ``test``. On points
  tasks the ``lowres`` of ``train`` and ``val`` is built without the ``val`` samples, so a
  validation score means what a test score means (with them, a third of the val samples on
  synthetic ×16 equalled their own lowres cell).

Without transforms, ``image``, ``lowres_up``, ``mask`` and ``target`` are NaN off ``valid``,
``lowres`` where ``lowres_mask`` is False and ``sample_values`` where ``sample_mask`` is
False. The default transform, :class:`FillInvalid`, replaces every NaN by 0.0 so that a
stock trainer sees finite tensors; the masks tell where values are real.
:class:`FusionDataModule` standardises ``image`` with the statistics of the training split.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import kornia.augmentation as K
import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor, nn
from torchgeo.datamodules import NonGeoDataModule
from torchgeo.datasets import DatasetNotFoundError, NonGeoDataset

from geochem_bench.core.grid import points_block_mean
from geochem_bench.core.task import HeldOut, TaskInputs, TaskSpec
from geochem_bench.data.sources import default_root
from geochem_bench.errors import InvalidInputError, SceneNotFoundError
from geochem_bench.metrics.streaming import PairedMoments
from geochem_bench.models.upsampling import upsample_lowres
from geochem_bench.scenes.registry import get_task, load_fold_scene, scenes
from geochem_bench.tasks.protocols import build_fold, task_split

#: A per-sample transform: sample dict in, sample dict out.
Transform = Callable[[dict[str, Tensor]], dict[str, Tensor]]


class FillInvalid:
    """Replace NaN in every floating-point tensor of a sample by a fill value.

    The default transform of :class:`FusionDataset`. NaN marks cells without a value (off
    the scene's valid cells, in the padding beyond its edges, empty coarse cells, cells
    without a sample); a stock trainer turns one NaN into a NaN loss. Every NaN becomes
    ``fill`` (0.0 unless overridden per key), and the sample's masks tell where values are
    real: ``valid`` for ``image``, ``lowres_up``, ``mask`` and ``target``; ``lowres_mask`` for
    ``lowres``; ``sample_mask`` for ``sample_values``.

    Why 0.0: in natural units (``lowres``, ``lowres_up``, ``target``, ``sample_values``) a
    concentration of 0 is never data (it has no log10, and the analysis space maps it to
    NaN), so a filled cell cannot pass for a measurement. For ``image``, 0.0 is in the
    covariates' own units; :class:`FusionDataModule` sets ``image`` off ``valid`` to 0.0
    again after standardising, i.e. to the training mean of each band, which adds no
    signal. For ``mask`` (analysis space) the fill only lies off ``valid``, where no
    prediction is scored.

    Args:
        fill: value replacing NaN.
        fills: per-key values overriding ``fill``, e.g. ``{"image": -1.0}``.

    Example:
        ``FusionDataset(scene="synthetic", transforms=None)`` yields the raw NaN;
        ``transforms=FillInvalid(fills={"image": -1.0})`` another image fill.
    """

    def __init__(self, fill: float = 0.0, fills: Mapping[str, float] | None = None) -> None:
        self.fill = float(fill)
        self.fills = {key: float(value) for key, value in (fills or {}).items()}

    def __call__(self, sample: dict[str, Tensor]) -> dict[str, Tensor]:
        """A copy of ``sample`` whose floating-point tensors hold no NaN."""
        out = dict(sample)
        for key, value in sample.items():
            if isinstance(value, Tensor) and value.is_floating_point():
                fill = self.fills.get(key, self.fill)
                out[key] = torch.where(torch.isnan(value), torch.full_like(value, fill), value)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fill={self.fill!r}, fills={self.fills!r})"


#: The transform a dataset applies unless told otherwise.
DEFAULT_TRANSFORMS = FillInvalid()


class FusionDataset(NonGeoDataset):
    """Patches of one task fold of a registered scene (sample keys: see the module docstring).

    Args:
        root: data root of the scenes that are downloaded and built (default: the CLI's,
            ``$GEOCHEM_BENCH_DATA`` or ``~/.cache/geochem-bench``); ignored by the scenes
            that need no download (synthetic, user surveys).
        split: ``"train"``, ``"val"`` or ``"test"`` (see the module docstring).
        task: task id (default: the scene's first registered task); ``<id>/dev`` for the
            task on its scene's public dev realisations (tuning).
        fold: evaluation fold index of the task (a spatial fold of one realisation).
        patch_size: patch edge in fine cells, a multiple of the task's scale factor
            (default: 8 coarse cells).
        transforms: a function applied to each sample dict; the default,
            :class:`FillInvalid`, replaces NaN by 0.0. A function of yours replaces it
            (compose it with :class:`FillInvalid` to keep the fill); None yields raw NaN.
        download: download and build the scene if missing.
        checksum: verify raw and built files against their sha256.
        mirror: folder or base URL replacing the upstream hosts.
        scene: name of a registered scene (default: the class's ``scene``, else the scene of
            ``task``).

    Raises:
        DatasetNotFoundError: the scene is not in ``root`` and ``download`` is False.
        ValueError: an invalid split, scene, task, fold or patch size.
    """

    #: Scene of a named subclass (None: given by ``scene`` or ``task``).
    scene: ClassVar[str | None] = None
    valid_splits: ClassVar[tuple[str, ...]] = ("train", "val", "test")

    def __init__(
        self,
        root: str | Path | None = None,
        split: str = "train",
        task: str | None = None,
        fold: int = 0,
        patch_size: int | None = None,
        transforms: Transform | None = DEFAULT_TRANSFORMS,
        download: bool = False,
        checksum: bool = False,
        mirror: str | None = None,
        *,
        scene: str | None = None,
    ) -> None:
        if split not in self.valid_splits:
            raise InvalidInputError(f"split must be one of {self.valid_splits}, got {split!r}")
        self.root = Path(root) if root is not None else default_root()
        self.split = split
        self.download = download
        self.checksum = checksum
        self.transforms = transforms
        self.scene_name = self._resolve_scene(scene, task)
        entry = scenes()[self.scene_name]
        if task is None:
            if not entry.tasks:
                raise InvalidInputError(f"scene {self.scene_name!r} has no registered task")
            task = entry.tasks[0].id
        self.task: TaskSpec = get_task(task)  # of this scene: _resolve_scene checked it
        patch_size = patch_size or 8 * self.task.scale
        if patch_size % self.task.scale:
            raise InvalidInputError(
                f"patch_size {patch_size} must be a multiple of the scale factor {self.task.scale}"
            )
        self.patch_size = patch_size
        options: dict[str, Any] = {}
        if entry.needs_download:
            options = {
                "root": self.root,
                "download": download,
                "checksum": checksum,
                "mirror": mirror,
            }
        try:
            loaded = load_fold_scene(self.task, fold, **options)
        except SceneNotFoundError as exc:
            raise DatasetNotFoundError(self) from exc
        inputs, held_out = build_fold(loaded, self.task, fold)
        self.inputs, self.fold = inputs, fold
        shown = self._lowres_inputs(loaded, inputs)
        self._lowres = shown.lowres  # the coarse grid this split may show
        self._fields = self._assemble(loaded, inputs, held_out, shown)
        height, width = inputs.grid.shape
        p = patch_size
        corners = [(r, c) for r in range(0, height, p) for c in range(0, width, p)]
        self._corners = [(r, c) for r, c in corners if inputs.valid[r : r + p, c : c + p].any()]

    def _resolve_scene(self, scene: str | None, task: str | None) -> str:
        known = scenes()
        candidates = {
            "scene": scene,
            f"{type(self).__name__}.scene": type(self).scene,
            "task": get_task(task).scene if task is not None else None,
        }
        named = {source: name for source, name in candidates.items() if name is not None}
        if not named:
            raise InvalidInputError(
                f"{type(self).__name__} needs a scene or a task; scenes: {sorted(known)}"
            )
        name = next(iter(named.values()))
        if len(set(named.values())) > 1:
            tasks = [t.id for t in known[name].tasks] if name in known else []
            raise InvalidInputError(f"scene and task disagree: {named}; {name} tasks: {tasks}")
        if name not in known:
            raise InvalidInputError(
                f"unknown scene {name!r}; registered scenes: {sorted(known)} (register a "
                "survey with geochem_bench.scenes.survey.register_survey)"
            )
        return name

    def _assemble(
        self, scene: Any, inputs: TaskInputs, held_out: HeldOut, shown: TaskInputs
    ) -> dict[str, NDArray[np.float32]]:
        lowres_up = upsample_lowres(shown, "bicubic")
        fields: dict[str, NDArray[np.float32]] = {
            "image": np.where(inputs.valid, inputs.covariates, np.nan).astype(np.float32),
            "lowres_up": lowres_up,
            "valid": inputs.valid.astype(np.float32),
        }
        if self.task.protocol == "grid":
            fine = None
            if self.split == "test":
                assert held_out.truth is not None
                fine = fields["target"] = held_out.truth.astype(np.float32)
        else:
            fine = fields["sample_values"] = self._sample_raster(scene, inputs, held_out)
            fields["sample_mask"] = np.isfinite(fine).astype(np.float32)
        fields["mask"] = self._regression_target(inputs, lowres_up, fine)
        return fields

    def _sample_raster(
        self, scene: Any, inputs: TaskInputs, held_out: HeldOut
    ) -> NDArray[np.float32]:
        """The split's samples on the fine grid (E, H, W), natural units, NaN elsewhere."""
        values = np.full(inputs.output_shape, np.nan, dtype=np.float32)
        symbols = [e.symbol for e in inputs.elements]
        if self.split == "test":
            assert held_out.rows is not None and held_out.cols is not None
            assert held_out.values is not None
            rows, cols, table = held_out.rows, held_out.cols, held_out.values
        else:
            pts = inputs.points
            assert pts is not None
            rows, cols = inputs.grid.cell_of(pts.x, pts.y)
            table = pts.values[:, [pts.index(s) for s in symbols]]
            keep = self._val_rows(scene, pts.ids)
            if self.split == "train":
                keep = ~keep
            rows, cols, table = rows[keep], cols[keep], table[keep]
        for e in range(len(symbols)):
            ok = np.isfinite(table[:, e])
            values[e, rows[ok], cols[ok]] = table[ok, e]  # last sample wins in a shared cell
        return values

    @staticmethod
    def _regression_target(
        inputs: TaskInputs,
        lowres_up: NDArray[np.float32],
        fine: NDArray[np.float32] | None,
    ) -> NDArray[np.float32]:
        """``mask``: fine values where known, else the upsampled lowres, analysis space."""
        out = np.full(inputs.output_shape, np.nan, dtype=np.float32)
        for e, element in enumerate(inputs.elements):
            band = element.to_analysis(lowres_up[e])
            if fine is not None:
                known = element.to_analysis(fine[e])
                band = np.where(np.isfinite(known), known, band)
            out[e] = np.where(inputs.valid, band, np.nan)
        return out

    def _lowres_inputs(self, scene: Any, inputs: TaskInputs) -> TaskInputs:
        """The inputs whose lowres this split may show.

        ``test`` shows the fold's lowres, built from every training sample, as a model sees it.
        ``train`` and ``val`` show a lowres built without the validation samples: with them, a
        validation sample alone in its coarse cell would equal its own lowres value, and
        early stopping or model selection on ``val`` would reward copying the lowres.
        """
        if self.task.protocol == "grid" or self.split == "test" or inputs.points is None:
            return inputs
        pts = inputs.points
        targets = tuple(e.symbol for e in inputs.elements)
        without_val = pts.with_hidden(targets, self._val_rows(scene, pts.ids))
        values = without_val.values[:, [without_val.index(s) for s in targets]]
        lowres, count = points_block_mean(inputs.lowres_grid, pts.x, pts.y, values)
        return dataclasses.replace(inputs, lowres=lowres, lowres_count=count, points=without_val)

    def _val_rows(self, scene: Any, visible_ids: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Training samples set aside for validation: those of the next spatial fold's blocks.

        The next spatial fold of the same realisation: the fold's scene holds only its own.
        """
        split = task_split(scene, self.task)
        if split.n_folds < 2:
            return np.zeros(len(visible_ids), dtype=bool)
        _, spatial = self.task.unit(self.fold)
        next_fold = (spatial + 1) % split.n_folds
        val_ids = split.sample_ids[split.test_mask(next_fold)]
        return np.isin(visible_ids, val_ids)

    def __len__(self) -> int:
        """Number of patches with at least one valid cell."""
        return len(self._corners)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        """One patch as a dict of tensors (see the module docstring), transformed."""
        r, c = self._corners[index]
        p, s = self.patch_size, self.task.scale
        sample = {key: torch.from_numpy(_crop(a, r, c, p)) for key, a in self._fields.items()}
        sample["valid"] = sample["valid"][0] > 0.5
        lowres = torch.from_numpy(_crop(self._lowres, r // s, c // s, p // s))
        sample["lowres"] = lowres
        sample["lowres_mask"] = torch.isfinite(lowres)
        if "sample_mask" in sample:
            sample["sample_mask"] = sample["sample_mask"] > 0.5
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample

    def plot(
        self, sample: dict[str, Tensor], show_titles: bool = True, suptitle: str | None = None
    ) -> Any:
        """Plot a sample: covariates RGB, lowres, truth or samples, and ``prediction``.

        Fields are drawn in analysis space, on a common colour scale, blank where their mask
        says there is no value (filled or NaN alike).

        Args:
            sample: a sample from ``__getitem__``, optionally with a ``prediction`` in the
                space of ``mask`` (analysis space), (E, p, p) or (p, p) (a stock TorchGeo
                trainer's output).
            show_titles: title each panel.
            suptitle: figure title.

        Returns:
            The matplotlib figure.
        """
        import matplotlib.pyplot as plt

        from geochem_bench.tasks.plotting import rgb_band_indices, stretch_rgb

        element = self.inputs.elements[0]
        valid = sample["valid"].numpy().astype(bool)

        def first(key: str) -> NDArray[np.float64]:
            array = sample[key].detach().cpu().numpy().astype(np.float64)
            return array[0] if array.ndim == 3 else array

        def natural(key: str, where: NDArray[np.bool_]) -> NDArray[np.float64]:
            return np.where(where, element.to_analysis(first(key)), np.nan)

        image = sample["image"].numpy()[rgb_band_indices(self.inputs.band_names)]
        panels: list[tuple[str, NDArray[np.float64], bool]] = [
            ("covariates", stretch_rgb(np.where(valid, image, np.nan)), True),
            (f"lowres {element.symbol}", natural("lowres_up", valid), False),
        ]
        if "target" in sample:
            panels.append((f"truth {element.symbol}", natural("target", valid), False))
        if "sample_values" in sample:
            where = sample["sample_mask"].numpy()[0].astype(bool)
            panels.append((f"samples {element.symbol}", natural("sample_values", where), False))
        if "prediction" in sample:
            prediction = np.where(valid, first("prediction"), np.nan)
            panels.append((f"prediction {element.symbol}", prediction, False))
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


# One named class per built-in scene, for discoverability; all behaviour is FusionDataset's
# and the registry's (tests check that every built-in scene has one).


class SyntheticDataset(FusionDataset):
    """:class:`FusionDataset` of the ``synthetic`` scene (generated, no download)."""

    scene = "synthetic"


class OlindaDataset(FusionDataset):
    """:class:`FusionDataset` of the ``olinda`` scene."""

    scene = "olinda"


class WalkerLakeDataset(FusionDataset):
    """:class:`FusionDataset` of the ``walker-lake`` scene."""

    scene = "walker-lake"


class MeuseDataset(FusionDataset):
    """:class:`FusionDataset` of the ``meuse`` scene."""

    scene = "meuse"


class LaplandIOCGDataset(FusionDataset):
    """:class:`FusionDataset` of the ``lapland-iocg`` scene."""

    scene = "lapland-iocg"


class JuraDataset(FusionDataset):
    """:class:`FusionDataset` of the ``jura`` scene."""

    scene = "jura"


class SirSamuelRadiometricsDataset(FusionDataset):
    """:class:`FusionDataset` of the ``sir-samuel-radiometrics`` scene."""

    scene = "sir-samuel-radiometrics"


class SirSamuelDataset(FusionDataset):
    """:class:`FusionDataset` of the ``sir-samuel`` scene."""

    scene = "sir-samuel"


class LaplandRadiometricsDataset(FusionDataset):
    """:class:`FusionDataset` of the ``lapland-radiometrics`` scene."""

    scene = "lapland-radiometrics"


def band_statistics(dataset: FusionDataset) -> tuple[Tensor, Tensor]:
    """Per-band mean and standard deviation of ``image`` over the valid cells of a dataset.

    Patches tile the scene without overlap, so every cell counts once. A band without
    spread gets a standard deviation of 1.

    Args:
        dataset: the dataset whose samples are read (with its transforms).

    Returns:
        ``(mean, std)``, float32 tensors of shape (C,).
    """
    if len(dataset) == 0:
        raise InvalidInputError("the dataset is empty: no statistics")
    # The package's one streaming moment engine (Chan et al. merges, never E[x^2] - E[x]^2);
    # a band is paired with itself, so the truth-side moments are the band's.
    bands: list[PairedMoments] | None = None
    for i in range(len(dataset)):
        sample = dataset[i]
        image = sample["image"].double().flatten(1).numpy()
        keep = sample["valid"].flatten().numpy()[None] & np.isfinite(image)
        parts = [PairedMoments.of(band[k], band[k]) for band, k in zip(image, keep)]
        bands = parts if bands is None else [a.merge(b) for a, b in zip(bands, parts)]
    assert bands is not None
    mean = torch.tensor([b.mean_t if b.n else 0.0 for b in bands], dtype=torch.float64)
    std = torch.tensor([math.sqrt(b.var_t) if b.n else 0.0 for b in bands], dtype=torch.float64)
    std = torch.where(std > 0, std, 1.0)
    return mean.float(), std.float()


class _Standardise(nn.Module):
    """Kornia normalisation of ``image``, then 0 (the training mean) off ``valid``."""

    def __init__(self, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        self.normalize = K.AugmentationSequential(
            K.Normalize(mean=mean, std=std), data_keys=None, keepdim=True
        )

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        batch = self.normalize(batch)
        if "valid" in batch:
            valid = batch["valid"].unsqueeze(1).to(batch["image"].device)
            batch["image"] = batch["image"].masked_fill(~valid, 0.0)
        return batch


class FusionDataModule(NonGeoDataModule):
    """A Lightning data module over the patches of one task fold of a registered scene.

    ``image`` is standardised per band after the batch reaches the device (torchgeo's
    ``on_after_batch_transfer`` with ``kornia.augmentation.Normalize``), with the mean and
    standard deviation of the valid cells of the **training split** only, computed in
    ``setup`` (``setup("fit")``, or any stage that runs first), then set to 0 off ``valid``.
    ``mean`` and ``std`` go into the module's ``state_dict``, hence into checkpoints.

    Args:
        scene: a registered scene name (default: the scene of ``task``).
        batch_size: patches per batch.
        num_workers: data loader workers.
        dataset_class: the dataset class (a :class:`FusionDataset` subclass of yours).
        **kwargs: passed to the dataset (root, task, fold, patch_size, transforms, download,
            checksum, mirror).
    """

    def __init__(
        self,
        scene: str | None = None,
        batch_size: int = 8,
        num_workers: int = 0,
        dataset_class: type[FusionDataset] = FusionDataset,
        **kwargs: Any,
    ) -> None:
        if scene is not None:
            kwargs["scene"] = scene
        super().__init__(dataset_class, batch_size, num_workers, **kwargs)
        self.fusion_dataset_class = dataset_class
        self.statistics: tuple[Tensor, Tensor] | None = None

    def setup(self, stage: str) -> None:
        """Build the stage's datasets; compute the statistics from the training split once.

        Args:
            stage: ``"fit"``, ``"validate"``, ``"test"`` or ``"predict"``.
        """
        super().setup(stage)
        if self.statistics is None:
            train = self.train_dataset or self.fusion_dataset_class(split="train", **self.kwargs)
            assert isinstance(train, FusionDataset)
            self._set_statistics(*band_statistics(train))

    def _set_statistics(self, mean: Tensor, std: Tensor) -> None:
        self.statistics = (mean, std)
        self.mean, self.std = mean, std
        self.aug = _Standardise(mean, std)

    def state_dict(self) -> dict[str, Any]:
        """The training statistics (``mean``, ``std``), once computed."""
        if self.statistics is None:
            return {}
        return {"mean": self.statistics[0].tolist(), "std": self.statistics[1].tolist()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the training statistics of :meth:`state_dict`."""
        if "mean" in state_dict:
            self._set_statistics(torch.tensor(state_dict["mean"]), torch.tensor(state_dict["std"]))
