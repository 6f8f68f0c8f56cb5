"""Spatial-block k-fold splits of point samples, seeded and serialisable to a split file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.atomic import write_text_atomic
from geochem_bench.errors import InvalidInputError

SPLIT_FORMAT = "geochem-bench/sample-split/1"


@dataclass(frozen=True)
class SampleSplit:
    """Assignment of samples to held-out folds.

    ``folds[i] == k`` holds sample i out in fold k; ``-1`` keeps it in training in every fold
    (an official split with one validation set has a single fold 0).

    Spatial-block splits (:func:`spatial_block_kfold`) put whole square blocks in one fold, so
    held-out samples are spatially separated from most training samples; with blocks that are a
    whole number of coarse cells aligned to the same origin, no coarse cell ever mixes training
    and held-out samples.

    Attributes:
        sample_ids: ids of the samples (N,).
        folds: fold of each sample (N,), in ``-1 .. n_folds - 1``.
        n_folds: number of folds.
        method: how the split was made, e.g. ``"spatial-block"`` or ``"official"``.
        params: parameters of the method (block size, origin, seed, source).
    """

    sample_ids: NDArray[np.int64]
    folds: NDArray[np.int64]
    n_folds: int
    method: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.sample_ids) != len(self.folds):
            raise InvalidInputError("a split needs one fold per sample id")
        if len(self.folds) and (self.folds.min() < -1 or self.folds.max() >= self.n_folds):
            raise InvalidInputError(f"folds must lie in -1..{self.n_folds - 1}")

    @classmethod
    def fixed(
        cls, sample_ids: NDArray[np.int64], held_out_ids: NDArray[np.int64], source: str
    ) -> SampleSplit:
        """A single-fold split that holds out the given ids (e.g. an official validation set)."""
        ids = np.asarray(sample_ids, dtype=np.int64)
        folds = np.where(np.isin(ids, held_out_ids), 0, -1).astype(np.int64)
        return cls(ids, folds, 1, "official", {"source": source})

    def test_mask(self, fold: int) -> NDArray[np.bool_]:
        """Samples held out in ``fold``."""
        self._check_fold(fold)
        return self.folds == fold

    def train_mask(self, fold: int) -> NDArray[np.bool_]:
        """Samples available for training in ``fold``."""
        return ~self.test_mask(fold)

    def _check_fold(self, fold: int) -> None:
        if not 0 <= fold < self.n_folds:
            raise InvalidInputError(f"fold must be in 0..{self.n_folds - 1}, got {fold}")

    def save(self, path: str | Path) -> None:
        """Write the split as JSON (atomically)."""
        payload = {
            "format": SPLIT_FORMAT,
            "n_folds": self.n_folds,
            "method": self.method,
            "params": self.params,
            "sample_ids": self.sample_ids.tolist(),
            "folds": self.folds.tolist(),
        }
        write_text_atomic(path, json.dumps(payload, sort_keys=True))

    @classmethod
    def load(cls, path: str | Path) -> SampleSplit:
        """Read a split file written by :meth:`save`."""
        payload = json.loads(Path(path).read_text())
        if payload.get("format") != SPLIT_FORMAT:
            raise InvalidInputError(
                f"{path} is not a geochem-bench split file (format {payload.get('format')!r}, "
                f"expected {SPLIT_FORMAT!r})"
            )
        return cls(
            sample_ids=np.asarray(payload["sample_ids"], dtype=np.int64),
            folds=np.asarray(payload["folds"], dtype=np.int64),
            n_folds=int(payload["n_folds"]),
            method=str(payload["method"]),
            params=dict(payload["params"]),
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
) -> SampleSplit:
    """Split samples into ``n_folds`` folds of whole spatial blocks.

    Blocks are shuffled with ``seed``, then dealt largest first to the fold with the fewest
    samples so far, which balances fold sizes. The result depends only on the sample
    locations, never on their values.

    Raises:
        ValueError: if there are fewer occupied blocks than folds.
    """
    if n_folds < 2:
        raise InvalidInputError(f"a k-fold split needs n_folds >= 2, got {n_folds}")
    if block_size <= 0:
        raise InvalidInputError(f"block_size must be positive, got {block_size}")
    bx = np.floor((np.asarray(x, dtype=np.float64) - origin[0]) / block_size).astype(np.int64)
    by = np.floor((origin[1] - np.asarray(y, dtype=np.float64)) / block_size).astype(np.int64)
    blocks, block_of_sample, counts = np.unique(
        np.stack([by, bx], axis=1), axis=0, return_inverse=True, return_counts=True
    )
    block_of_sample = block_of_sample.ravel()
    if len(blocks) < n_folds:
        raise InvalidInputError(
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
    return SampleSplit(
        sample_ids=np.asarray(sample_ids, dtype=np.int64),
        folds=fold_of_block[block_of_sample],
        n_folds=n_folds,
        method="spatial-block",
        params={
            "block_size": float(block_size),
            "origin": [float(origin[0]), float(origin[1])],
            "seed": seed,
        },
    )
