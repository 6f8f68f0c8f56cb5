"""The reference fusion CNN (0.4.0: re-specified in issue 14).

Our reference implementation of the approach of Bai, Zhao, Yu & Shao (IEEE JSTARS
18:1212-1225, 2025), whose architecture is not public. It keeps the paper's ideas (residual
fusion of high-resolution remote sensing with low-resolution geochemistry, mixed-resolution
augmentation with one mapping, transfer across elements) on a geostatistical base:

* **Base surface**: on grid tasks area-to-point kriging (ATPK,
  :class:`~geochem_bench.models.area_to_point.AreaToPointKriging`) of the lowres block means;
  on points and transfer tasks ordinary kriging of the training samples
  (:func:`~geochem_bench.models.kriging.fit_ordinary_kriging`). The network learns a residual
  over it in the element's analysis space. ``base="bicubic"`` is the 0.3.0 base (bicubic of
  the lowres grid), kept for the ablation.
* **Learned covariate support** (:class:`SupportStem`): every covariate band is smoothed by a
  Gaussian whose width per band is a trainable parameter before the residual head sees it.
  The coarse training pairs see the *block means of the same smoothed covariates*, so the
  mapping learned between block means is the mapping applied to fine cells (a relation that
  holds cell by cell holds between block means of both sides, not between block means and
  raw fine detail).
* **Pretraining on dev realisations** (:mod:`geochem_bench.models.fusion_cnn_pretraining`):
  fine-truth pairs (ATPK of the truth's block means at x4, x8, x16 mixed in every batch ->
  the truth) on dev realisations of the synthetic generator only; test realisations are
  refused in code. The weights ship with the package (``resources/weights``, sha256-checked)
  and are used where a task's covariate bands are the generator's.
* **Self-supervised fine-tuning on the fold's own inputs**: on grid tasks Wald pairs (the
  lowres grid degraded by f = 2..f_max in natural units, kriged back onto the lowres grid by
  ATPK, with block means of the stem's output as covariates; factors mixed in every batch)
  plus a full-resolution consistency loss on natural-unit block means; on points tasks the
  squared error at training samples, each against a base kriged *without* it (out-of-fold),
  or the network would learn that kriging already honours its own data.
* **Consistency**: on grid tasks a final natural-unit back-projection
  (:func:`~geochem_bench.models.upsampling.back_project`) makes the output's block means equal
  the lowres grid. None on point protocols, whose lowres cells are means of one to four
  noisy samples.
* **Transfer across elements**: the network is element-agnostic. On transfer tasks it is
  trained on the covariable elements (known at every site) and fine-tuned on the target with
  the feature layers frozen; ``transfer=False`` is the ablation.
* Training runs with Lightning: seeded and deterministic, CPU by default, ``accelerator`` /
  ``devices`` / ``strategy="ddp"`` for GPUs, a progress bar, optional checkpoints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.utils.data import DataLoader, Dataset

from geochem_bench.core.grid import block_mean, fill_nearest
from geochem_bench.core.task import TaskInputs
from geochem_bench.errors import InvalidInputError
from geochem_bench.models.base import FusionModel
from geochem_bench.models.upsampling import (
    back_project,
    fill_empty_cells,
    upsample,
    upsample_lowres,
)

#: Largest Gaussian width (fine cells) the support stem may learn; fixes its halo.
MAX_SIGMA = 8.0


class SupportStem(nn.Module):
    """Depthwise Gaussian smoothing of each covariate band, with a trainable width per band.

    The input carries a halo of :attr:`halo` cells on each side (a 'valid' convolution), so a
    crop with its halo gives exactly the cells of the whole-scene result. The width is
    parametrised by its logarithm and clamped to ``[0.3, MAX_SIGMA]`` cells.

    Args:
        n_bands: covariate bands.
        sigma: initial width in fine cells (ATPRK's dev-chosen smoothing, 2 cells).
    """

    def __init__(self, n_bands: int, sigma: float = 2.0) -> None:
        super().__init__()
        self.log_sigma = nn.Parameter(torch.full((n_bands,), math.log(sigma)))
        self.halo = math.ceil(3 * MAX_SIGMA)

    def sigma(self) -> torch.Tensor:
        """The current width of each band (fine cells)."""
        return self.log_sigma.exp().clamp(0.3, MAX_SIGMA)

    def forward(self, covariates: torch.Tensor) -> torch.Tensor:
        """(B, C, H + 2 halo, W + 2 halo) -> (B, C, H, W)."""
        taps = torch.arange(-self.halo, self.halo + 1, dtype=covariates.dtype)
        kernel = torch.exp(-0.5 * (taps[None, :] / self.sigma()[:, None]) ** 2)
        kernel = (kernel / kernel.sum(dim=1, keepdim=True)).to(covariates.dtype)
        c = covariates.shape[1]
        out = nn.functional.conv2d(covariates, kernel[:, None, :, None], groups=c)
        return nn.functional.conv2d(out, kernel[:, None, None, :], groups=c)


class ResidualFusionNet(nn.Module):
    """Support stem, conv body and residual head: (base, covariates, mask) -> base + correction.

    Args:
        n_covariates: covariate bands.
        width: channels of the conv body.
        blocks: conv layers in the body.
        support_stem: smooth the covariates with a :class:`SupportStem` (False: as given, the
            ablation; the halo is then 0).
    """

    def __init__(
        self, n_covariates: int, width: int = 32, blocks: int = 4, support_stem: bool = True
    ) -> None:
        super().__init__()
        self.support: SupportStem | None = SupportStem(n_covariates) if support_stem else None
        self.stem = nn.Sequential(nn.Conv2d(n_covariates + 2, width, 3, padding=1), nn.ReLU())
        layers: list[nn.Module] = []
        for _ in range(blocks):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1, 3, padding=1)
        # Zero-initialised head: training starts from the base surface, not from noise.
        nn.init.zeros_(self.head.weight)
        if self.head.bias is not None:
            nn.init.zeros_(self.head.bias)

    @property
    def halo(self) -> int:
        """Fine cells of covariate context the support stem needs on each side."""
        return self.support.halo if self.support is not None else 0

    def features(
        self, covariates: torch.Tensor, valid: torch.Tensor, pool: int = 1
    ) -> torch.Tensor:
        """Covariates with halo (B, C, H + 2 halo, ...) -> their support, block-averaged.

        ``valid`` (B, 1, H, W) marks the fine cells that count; ``pool`` > 1 returns the mean
        over each ``pool`` x ``pool`` block's valid cells (the covariates of a coarse level).
        """
        smooth = self.support(covariates) if self.support is not None else covariates
        if pool == 1:
            return smooth * valid
        total = nn.functional.avg_pool2d(smooth * valid, pool)
        weight = nn.functional.avg_pool2d(valid, pool)
        return total / weight.clamp(min=1e-6)

    def residual(
        self, base: torch.Tensor, features: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """``base`` (B,1,H,W) plus the correction from ``features`` (B,C,H,W) and ``mask``."""
        hidden = self.stem(torch.cat([base, features, mask], dim=1))
        return base + self.head(hidden + self.body(hidden))

    def forward(
        self, base: torch.Tensor, covariates: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Full resolution: ``covariates`` carry the halo; ``mask`` (B,1,H,W) is valid."""
        return self.residual(base, self.features(covariates, mask), mask)

    def freeze_features(self) -> None:
        """Freeze everything but the output layer (fine-tuning for a new element)."""
        modules: list[nn.Module] = [self.stem, self.body]
        if self.support is not None:
            modules.append(self.support)
        for module in modules:
            for p in module.parameters():
                p.requires_grad_(False)


@dataclass
class ElementData:
    """One element's training material, in normalised analysis space.

    Attributes:
        coarse: lowres grid, filled (h, w).
        coarse_known: cells with data (h, w).
        base: the base surface on the fine grid (H, W).
        rows: fine rows of the training samples (points protocols).
        cols: fine columns of the training samples.
        values: normalised sample values.
        sample_base: the base at each training sample, kriged without that sample (N,);
            the point loss's input there.
        oof_base: out-of-fold bases on the fine grid (K, H, W); sample ``i`` belongs to
            fold ``sample_fold[i]``.
        sample_fold: fold of each sample.
        wald: Wald bases on the lowres grid, by degradation factor.
        mean: normalisation mean (analysis space).
        std: normalisation standard deviation.
        log10: analysis space is log10 (natural units = 10 ** analysis).
        truth: fine truth (H, W), NaN off the mask: only for pretraining on dev realisations.
    """

    coarse: NDArray[np.float32]
    coarse_known: NDArray[np.bool_]
    base: NDArray[np.float32]
    mean: float
    std: float
    log10: bool = True
    rows: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    cols: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    values: NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    oof_base: NDArray[np.float32] | None = None
    sample_fold: NDArray[np.intp] | None = None
    wald: dict[int, NDArray[np.float32]] = field(default_factory=dict)
    truth: NDArray[np.float32] | None = None

    def natural(self, normalised: NDArray[np.floating]) -> NDArray[np.float64]:
        """Normalised analysis-space values back to natural units."""
        analysis = np.asarray(normalised, dtype=np.float64) * self.std + self.mean
        return np.power(10.0, analysis) if self.log10 else analysis

    def normalised(self, analysis: NDArray[np.floating]) -> NDArray[np.float32]:
        """Analysis-space values normalised, NaN kept."""
        return ((np.asarray(analysis, dtype=np.float64) - self.mean) / self.std).astype(np.float32)


@dataclass
class Scene:
    """The fine-grid material every element of one fold (or dev realisation) shares.

    Attributes:
        covariates: standardised covariates, edge-padded by the stem's halo (C, H+2p, W+2p).
        valid: valid fine cells (H, W).
        scale: lowres scale factor.
        elements: the elements' training material.
    """

    covariates: NDArray[np.float32]
    valid: NDArray[np.bool_]
    scale: int
    elements: list[ElementData]


class _Batches(Dataset[list[dict[str, Any]]]):
    """Random training examples, seeded by step index: reproducible.

    Each item is a list of examples; an example is a dict with the arrays of one crop and
    its kind (``wald``, ``consistency``, ``points``, ``truth``), collated by the module.
    """

    def __init__(
        self,
        scenes: list[Scene],
        kinds: dict[str, int],
        steps: int,
        crop: int,
        fine_crop: int,
        halo: int,
        seed: int,
    ) -> None:
        self.scenes, self.kinds, self.steps = scenes, kinds, steps
        self.crop, self.fine_crop, self.halo, self.seed = crop, fine_crop, halo, seed

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int) -> list[dict[str, Any]]:
        rng = np.random.default_rng([self.seed, index])
        out = []
        for kind, count in self.kinds.items():
            for _ in range(count):
                scene = self.scenes[int(rng.integers(len(self.scenes)))]
                example = getattr(self, f"_{kind}")(scene, rng)
                if example is not None:
                    out.append(example | {"kind": kind})
        return out

    def _fine_window(
        self, scene: Scene, r: int, q: int, p: int
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """Covariates with halo and the valid mask of fine window (r, q, p x p)."""
        cov = scene.covariates[:, r : r + p + 2 * self.halo, q : q + p + 2 * self.halo]
        return cov, scene.valid[None, r : r + p, q : q + p].astype(np.float32)

    def _wald(self, scene: Scene, rng: np.random.Generator) -> dict[str, Any] | None:
        """A Wald pair on the lowres grid: the base of a degraded grid -> the lowres grid."""
        el = scene.elements[int(rng.integers(len(scene.elements)))]
        if not el.wald:
            return None
        f = int(rng.choice(sorted(el.wald)))
        s = scene.scale
        h, w = el.coarse.shape
        H, W = scene.valid.shape
        c = min(self.crop, h, w, H // s, W // s)  # whole coarse cells of the fine grid
        r, q = (
            int(rng.integers(0, min(h, H // s) - c + 1)),
            int(rng.integers(0, min(w, W // s) - c + 1)),
        )
        cov, valid = self._fine_window(scene, r * s, q * s, c * s)
        return {
            "base": el.wald[f][None, r : r + c, q : q + c],
            "cov": cov,
            "valid": valid,
            "pool": s,
            "target": el.coarse[None, r : r + c, q : q + c],
            "known": el.coarse_known[None, r : r + c, q : q + c].astype(np.float32),
            "rot": int(rng.integers(4)),
            "flip": bool(rng.integers(2)),
        }

    def _consistency(self, scene: Scene, rng: np.random.Generator) -> dict[str, Any]:
        """A full-resolution patch aligned with the coarse grid, with its coarse values."""
        s = scene.scale
        H, W = scene.valid.shape
        k = max(1, min(self.fine_crop // s, H // s, W // s))
        el = scene.elements[int(rng.integers(len(scene.elements)))]
        R, Q = int(rng.integers(0, H // s - k + 1)), int(rng.integers(0, W // s - k + 1))
        cov, valid = self._fine_window(scene, R * s, Q * s, k * s)
        return {
            "base": el.base[None, R * s : (R + k) * s, Q * s : (Q + k) * s],
            "cov": cov,
            "valid": valid,
            "target": el.coarse[None, R : R + k, Q : Q + k],
            "known": el.coarse_known[None, R : R + k, Q : Q + k].astype(np.float32),
            "space": (el.mean, el.std, el.log10),
        }

    def _points(self, scene: Scene, rng: np.random.Generator) -> dict[str, Any] | None:
        """A fine patch around a training sample, on the out-of-fold base of one fold."""
        with_points = [e for e in scene.elements if e.rows.size]
        if not with_points:
            return None
        el = with_points[int(rng.integers(len(with_points)))]
        p = min(self.fine_crop, *scene.valid.shape)
        H, W = scene.valid.shape
        i = int(rng.integers(el.rows.size))
        r = int(np.clip(el.rows[i] - rng.integers(p), 0, H - p))
        q = int(np.clip(el.cols[i] - rng.integers(p), 0, W - p))
        assert el.oof_base is not None and el.sample_fold is not None
        fold = int(el.sample_fold[i])
        inside = ((el.rows >= r) & (el.rows < r + p) & (el.cols >= q) & (el.cols < q + p)) & (
            el.sample_fold == fold
        )  # the samples this fold's base was kriged without
        sample_map = np.zeros((1, p, p), np.float32)
        sample_mask = np.zeros((1, p, p), np.float32)
        sample_map[0, el.rows[inside] - r, el.cols[inside] - q] = el.values[inside]
        sample_mask[0, el.rows[inside] - r, el.cols[inside] - q] = 1.0
        cov, valid = self._fine_window(scene, r, q, p)
        return {
            "base": el.oof_base[fold][None, r : r + p, q : q + p],
            "cov": cov,
            "valid": valid,
            "target": sample_map,
            "known": sample_mask,
        }

    def _truth(self, scene: Scene, rng: np.random.Generator) -> dict[str, Any]:
        """A fine patch with its truth (pretraining on dev realisations only)."""
        el = scene.elements[int(rng.integers(len(scene.elements)))]
        assert el.truth is not None
        p = min(self.fine_crop, *scene.valid.shape)
        H, W = scene.valid.shape
        r, q = int(rng.integers(0, H - p + 1)), int(rng.integers(0, W - p + 1))
        cov, valid = self._fine_window(scene, r, q, p)
        truth = el.truth[None, r : r + p, q : q + p]
        return {
            "base": el.base[None, r : r + p, q : q + p],
            "cov": cov,
            "valid": valid,
            "target": np.nan_to_num(truth),
            "known": valid * np.isfinite(truth),
            "rot": int(rng.integers(4)),
            "flip": bool(rng.integers(2)),
        }


def _tensor(a: Any) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _augment(x: torch.Tensor, rot: int, flip: bool) -> torch.Tensor:
    x = torch.rot90(x, rot, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if flip else x


class _FusionModule(L.LightningModule):
    def __init__(self, net: ResidualFusionNet, lr: float, weights: dict[str, float]) -> None:
        super().__init__()
        self.net, self.lr, self.weights = net, lr, weights

    def _masked_mse(self, pred: torch.Tensor, target: torch.Tensor, known: torch.Tensor) -> Any:
        return ((pred - target) ** 2 * known).sum() / known.sum().clamp(min=1.0)

    def training_step(self, batch: list[dict[str, Any]], _: int) -> torch.Tensor:
        loss = torch.zeros(())
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for example in batch:
            by_kind.setdefault(example["kind"], []).append(example)
        for kind, examples in by_kind.items():
            for ex in examples:  # one crop per forward pass: crops differ in shape
                base, cov, valid = (_tensor(ex[k]) for k in ("base", "cov", "valid"))
                target, known = _tensor(ex["target"]), _tensor(ex["known"])
                pool = int(ex.get("pool", 1))
                features = self.net.features(cov[None], valid[None], pool)
                # a Wald pair's coarse cells all count (their lowres values are filled)
                mask = torch.ones_like(base[None]) if pool > 1 else valid[None]
                base = base[None]
                if "rot" in ex:  # the same rotation and flip for every input and the target
                    rot, flip = int(ex["rot"]), bool(ex["flip"])
                    base, features, mask = (_augment(t, rot, flip) for t in (base, features, mask))
                    target, known = _augment(target, rot, flip), _augment(known, rot, flip)
                pred = self.net.residual(base, features, mask)[0]
                if kind == "consistency":
                    misfit = self._block_misfit(pred, valid, target, known, ex["space"])
                else:
                    misfit = self._masked_mse(pred, target, known)
                loss = loss + self.weights[kind] * misfit / len(examples)
        self.log("train_loss", loss, prog_bar=True, batch_size=1)
        return loss

    def _block_misfit(
        self,
        fine: torch.Tensor,
        valid: torch.Tensor,
        target: torch.Tensor,
        known: torch.Tensor,
        space: Any,
    ) -> torch.Tensor:
        """Natural-unit block means of ``fine`` against the lowres values, normalised space.

        The lowres grid holds natural-unit block means, so the output's block means are taken
        in natural units before the comparison.
        """
        mean, std, log10 = (float(v) for v in space)
        scale = fine.shape[-1] // target.shape[-1]
        analysis = fine * std + mean
        natural = torch.pow(10.0, analysis) if log10 else analysis
        pooled = nn.functional.avg_pool2d((natural * valid)[None], scale)[0]
        weight = nn.functional.avg_pool2d(valid[None], scale)[0]
        block = pooled / weight.clamp(min=1e-6)
        if log10:
            block = torch.log10(block.clamp(min=1e-30))
        known = known * (weight > 0)
        return self._masked_mse((block - mean) / std, target, known)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam([p for p in self.net.parameters() if p.requires_grad], lr=self.lr)


def train_network(
    net: ResidualFusionNet,
    scenes: list[Scene],
    kinds: dict[str, int],
    weights: dict[str, float],
    steps: int,
    lr: float,
    crop: int,
    fine_crop: int,
    seed: int,
    trainer_options: dict[str, Any] | None = None,
) -> None:
    """Train ``net`` in place for ``steps`` steps on examples of ``kinds`` drawn from ``scenes``.

    Args:
        net: the network.
        scenes: training material.
        kinds: examples per step by kind (``wald``, ``consistency``, ``points``, ``truth``).
        weights: loss weight per kind.
        steps: optimiser steps (0: nothing happens).
        lr: Adam learning rate.
        crop: Wald crop edge (coarse cells).
        fine_crop: fine patch edge (fine cells).
        seed: seed of the batch stream.
        trainer_options: Lightning ``Trainer`` options (accelerator, devices, strategy,
            callbacks, ...).
    """
    if steps <= 0:
        return
    options: dict[str, Any] = dict(
        accelerator="cpu",
        devices=1,
        strategy="auto",
        enable_checkpointing=False,
        enable_progress_bar=False,
    )
    options |= trainer_options or {}
    trainer = L.Trainer(
        max_epochs=1, deterministic=True, logger=False, enable_model_summary=False, **options
    )
    data = _Batches(scenes, kinds, steps, crop, fine_crop, net.halo, seed)
    trainer.fit(
        _FusionModule(net, lr, weights),
        DataLoader(data, batch_size=1, shuffle=False, collate_fn=_collate_one),
    )


def _collate_one(items: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The one item of a batch, its examples as they are (they differ in shape)."""
    return items[0]


class FusionCNN(FusionModel):
    """The reference fusion CNN (see the module docstring).

    Args:
        width: channels of the conv body.
        blocks: conv layers in the body.
        steps: self-supervised steps on the fold's inputs (fine-tuning; 0: none, the
            ablation), per element; on transfer tasks the steps on the covariable elements.
        finetune_steps: steps of fine-tuning on a transfer target.
        batch: Wald pairs (grid) or sample patches (points) per step.
        crop: edge of a Wald crop on the coarse grid (cells).
        fine_crop: edge of a full-resolution patch (cells).
        lr: Adam learning rate of the fine-tuning.
        point_weight: weight of the loss at training samples (point tasks).
        mixed_resolution: mix degradation factors 2..f_max (ablation: f_max only).
        transfer: train on covariable elements first on transfer tasks (ablation: off).
        consistency_weight: weight of the full-resolution consistency loss on grid tasks
            (natural-unit block means of the output against the lowres grid); None: 20.
        back_projection: natural-unit back-projection steps on grid tasks (0 or False: none;
            True or None: 3). Never on point protocols (unlike v1's ``True``), whose lowres
            cells are means of one to four noisy samples.
        base: ``"kriging"``: ATPK on grid tasks, ordinary kriging of the training samples on
            point tasks; ``"bicubic"``: bicubic of the lowres grid (0.3.0, the ablation).
        support_stem: learn the covariates' support (:class:`SupportStem`; ablation: off).
        pretrained: ``"synthetic"``: start from the weights pretrained on dev realisations of
            the synthetic generator where the task's covariates are the generator's bands; a
            path: weights written by
            :func:`~geochem_bench.models.fusion_cnn_pretraining.pretrain`; None or False: from
            scratch.
        atpk_radius: ATPK neighbourhood half-width (blocks) of the base and the Wald bases.
        neighbours: nearest samples per estimate of the kriged base (points protocols).
        variogram_model: variogram of the kriged base (points protocols).
        oof_folds: folds of the out-of-fold kriged bases of the point loss.
        oof_stride: the out-of-fold bases (and the unused full bases of a transfer task's
            source elements) are kriged every ``oof_stride`` fine cells and interpolated
            bilinearly in between (1: at every cell, 0.4.0). They only feed the point loss
            at held-out samples, where the kriged surface is smooth; on Lapland IOCG's
            2.2 M-cell grid, kriging them at every cell for 21 source elements cost
            ~13 minutes per transfer fold (0.4.1 sets 4).
        accelerator: Lightning accelerator ("cpu", "gpu", "auto").
        devices: Lightning devices.
        strategy: Lightning strategy ("auto", "ddp", ...).
        checkpoint_dir: where to keep checkpoints (none by default).
        progress: show Lightning's progress bar.
    """

    def __init__(
        self,
        width: int = 32,
        blocks: int = 4,
        steps: int = 40,
        finetune_steps: int = 40,
        batch: int = 4,
        crop: int = 16,
        fine_crop: int = 64,
        lr: float = 3e-4,
        point_weight: float = 1.0,
        mixed_resolution: bool = True,
        transfer: bool = True,
        consistency_weight: float | None = 20.0,
        back_projection: int | bool | None = 3,
        base: str = "kriging",
        support_stem: bool = True,
        pretrained: str | bool | None = "synthetic",
        atpk_radius: int = 3,
        neighbours: int = 32,
        variogram_model: str = "spherical",
        oof_folds: int = 4,
        oof_stride: int = 1,
        accelerator: str = "cpu",
        devices: int | str = 1,
        strategy: str = "auto",
        checkpoint_dir: str | None = None,
        progress: bool = False,
    ) -> None:
        if base not in ("kriging", "bicubic"):
            raise InvalidInputError(f"base must be 'kriging' or 'bicubic', got {base!r}")
        self.config: dict[str, Any] = dict(
            width=width,
            blocks=blocks,
            steps=steps,
            finetune_steps=finetune_steps,
            batch=batch,
            crop=crop,
            fine_crop=fine_crop,
            lr=lr,
            point_weight=point_weight,
            mixed_resolution=mixed_resolution,
            transfer=transfer,
            # None: the defaults (records and TOMLs of 0.3.0 and v1 name them so)
            consistency_weight=20.0 if consistency_weight is None else float(consistency_weight),
            # True (v1's spelling) and None are the 3 steps every version used
            back_projection=(
                3 if back_projection is None or back_projection is True else int(back_projection)
            ),
            base=base,
            support_stem=support_stem,
            # TOML has no None: false (or "none") is "from scratch"
            pretrained=None if pretrained in (None, False, "none") else str(pretrained),
            atpk_radius=atpk_radius,
            neighbours=neighbours,
            variogram_model=variogram_model,
            oof_folds=oof_folds,
            oof_stride=int(oof_stride),
        )
        if self.config["oof_stride"] < 1:
            raise InvalidInputError(f"oof_stride must be >= 1, got {oof_stride!r}")
        self.accelerator, self.devices, self.strategy = accelerator, devices, strategy
        self.checkpoint_dir, self.progress = checkpoint_dir, progress

    def new_network(self, n_covariates: int) -> ResidualFusionNet:
        """An untrained network of this configuration."""
        cfg = self.config
        return ResidualFusionNet(
            n_covariates, int(cfg["width"]), int(cfg["blocks"]), bool(cfg["support_stem"])
        )

    def fit(self, inputs: TaskInputs) -> None:
        """Train one network per target element on the fold's inputs."""
        from geochem_bench.models.fusion_cnn_weights import load_pretrained

        cfg = self.config
        L.seed_everything(inputs.seed, workers=True, verbose=False)
        torch.use_deterministic_algorithms(True, warn_only=True)
        self._cov_stats = covariate_stats(inputs)
        halo = self.new_network(inputs.covariates.shape[0]).halo
        self._bases = BaseSurface(cfg, inputs)
        targets = [
            element_data(inputs, e, self._bases, with_samples=True, seed=inputs.seed)
            for e in range(len(inputs.elements))
        ]
        self._target_stats = [(t.mean, t.std) for t in targets]
        if inputs.protocol == "grid" or cfg["base"] == "bicubic":
            # Wald pairs: on grid tasks; on point tasks only for the 0.3.0 bicubic base, whose
            # lowres cells of a few samples made poor pairs (the kriged base trains on samples)
            factors = wald_factors(inputs, bool(cfg["mixed_resolution"]))
            for t in targets:
                t.wald = wald_bases(t, inputs, factors, cfg)
        scene = Scene(
            padded_covariates(inputs, self._cov_stats, halo), inputs.valid, inputs.scale, targets
        )
        self._prepared = (inputs, scene)  # predict() reuses it for these inputs
        initial = load_pretrained(cfg["pretrained"], self, inputs.band_names)
        self.networks: list[ResidualFusionNet] = []
        transfer = inputs.protocol == "transfer" and cfg["transfer"]
        for e, target in enumerate(targets):
            net = self.new_network(inputs.covariates.shape[0])
            if initial is not None:
                net.load_state_dict(initial)
            seed = inputs.seed * 1000 + e
            if transfer:
                sources = covariable_data(inputs, self._bases, halo, seed)
                if sources:
                    source_scene = Scene(scene.covariates, inputs.valid, inputs.scale, sources)
                    self._train(net, source_scene, inputs.protocol, int(cfg["steps"]), seed)
                    net.freeze_features()
                    steps = int(cfg["finetune_steps"])
                else:
                    steps = int(cfg["steps"])
            else:
                steps = int(cfg["steps"])
            one = Scene(scene.covariates, inputs.valid, inputs.scale, [target])
            self._train(net, one, inputs.protocol, steps, seed + 500)
            self.networks.append(net.eval())

    def context_cells(self, scale: int) -> int:
        """Halo (fine cells) a window needs for tiled prediction to match whole-scene prediction.

        The convolutions see 2 + blocks cells and the support stem its halo; the ATPK base
        reaches ``atpk_radius`` blocks (bicubic with filling 6), and each back-projection
        step 3 more blocks.
        """
        cfg = self.config
        base = int(cfg["atpk_radius"]) if cfg["base"] == "kriging" else 6
        halo = math.ceil(3 * MAX_SIGMA) if cfg["support_stem"] else 0
        return 2 + int(cfg["blocks"]) + halo + scale * (base + 3 * int(cfg["back_projection"]))

    def predict(self, inputs: TaskInputs) -> NDArray[np.float32]:
        """Apply the trained networks at full resolution (then back-project on grid tasks).

        Inputs other than those of :meth:`fit` (e.g. a window of a tiled evaluation) are
        standardised with the statistics of the fit, so a window predicts what the whole
        scene would there.
        """
        if len(getattr(self, "networks", [])) != len(inputs.elements):
            raise RuntimeError("FusionCNN.predict needs fit() on the same task first")
        prepared_for, scene = self._prepared
        if prepared_for is not inputs:
            halo = self.networks[0].halo
            targets = [
                element_data(inputs, e, self._bases, stats=self._target_stats[e])
                for e in range(len(inputs.elements))
            ]
            covariates = padded_covariates(inputs, self._cov_stats, halo)
            scene = Scene(covariates, inputs.valid, inputs.scale, targets)
        steps = int(self.config["back_projection"]) if inputs.protocol == "grid" else 0
        out = np.full(inputs.output_shape, np.nan, dtype=np.float32)
        valid = torch.from_numpy(inputs.valid[None, None].astype(np.float32))
        for e, (element, net, target) in enumerate(
            zip(inputs.elements, self.networks, scene.elements)
        ):
            with torch.no_grad():
                pred = net(
                    torch.from_numpy(target.base[None, None]),
                    torch.from_numpy(scene.covariates[None]),
                    valid,
                )[0, 0].numpy()
            analysis = pred.astype(np.float64) * target.std + target.mean
            if steps:
                analysis = back_project(analysis, inputs.lowres[e], element, inputs, steps)
            out[e] = np.where(inputs.valid, element.from_analysis(analysis), np.nan)
        return out

    def save(self, folder: str | Path, inputs: TaskInputs) -> dict[str, Any]:
        """Write the trained weights, the config and their sha256 (``weights.json``)."""
        import hashlib
        import json

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        files = {}
        for element, net in zip(inputs.elements, self.networks):
            path = folder / f"{element.symbol}.pt"
            torch.save(net.state_dict(), path)
            files[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        meta = {
            "model": "geochem_bench.models.fusion_cnn:FusionCNN",
            "config": self.config,
            "task": inputs.task_id,
            "fold": inputs.fold,
            "seed": inputs.seed,
            "covariates": list(inputs.band_names),
            "sha256": files,
        }
        (folder / "weights.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        return meta

    def trainer_options(self) -> dict[str, Any]:
        """Lightning options of this model (accelerator, devices, checkpoints, progress)."""
        callbacks: list[Any] = []
        if self.checkpoint_dir:
            from lightning.pytorch.callbacks import ModelCheckpoint

            callbacks.append(ModelCheckpoint(dirpath=Path(self.checkpoint_dir), save_last=True))
        return dict(
            accelerator=self.accelerator,
            devices=self.devices,
            strategy=self.strategy,
            enable_checkpointing=bool(self.checkpoint_dir),
            callbacks=callbacks,
            enable_progress_bar=self.progress,
        )

    def _train(
        self, net: ResidualFusionNet, scene: Scene, protocol: str, steps: int, seed: int
    ) -> None:
        cfg = self.config
        batch = int(cfg["batch"])
        if protocol == "grid":
            kinds = {"wald": batch, "consistency": 1 if cfg["consistency_weight"] else 0}
        elif cfg["base"] == "kriging":
            kinds = {"points": batch}
        else:  # 0.3.0 on points: Wald pairs on the sample means plus the point loss
            kinds = {"wald": batch, "points": 1}
        weights = {
            "wald": 1.0,
            "consistency": float(cfg["consistency_weight"]),
            "points": float(cfg["point_weight"]),
        }
        train_network(
            net,
            [scene],
            kinds,
            weights,
            steps,
            float(cfg["lr"]),
            int(cfg["crop"]),
            int(cfg["fine_crop"]),
            seed,
            self.trainer_options(),
        )


class BaseSurface:
    """The base surface of a fold's elements in analysis space (see the module docstring).

    Args:
        config: the :class:`FusionCNN` configuration (base, atpk_radius, neighbours, ...).
        inputs: the fold whose grid tasks fit the ATPK covariances.
    """

    def __init__(self, config: dict[str, Any], inputs: TaskInputs) -> None:
        from geochem_bench.models.area_to_point import AreaToPointKriging

        self.kind = str(config["base"])
        self.neighbours = int(config["neighbours"])
        self.variogram_model = str(config["variogram_model"])
        self.radius = int(config["atpk_radius"])
        # .get: configs saved by 0.4.0 (weights.json) have no stride, and meant 1
        self.stride = int(config.get("oof_stride", 1))
        self.atpk: AreaToPointKriging | None = None
        self._predicted: tuple[TaskInputs, NDArray[np.float32]] | None = None
        if self.kind == "kriging" and inputs.protocol == "grid":
            # the ATPK baseline itself, without its back-projection: the CNN's last step
            self.atpk = AreaToPointKriging(radius=self.radius, back_projection=0)
            self.atpk.fit(inputs)

    def grid(self, inputs: TaskInputs, e: int) -> NDArray[np.float64]:
        """Element ``e``'s base from the lowres grid (ATPK or bicubic), analysis space."""
        element = inputs.elements[e]
        if self.atpk is not None:
            if self._predicted is None or self._predicted[0] is not inputs:
                # ATPK predicts every element at once: once per inputs, not per element
                self._predicted = (inputs, self.atpk.predict(inputs).mean)
            natural = self._predicted[1][e]
        else:
            natural = upsample_lowres(inputs)[e]
        analysis = np.asarray(element.to_analysis(natural.astype(np.float64)), dtype=np.float64)
        return fill_nearest(analysis, ~np.isfinite(analysis))

    def kriged(
        self,
        inputs: TaskInputs,
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        z: NDArray[np.float64],
        coarse: bool = False,
    ) -> NDArray[np.float64]:
        """Ordinary kriging of analysis-space samples onto every fine cell.

        Args:
            inputs: the fold.
            x: the samples' map x.
            y: the samples' map y.
            z: the samples' values (analysis space).
            coarse: krige every ``oof_stride`` cells (on a lattice that covers the grid,
                invalid cells included) and interpolate bilinearly in between: the bases of
                the point loss, which is only read at samples the kriging left out.
        """
        from geochem_bench.models.data_points import prediction_cells
        from geochem_bench.models.kriging import fit_ordinary_kriging, krige_points

        model = fit_ordinary_kriging(x, y, z, self.variogram_model)
        H, W = inputs.grid.shape
        if coarse and self.stride > 1:
            from scipy.interpolate import RegularGridInterpolator

            # lattice rows/cols that include the last row/column, so nothing extrapolates
            lr = np.unique(np.r_[np.arange(0, H, self.stride), H - 1])
            lc = np.unique(np.r_[np.arange(0, W, self.stride), W - 1])
            rr, cc = np.meshgrid(lr, lc, indexing="ij")
            qx, qy = inputs.grid.centres(rr.ravel(), cc.ravel())
            estimate, _ = krige_points(model, qx, qy, self.neighbours)
            lattice = RegularGridInterpolator((lr, lc), estimate.reshape(rr.shape))
            fr, fc = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
            return lattice((fr.ravel(), fc.ravel())).reshape(H, W)
        rows, cols, qx, qy = prediction_cells(inputs)
        estimate, _ = krige_points(model, qx, qy, self.neighbours)
        out = np.full(inputs.grid.shape, np.nan)
        out[rows, cols] = estimate
        return fill_nearest(out, ~np.isfinite(out))


def wald_factors(inputs: TaskInputs, mixed: bool) -> list[int]:
    """Degradation factors of the Wald pairs: 2..f_max (f_max = min(s, h/4, w/4))."""
    h, w = inputs.lowres.shape[1:]
    f_max = int(max(2, min(inputs.scale, h // 4, w // 4)))
    return list(range(2, f_max + 1)) if mixed else [f_max]


def wald_bases(
    el: ElementData, inputs: TaskInputs, factors: list[int], config: dict[str, Any]
) -> dict[int, NDArray[np.float32]]:
    """Per factor f, the lowres grid degraded by f and brought back onto the lowres grid.

    The degradation takes natural-unit block means, as the lowres grid itself was made; the
    way back is the base's own method (ATPK at scale f from the degraded blocks, or bicubic),
    so a Wald pair asks the network what the real input asks it, one level up. A factor
    whose degraded grid has too few blocks to deconvolve a covariance is dropped.
    """
    from geochem_bench.models.area_to_point import area_to_point, deconvolve

    res = inputs.lowres_grid.res
    out = {}
    for f in factors:
        means, _ = block_mean(el.natural(el.coarse)[None], f)
        analysis = np.log10(means[0]) if el.log10 else means[0].astype(np.float64)
        if config["base"] == "kriging":
            try:
                model = deconvolve(analysis, f, res)
            except InvalidInputError:
                continue
            back = area_to_point(
                analysis, el.coarse_known, f, res, model, int(config["atpk_radius"])
            ).mean
            back = fill_nearest(back, ~np.isfinite(back))
        else:
            back = upsample(analysis[None], f, el.coarse.shape, "bicubic")[0]
        out[f] = el.normalised(back)
    return out


def covariate_stats(inputs: TaskInputs) -> list[tuple[float, float]]:
    """Mean and standard deviation of each covariate band over the valid cells."""
    stats = []
    for band in inputs.covariates:
        values = band[inputs.valid].astype(np.float64)
        values = values[np.isfinite(values)]
        stats.append(
            (float(values.mean()), float(values.std() or 1.0)) if values.size else (0.0, 1.0)
        )
    return stats


def padded_covariates(
    inputs: TaskInputs, stats: list[tuple[float, float]], halo: int
) -> NDArray[np.float32]:
    """Covariates standardised with ``stats``, 0 off the valid cells, edge-padded by ``halo``.

    Edge padding makes the support stem's 'valid' convolution of the whole scene equal to a
    'replicate'-padded one, and a crop with its halo equal to the same cells of the scene.
    """
    cov = inputs.covariates.astype(np.float64)
    out = np.zeros_like(cov, dtype=np.float32)
    for b, (mu, sd) in enumerate(stats):
        out[b] = np.nan_to_num((cov[b] - mu) / sd).astype(np.float32)
    out[:, ~inputs.valid] = 0.0
    return np.pad(out, ((0, 0), (halo, halo), (halo, halo)), mode="edge")


def element_data(
    inputs: TaskInputs,
    e: int,
    bases: BaseSurface,
    *,
    stats: tuple[float, float] | None = None,
    with_samples: bool = False,
    seed: int = 0,
) -> ElementData:
    """Element ``e``'s normalised lowres grid and base (and samples, for training).

    Args:
        inputs: the fold (or a window of it at prediction).
        e: target element index.
        bases: the base-surface maker of the fit.
        stats: normalisation (mean, std) of the fit; default the lowres grid's own.
        with_samples: attach the training samples and their out-of-fold bases (points
            protocols, training only).
        seed: seed of the out-of-fold split.
    """
    element = inputs.elements[e]
    coarse = np.asarray(element.to_analysis(inputs.lowres[e]), dtype=np.float64)
    known = np.isfinite(coarse)
    if stats is None:
        stats = (float(coarse[known].mean()), float(coarse[known].std() or 1.0))
    mean, std = stats
    log10 = element.analysis_space == "log10"
    filled = fill_empty_cells(coarse[None])[0]
    samples = None
    if inputs.points is not None:
        v = inputs.points.column(element.symbol)
        keep = np.isfinite(element.to_analysis(v))  # measured and, for log10, positive
        z = np.asarray(element.to_analysis(v[keep]), dtype=np.float64)
        samples = (inputs.points.x[keep], inputs.points.y[keep], z)
    if samples is not None and bases.kind == "kriging":
        base = bases.kriged(inputs, *samples)
    else:
        base = bases.grid(inputs, e)
    data = standardised(filled, known, base, mean, std, log10)
    if with_samples and samples is not None:
        attach_samples(data, inputs, bases, *samples, seed)
    return data


def standardised(
    filled: NDArray[np.floating],
    known: NDArray[np.bool_],
    base: NDArray[np.floating],
    mean: float,
    std: float,
    log10: bool,
) -> ElementData:
    """An element's lowres grid and base surface, standardised by ``mean`` and ``std``."""
    return ElementData(
        coarse=((filled - mean) / std).astype(np.float32),
        coarse_known=known,
        base=np.nan_to_num((base - mean) / std).astype(np.float32),
        mean=mean,
        std=std,
        log10=log10,
    )


def attach_samples(
    data: ElementData,
    inputs: TaskInputs,
    bases: BaseSurface,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    z: NDArray[np.float64],
    seed: int,
) -> None:
    """Attach samples (analysis space) and the bases their point loss is measured on.

    With the kriged base each sample's base comes from the samples of the other folds: a
    base kriged from the sample itself would already hold its value, and the residual would
    learn nothing. With the bicubic base (0.3.0) the base is the same for every fold.
    """
    rows, cols = inputs.grid.cell_of(x, y)
    data.rows, data.cols = rows, cols
    data.values = ((z - data.mean) / data.std).astype(np.float32)
    n_folds = int(max(2, min(len(z) // 5, 4)))
    if bases.kind != "kriging" or len(z) < 10:
        data.oof_base, data.sample_fold = data.base[None], np.zeros(len(z), np.intp)
        return
    rng = np.random.default_rng([seed, len(z)])
    fold = rng.permutation(np.arange(len(z)) % n_folds)
    oof = [
        bases.kriged(inputs, x[fold != k], y[fold != k], z[fold != k], coarse=True)
        for k in range(n_folds)
    ]
    data.oof_base = np.stack([np.nan_to_num((b - data.mean) / data.std) for b in oof]).astype(
        np.float32
    )
    data.sample_fold = fold.astype(np.intp)


def covariable_data(
    inputs: TaskInputs, bases: BaseSurface, halo: int, seed: int
) -> list[ElementData]:
    """Source elements of a transfer task: the survey's other elements, from their samples."""
    from geochem_bench.core.grid import points_block_mean

    assert inputs.points is not None
    targets = {e.symbol for e in inputs.elements}
    sources = []
    for symbol in inputs.points.elements:
        v = inputs.points.column(symbol)
        keep = np.isfinite(v) & (v > 0)
        if symbol in targets or keep.sum() < 10:
            continue
        x, y, z = inputs.points.x[keep], inputs.points.y[keep], np.log10(v[keep])
        lowres, _ = points_block_mean(inputs.lowres_grid, x, y, v[keep])
        coarse = np.log10(lowres[0])
        known = np.isfinite(coarse)
        mean, std = float(coarse[known].mean()), float(coarse[known].std() or 1.0)
        filled = fill_empty_cells(coarse[None])[0]
        if bases.kind == "kriging":
            # a source's full base is never read by the point loss (only its out-of-fold
            # bases are), so it is kriged as coarsely as they are
            base = bases.kriged(inputs, x, y, z, coarse=True)
        else:
            base = upsample(filled[None], inputs.scale, inputs.grid.shape, "bicubic")[0]
        data = standardised(filled, known, base, mean, std, log10=True)
        attach_samples(data, inputs, bases, x, y, z, seed)
        sources.append(data)
    return sources


__all__ = ["FusionCNN", "ResidualFusionNet", "SupportStem", "upsample_lowres"]
