"""Kriging of point data: ordinary, simple, universal (external drift) and collocated cokriging.

All four build their systems from a :class:`~geochem_bench.kriging.variogram.Variogram` on
the neighbour sets of :func:`~geochem_bench.kriging.neighbours.neighbour_sets` and solve them
with :func:`~geochem_bench.kriging.systems.solve_shared`, in chunks of targets that bound the
memory (a chunk holds at most ``_MAX_RHS`` right-hand-side values and ``_MAX_LHS`` values of
left-hand sides). Ordinary and universal kriging equal PyKrige's ``OrdinaryKriging`` and
``UniversalKriging`` (``exact_values=False``, ``specified`` drift, global or
``n_closest_points``) to rounding: the cross-check of ``tests/test_kriging_engine.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geochem_bench.errors import InvalidInputError
from geochem_bench.kriging.neighbours import neighbour_sets
from geochem_bench.kriging.systems import bordered, solve_shared
from geochem_bench.kriging.variogram import Variogram, check_point_data

# float64 values of right- and left-hand sides per chunk (8 MB each): small enough that the
# element-wise passes over a chunk run in cache, which measured faster than larger chunks
_MAX_RHS = 1_000_000
_MAX_LHS = 1_000_000

Array = NDArray[np.float64]


@dataclass(frozen=True)
class PointKriging:
    """Point data and the variogram they are kriged with.

    Attributes:
        x: data x coordinates (N,).
        y: data y coordinates (N,).
        z: data values (N,).
        variogram: the variogram model.
        drift: external drift values at the data (N, p), or None; universal kriging adds
            them to the constant mean (kriging with external drift).
    """

    x: Array
    y: Array
    z: Array
    variogram: Variogram
    drift: Array | None = None

    def __post_init__(self) -> None:
        # two sites for two or more data: "all data at one site" has a singular system
        check_point_data(self.x, self.y, self.z, min_sites=1 if len(self.z) <= 1 else 2)

    def __len__(self) -> int:
        return len(self.z)


def krige(
    data: PointKriging,
    qx: Array,
    qy: Array,
    neighbours: int | None = None,
    target_drift: Array | None = None,
    mean: float | None = None,
    variance: bool = True,
    shared_within: float | None = None,
) -> tuple[Array, Array]:
    """Kriging estimate and variance at points.

    Ordinary kriging (unknown constant mean) by default; universal kriging when the data
    carry a drift (``target_drift`` then gives its values at the targets); simple kriging
    when ``mean`` is given (a known mean: no constraint, a bounded variogram needed).

    Args:
        data: the data and their variogram.
        qx: target x coordinates (T,).
        qy: target y coordinates (T,).
        neighbours: nearest data per target (None: all, the global system).
        target_drift: drift values at the targets (T, p), for data with a drift.
        mean: the known mean of simple kriging.
        variance: compute the kriging variance; without it (NaN returned) the global system
            is solved once for the data (dual kriging), O(N) per target instead of O(N**2).
        shared_within: targets in the same square of this side (map units) share the
            ``neighbours`` nearest data of the square's centre (see
            :func:`~geochem_bench.kriging.neighbours.neighbour_sets`); None: each target's own.

    Returns:
        Estimates and kriging variances (T,), the variance clipped at 0 against rounding.
    """
    if (data.drift is None) != (target_drift is None):
        raise InvalidInputError("a drift must be given at both the data and the targets")
    if mean is not None and data.drift is not None:
        raise InvalidInputError("simple kriging has a known mean, not a drift")
    if mean is not None and data.variogram.model == "linear":
        raise InvalidInputError("simple kriging needs a variogram with a sill (not linear)")
    values = data.z if mean is None else data.z - mean
    if mean is None:
        drift = np.ones((len(data), 1))
        tdrift = np.ones((len(qx), 1))
        if data.drift is not None and target_drift is not None:
            drift = np.column_stack([drift, data.drift])
            tdrift = np.column_stack([tdrift, target_drift])
    else:
        drift, tdrift = np.empty((len(data), 0)), np.empty((len(qx), 0))
    est, var = _solve(
        data, values, drift, tdrift, qx, qy, neighbours, None, variance, shared_within
    )
    return (est if mean is None else est + mean), var


def collocated_cokriging(
    data: PointKriging,
    secondary: Array,
    qx: Array,
    qy: Array,
    target_secondary: Array,
    neighbours: int | None = None,
) -> tuple[Array, Array]:
    """Simple collocated cokriging under the Markov model 1 (Xu et al. 1992).

    The secondary variable ``Y`` is known at every target; only its collocated value enters
    each estimate. Markov model 1 takes the cross-covariance proportional to the primary
    covariance, ``C_ZY(h) = rho * sqrt(var_Y / C_Z(0)) * C_Z(h)``, so only ``rho`` (the
    correlation of ``Z`` and ``Y`` at the data) and ``var_Y`` are inferred besides the
    primary variogram. The means of both variables are their sample means at the data
    (simple cokriging: the ordinary form would force the secondary weight to zero).

    Args:
        data: primary data and variogram (bounded), without drift.
        secondary: ``Y`` at the data (N,).
        qx: target x coordinates (T,).
        qy: target y coordinates (T,).
        target_secondary: ``Y`` at the targets (T,).
        neighbours: nearest primary data per target (None: all).

    Returns:
        Estimates and cokriging variances (T,).
    """
    if data.drift is not None or data.variogram.model == "linear":
        raise InvalidInputError("collocated cokriging takes a bounded variogram and no drift")
    y = np.asarray(secondary, dtype=np.float64)
    mz, my = float(data.z.mean()), float(y.mean())
    var_y = float(y.var())
    rho = float(np.corrcoef(data.z, y)[0, 1]) if var_y > 0 else 0.0
    cross = rho * np.sqrt(var_y / data.variogram.sill) if var_y > 0 else 0.0
    ty = np.asarray(target_secondary, dtype=np.float64) - my
    extra = _Collocated(cross, var_y, ty)
    est, var = _solve(
        data,
        data.z - mz,
        np.empty((len(data), 0)),
        np.empty((len(qx), 0)),
        qx,
        qy,
        neighbours,
        extra,
    )
    return est + mz, var


@dataclass(frozen=True)
class _Collocated:
    """The collocated secondary datum appended to each target's system (Markov model 1).

    Attributes:
        cross: ``C_ZY(h) / C_Z(h)``.
        var_y: the secondary variance, ``C_Y(0)``.
        value: the centred secondary value at each target (T,).
    """

    cross: float
    var_y: float
    value: Array


def _solve(
    data: PointKriging,
    values: Array,
    drift: Array,
    tdrift: Array,
    qx: Array,
    qy: Array,
    neighbours: int | None,
    collocated: _Collocated | None,
    variance: bool = True,
    shared_within: float | None = None,
) -> tuple[Array, Array]:
    """Assemble and solve the systems of every target, chunk by chunk."""
    vg = data.variogram
    xy = np.column_stack([data.x, data.y]).astype(np.float64)
    q = np.column_stack([qx, qy]).astype(np.float64)
    sets = neighbour_sets(xy, q, neighbours, shared_within)
    k = sets.members.shape[1]
    p = drift.shape[1]
    n = k + p + (collocated is not None)
    order = np.argsort(sets.system, kind="stable")
    sorted_system = sets.system[order]
    starts = np.searchsorted(sorted_system, np.arange(len(sets.members) + 1))
    max_targets = max(1, _MAX_RHS // n)
    max_systems = max(1, _MAX_LHS // (n * n))
    est = np.empty(len(q))
    var = np.empty(len(q))
    factor = None
    if len(sets.members) == 1 and collocated is None:
        # one system for every target (the global neighbourhood): factorised once, not once
        # per chunk of targets
        from scipy.linalg import lu_factor

        factor = lu_factor(bordered(_data_covariance(vg, xy, sets.members), drift[sets.members])[0])
    dual = None
    if factor is not None and not variance:
        # dual kriging: the estimate is rhs . A^-1 [z; 0], one solve for all targets
        from scipy.linalg import lu_solve

        dual = lu_solve(factor, np.r_[values[sets.members[0]], np.zeros(p)])
    pos = 0
    while pos < len(q):
        g0 = int(sorted_system[pos])
        end = min(pos + max_targets, int(starts[min(g0 + max_systems, len(sets.members))]))
        if collocated is not None:  # one system per target: bound the targets by systems too
            end = min(end, pos + max_systems)
        targets = order[pos:end]
        system = sorted_system[pos:end] - g0
        members = sets.members[g0 : int(sorted_system[end - 1]) + 1]
        if factor is not None:  # every target has all the data: broadcast, no gather
            near = members
            xs, ys = xy[members[0], 0][None, :], xy[members[0], 1][None, :]
        else:
            near = members[system]  # (t, k) data of each target
            xs, ys = xy[near, 0], xy[near, 1]
        c = vg.covariance(_distance(xs, ys, q[targets, 0, None], q[targets, 1, None]))
        rhs = np.concatenate([c, tdrift[targets]], axis=1)
        if dual is not None:
            est[targets] = rhs @ dual
            var[targets] = np.nan
            pos = end
            continue
        if factor is not None:
            from scipy.linalg import lu_solve

            solution = lu_solve(factor, rhs.T).T
        else:
            lhs = bordered(_data_covariance(vg, xy, members), drift[members])
            if collocated is not None:
                lhs, rhs, system = _append_collocated(lhs, rhs, system, c, collocated, targets, vg)
            solution = solve_shared(lhs, rhs, system)
        weights = solution[:, :k]
        if factor is not None:
            est[targets] = weights @ values[members[0]]
        else:
            est[targets] = np.einsum("tk,tk->t", weights, values[near])
        var[targets] = vg.sill - np.einsum("tn,tn->t", solution, rhs)
        if collocated is not None:
            est[targets] += solution[:, -1] * collocated.value[targets]
        pos = end
    return est, (np.maximum(var, 0.0) if variance else np.full(len(q), np.nan))


def _data_covariance(vg: Variogram, xy: Array, members: NDArray[np.intp]) -> Array:
    """Covariances among each set's data (G, k, k); the diagonal is the sill (gamma = 0).

    The model is evaluated once on every pair of the chunk's distinct data and gathered per
    set: neighbour sets of nearby targets share most of their data (and sets come in target
    order, see :func:`~geochem_bench.kriging.neighbours.neighbour_sets`), so this evaluates
    the model a few times less often than on each set's k x k pairs, the costliest step of a
    moving neighbourhood otherwise.
    """
    distinct, local = np.unique(members, return_inverse=True)
    local = local.reshape(members.shape)
    pts = xy[distinct]
    cov = vg.covariance(
        _distance(pts[:, None, 0], pts[:, None, 1], pts[None, :, 0], pts[None, :, 1])
    )
    np.fill_diagonal(cov, vg.sill)
    flat = local[:, :, None] * len(distinct) + local[:, None, :]
    return np.take(cov.ravel(), flat)  # a flat take: faster than a 2-D fancy index


def _distance(ax: Array, ay: Array, bx: Array, by: Array) -> Array:
    """Euclidean distance, broadcast.

    ``sqrt(dx**2 + dy**2)`` in place: ``np.hypot``, careful against an overflow that map
    coordinates never reach, measured ten times slower.
    """
    dx = ax - bx
    dy = ay - by
    dx *= dx
    dy *= dy
    dx += dy
    return np.sqrt(dx, out=dx)


def _append_collocated(
    lhs: Array,
    rhs: Array,
    system: NDArray[np.intp],
    c: Array,
    colloc: _Collocated,
    targets: NDArray[np.intp],
    vg: Variogram,
) -> tuple[Array, Array, NDArray[np.intp]]:
    """Per-target systems with the collocated secondary datum as the last unknown."""
    t, n = rhs.shape
    out = np.zeros((t, n + 1, n + 1))
    out[:, :n, :n] = lhs[system]
    out[:, :n, n] = out[:, n, :n] = colloc.cross * c  # C_ZY(datum - target)
    out[:, n, n] = colloc.var_y
    right = np.concatenate([rhs, np.full((t, 1), colloc.cross * vg.sill)], axis=1)
    return out, right, np.arange(t)
