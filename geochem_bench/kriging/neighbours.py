"""Moving neighbourhoods: the k nearest data of every target, grouped by shared data set.

Dense targets (a prediction grid) are searched tile by tile: the k nearest data of every
target of a tile lie within ``D + 2 r`` of the tile's centre, where ``D`` is the centre's k-th
nearest distance and ``r`` the tile's half-diagonal (the centre's k nearest are within
``D + r`` of any target of the tile, hence so are the target's own k nearest, which are then
within ``D + 2 r`` of the centre). One ball query per tile gives the candidates and a
partial sort of the targets' distances to them picks the k nearest: a few times faster than
a k-nearest query per target, whose heap dominates at k = 32. Sparse targets use that query.

On a prediction grid, adjacent cells often have the same k nearest data; their kriging
systems then have the same left-hand side, which :func:`~geochem_bench.kriging.systems.solve_shared`
factorises once. Sets are recognised by an order-free hash: the sum (mod 2**64) of a fixed
random 64-bit key per datum, two independent keys giving 128 bits, so that two different
sets of 32 among even millions of targets collide with probability below 1e-20.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

_KEY_SEED = 20240514  # any fixed seed: the keys only have to differ between data
_MIN_PER_TILE = 8  # fewer targets per tile on average: one query per target is cheaper
_TILE_BATCH = 20_000  # targets per distance matrix within a tile: bounds its memory


@dataclass(frozen=True)
class NeighbourSets:
    """The distinct neighbour sets of a batch of targets.

    Attributes:
        members: data indices of each distinct set (G, k), in no particular order; sets
            are numbered in the order of their first target, so that consecutive sets are
            near each other when the targets are.
        system: which set each target uses (T,).
    """

    members: NDArray[np.intp]
    system: NDArray[np.intp]


def neighbour_sets(
    data_xy: NDArray[np.float64],
    target_xy: NDArray[np.float64],
    k: int | None,
    shared_within: float | None = None,
) -> NeighbourSets:
    """The ``k`` nearest data of every target (all data when ``k`` is None or >= their count).

    Ties at equal distance (the k-th and the (k+1)-th nearest equally far) may be broken
    differently from ``scipy.spatial.cKDTree.query``, the search of PyKrige's moving window.

    With ``shared_within`` (a length in map units), the targets in each square of that side
    (squares aligned on the targets' lower-left corner) share one set: the ``k`` nearest data
    of the square's centre. That is no longer the moving window of PyKrige: a target near a
    square's corner is kriged from the centre's neighbours, not its own. It trades that for
    one system per square rather than one per distinct set (``benchmarks/test_bench_kriging.py``
    measures both against the truth).

    Raises:
        InvalidInputError: ``shared_within`` not a positive finite length.
    """
    n = len(data_xy)
    if shared_within is not None and not (np.isfinite(shared_within) and shared_within > 0):
        from geochem_bench.errors import InvalidInputError

        raise InvalidInputError(
            f"shared_within must be a positive length in map units, got {shared_within!r}"
        )
    if k is None or k >= n:
        return NeighbourSets(np.arange(n)[None, :], np.zeros(len(target_xy), dtype=np.intp))
    from scipy.spatial import cKDTree

    tree = cKDTree(data_xy)
    if shared_within is not None:
        return _shared_by_squares(tree, target_xy, k, float(shared_within))
    idx = _nearest_by_tiles(tree, data_xy, target_xy, k)
    if idx is None:
        _, found = tree.query(target_xy, k=k, workers=-1)
        idx = np.asarray(found, dtype=np.intp).reshape(len(target_xy), k)
    first, system = _distinct_sets(idx, n)
    return _numbered_by_first_target(idx[first], first, system)


def _shared_by_squares(
    tree: Any, target_xy: NDArray[np.float64], k: int, side: float
) -> NeighbourSets:
    """One set per occupied square of ``side``: the ``k`` nearest data of its centre."""
    origin = target_xy.min(axis=0)
    cell = np.floor((target_xy - origin) / side).astype(np.int64)
    width = int(cell[:, 1].max()) + 1
    _, first, system = np.unique(
        cell[:, 0] * width + cell[:, 1], return_index=True, return_inverse=True
    )
    centres = origin + (cell[first] + 0.5) * side
    _, found = tree.query(centres, k=k, workers=-1)
    members = np.asarray(found, dtype=np.intp).reshape(len(centres), k)
    return _numbered_by_first_target(members, first, system.ravel())


def _numbered_by_first_target(
    members: NDArray[np.intp], first: NDArray[np.intp], system: NDArray[np.intp]
) -> NeighbourSets:
    """Sets renumbered in the order of their first target (see :class:`NeighbourSets`).

    ``members`` (G, k) and ``first`` (G,) are in any set order, ``system`` (T,) indexes it.
    """
    rank = np.argsort(first)
    renumber = np.empty_like(rank)
    renumber[rank] = np.arange(len(rank))
    return NeighbourSets(members[rank], renumber[system].astype(np.intp))


def _distinct_sets(idx: NDArray[np.intp], n: int) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """First target of each distinct row set of ``idx``, and each target's set number.

    Grouped by the first 64-bit hash (a fast integer sort); the second hash must then be
    constant within each group, else two sets share the first hash and both hashes group.
    """
    keys = np.random.default_rng(_KEY_SEED).integers(
        0, np.iinfo(np.uint64).max, size=(2, n), dtype=np.uint64, endpoint=True
    )
    with np.errstate(over="ignore"):  # the sums are meant to wrap around mod 2**64
        primary = keys[0][idx].sum(axis=1)
        check = keys[1][idx].sum(axis=1)
    _, first, system = np.unique(primary, return_index=True, return_inverse=True)
    if not np.array_equal(check, check[first[system]]):
        both = np.ascontiguousarray(np.column_stack([primary, check]))
        void = both.view(np.dtype((np.void, 16))).ravel()
        _, first, system = np.unique(void, return_index=True, return_inverse=True)
    return first, system.ravel()


def _nearest_by_tiles(
    tree: Any, data_xy: NDArray[np.float64], target_xy: NDArray[np.float64], k: int
) -> NDArray[np.intp] | None:
    """The k nearest data (unordered) of each target, tile by tile; None if targets are sparse.

    Tiles are squares of a quarter of the typical k-th nearest distance, so that a tile's
    candidates are about twice k (smaller tiles: fewer candidates, more ball queries).
    """
    step = max(1, len(target_xy) // 1000)
    reach = float(np.median(tree.query(target_xy[::step], k=k)[0][:, -1]))
    if not reach > 0:
        return None
    cell = np.floor((target_xy - target_xy.min(axis=0)) / (reach / 4)).astype(np.int64)
    tile = cell[:, 0] * (int(cell[:, 1].max()) + 1) + cell[:, 1]
    order = np.argsort(tile, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(tile[order]) != 0])
    if len(target_xy) < _MIN_PER_TILE * len(starts):
        return None
    ends = np.r_[starts[1:], len(order)]
    sorted_xy = target_xy[order]
    lo = np.minimum.reduceat(sorted_xy, starts, axis=0)
    hi = np.maximum.reduceat(sorted_xy, starts, axis=0)
    centre = (lo + hi) / 2
    half = np.hypot(*(hi - lo).T) / 2
    kth = tree.query(centre, k=k, workers=-1)[0][:, -1]
    radius = (kth + 2 * half) * (1 + 1e-9) + 1e-12  # rounding must not drop a boundary datum
    candidates = tree.query_ball_point(centre, radius, workers=-1)
    found = np.empty((len(target_xy), k), dtype=np.intp)  # in tile order
    for t, near in enumerate(candidates):
        near = np.asarray(near, dtype=np.intp)
        cx, cy = data_xy[near, 0], data_xy[near, 1]
        for a in range(starts[t], ends[t], _TILE_BATCH):
            b = min(a + _TILE_BATCH, ends[t])
            dx = sorted_xy[a:b, 0, None] - cx
            dy = sorted_xy[a:b, 1, None] - cy
            dx *= dx
            dy *= dy
            dx += dy
            found[a:b] = near[np.argpartition(dx, k - 1, axis=1)[:, :k]]
    idx = np.empty_like(found)
    idx[order] = found
    return idx
