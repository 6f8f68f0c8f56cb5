"""Spatial-block k-fold splits of point samples, seeded and serialisable to a split file."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

SPLIT_FORMAT = "geochem-bench/spatial-block-kfold/1"


@dataclass(frozen=True)
class SpatialBlockSplit:
    """Assignment of samples to folds by square spatial blocks.

    Whole blocks go to one fold, so held-out samples are spatially separated from most
    training samples; with blocks that are a whole number of coarse cells aligned to the same
    origin, no coarse cell ever mixes training and held-out samples.

    Attributes:
        sample_ids: ids of the samples (N,).
        folds: fold of each sample (N,), in ``0 .. n_folds - 1``.
        n_folds: number of folds.
        block_size: block edge in map units.
        origin: (x, y) of the block grid's upper-left corner.
        seed: seed of the block-to-fold assignment.
    """

    sample_ids: NDArray[np.int64]
    folds: NDArray[np.int64]
    n_folds: int
    block_size: float
    origin: tuple[float, float]
    seed: int

    def test_mask(self, fold: int) -> NDArray[np.bool_]:
        """Samples held out in ``fold``."""
        self._check_fold(fold)
        return self.folds == fold

    def train_mask(self, fold: int) -> NDArray[np.bool_]:
        """Samples available for training in ``fold``."""
        return ~self.test_mask(fold)

    def _check_fold(self, fold: int) -> None:
        if not 0 <= fold < self.n_folds:
            raise ValueError(f"fold must be in 0..{self.n_folds - 1}, got {fold}")

    def save(self, path: str | Path) -> None:
        """Write the split as JSON (atomically)."""
        payload = {
            "format": SPLIT_FORMAT,
            "n_folds": self.n_folds,
            "block_size": self.block_size,
            "origin": list(self.origin),
            "seed": self.seed,
            "sample_ids": self.sample_ids.tolist(),
            "folds": self.folds.tolist(),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> SpatialBlockSplit:
        """Read a split file written by :meth:`save`."""
        payload = json.loads(Path(path).read_text())
        if payload.get("format") != SPLIT_FORMAT:
            raise ValueError(
                f"{path} is not a geochem-bench split file (format {payload.get('format')!r}, "
                f"expected {SPLIT_FORMAT!r})"
            )
        return cls(
            sample_ids=np.asarray(payload["sample_ids"], dtype=np.int64),
            folds=np.asarray(payload["folds"], dtype=np.int64),
            n_folds=int(payload["n_folds"]),
            block_size=float(payload["block_size"]),
            origin=(float(payload["origin"][0]), float(payload["origin"][1])),
            seed=int(payload["seed"]),
        )


def spatial_block_kfold(
    sample_ids: NDArray[np.int64],
    x: NDArray[np.floating],
    y: NDArray[np.floating],
    *,
    n_folds: int,
    block_size: float,
    origin: tuple[float, float],
    seed: int,
) -> SpatialBlockSplit:
    """Split samples into ``n_folds`` folds of whole spatial blocks.

    Blocks are shuffled with ``seed``, then dealt largest first to the fold with the fewest
    samples so far, which balances fold sizes. The result depends only on the sample
    locations, never on their values.

    Raises:
        ValueError: if there are fewer occupied blocks than folds.
    """
    if n_folds < 2:
        raise ValueError(f"a k-fold split needs n_folds >= 2, got {n_folds}")
    if block_size <= 0:
        raise ValueError(f"block_size must be positive, got {block_size}")
    bx = np.floor((np.asarray(x, dtype=np.float64) - origin[0]) / block_size).astype(np.int64)
    by = np.floor((origin[1] - np.asarray(y, dtype=np.float64)) / block_size).astype(np.int64)
    blocks, block_of_sample, counts = np.unique(
        np.stack([by, bx], axis=1), axis=0, return_inverse=True, return_counts=True
    )
    block_of_sample = block_of_sample.ravel()
    if len(blocks) < n_folds:
        raise ValueError(
            f"only {len(blocks)} spatial blocks of {block_size:g} map units hold samples, "
            f"fewer than the {n_folds} folds asked for; use fewer folds or smaller blocks"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(blocks))
    order = order[np.argsort(-counts[order], kind="stable")]
    fold_of_block = np.empty(len(blocks), dtype=np.int64)
    load = np.zeros(n_folds, dtype=np.int64)
    for b in order:
        f = int(np.argmin(load))
        fold_of_block[b] = f
        load[f] += counts[b]
    return SpatialBlockSplit(
        sample_ids=np.asarray(sample_ids, dtype=np.int64),
        folds=fold_of_block[block_of_sample],
        n_folds=n_folds,
        block_size=float(block_size),
        origin=(float(origin[0]), float(origin[1])),
        seed=seed,
    )
