"""Moving neighbourhoods: the k nearest data of every target, grouped by shared data set.

On a prediction grid, adjacent cells often have the same k nearest data; their kriging
systems then have the same left-hand side, which :func:`~geochem_bench.kriging.systems.solve_shared`
factorises once. Sets are recognised by an order-free hash: the sum (mod 2**64) of a fixed
random 64-bit key per datum, two independent keys giving 128 bits, so that two different
sets of 32 among even millions of targets collide with probability below 1e-20.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_KEY_SEED = 20240514  # any fixed seed: the keys only have to differ between data


@dataclass(frozen=True)
class NeighbourSets:
    """The distinct neighbour sets of a batch of targets.

    Attributes:
        members: data indices of each distinct set (G, k), in the distance order of the
            first target that has it; sets are numbered in the order of their first target,
            so that consecutive sets are near each other when the targets are.
        system: which set each target uses (T,).
    """

    members: NDArray[np.intp]
    system: NDArray[np.intp]


def neighbour_sets(
    data_xy: NDArray[np.float64], target_xy: NDArray[np.float64], k: int | None
) -> NeighbourSets:
    """The ``k`` nearest data of every target (all data when ``k`` is None or >= their count).

    Ties at equal distance are broken as ``scipy.spatial.cKDTree.query`` breaks them (the
    search PyKrige's moving window uses too).
    """
    n = len(data_xy)
    if k is None or k >= n:
        return NeighbourSets(np.arange(n)[None, :], np.zeros(len(target_xy), dtype=np.intp))
    from scipy.spatial import cKDTree

    _, idx = cKDTree(data_xy).query(target_xy, k=k, workers=-1)
    idx = np.asarray(idx, dtype=np.intp).reshape(len(target_xy), k)
    keys = np.random.default_rng(_KEY_SEED).integers(
        0, np.iinfo(np.uint64).max, size=(2, n), dtype=np.uint64, endpoint=True
    )
    with np.errstate(over="ignore"):  # the sum is meant to wrap around mod 2**64
        hashes = np.column_stack([keys[0][idx].sum(axis=1), keys[1][idx].sum(axis=1)])
    void = np.ascontiguousarray(hashes).view(np.dtype((np.void, 16))).ravel()
    _, first, system = np.unique(void, return_index=True, return_inverse=True)
    rank = np.argsort(first)  # number the sets by their first target
    renumber = np.empty_like(rank)
    renumber[rank] = np.arange(len(rank))
    return NeighbourSets(idx[first[rank]], renumber[system.ravel()].astype(np.intp))
