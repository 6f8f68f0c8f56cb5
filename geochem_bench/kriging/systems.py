"""Batched kriging systems: many small systems, each solved for all the targets that share it.

Every kriging estimator here, on point or block support, reduces to the bordered system

    [[K, F], [F^T, 0]] [w; mu] = [c; f]

with ``K`` the covariances among the data of a neighbourhood, ``F`` their drift values (a
column of ones filters an unknown constant mean; none is simple kriging), ``c`` the covariances
between the data and one target and ``f`` the target's drift values. Targets that share a
neighbourhood share the left-hand side, so the system is factorised once per neighbourhood
for all of its targets' right-hand sides (LAPACK ``gesv`` with several columns).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def bordered(cov: NDArray[np.float64], drift: NDArray[np.float64]) -> NDArray[np.float64]:
    """Left-hand sides ``[[K, F], [F^T, 0]]`` of a stack of systems.

    Args:
        cov: data covariances ``K`` (G, k, k).
        drift: drift values ``F`` of the data (G, k, p); p = 0 gives ``K`` itself.

    Returns:
        The bordered matrices (G, k + p, k + p).
    """
    g, k, p = drift.shape
    out = np.zeros((g, k + p, k + p))
    out[:, :k, :k] = cov
    out[:, :k, k:] = drift
    out[:, k:, :k] = drift.transpose(0, 2, 1)
    return out


def solve_shared(
    lhs: NDArray[np.float64], rhs: NDArray[np.float64], system: NDArray[np.intp]
) -> NDArray[np.float64]:
    """Solve ``lhs[system[t]] x_t = rhs[t]`` for every target ``t``.

    Targets are gathered by how many share a system, so each batch is one call of a batched
    ``np.linalg.solve`` whose systems all have the same number of right-hand sides.

    Args:
        lhs: left-hand sides (G, n, n).
        rhs: one right-hand side per target (T, n).
        system: index into ``lhs`` of each target's system (T,), ascending.

    Returns:
        The solutions (T, n).
    """
    out = np.empty_like(rhs)
    counts = np.bincount(system, minlength=lhs.shape[0])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for size in np.unique(counts[counts > 0]):
        which = np.flatnonzero(counts == size)
        at = starts[which][:, None] + np.arange(size)[None, :]  # (systems, size) targets
        columns = rhs[at].transpose(0, 2, 1)  # (systems, n, size)
        out[at] = _solve_batch(lhs[which], columns).transpose(0, 2, 1)
    return out


def _solve_batch(lhs: NDArray[np.float64], columns: NDArray[np.float64]) -> NDArray[np.float64]:
    """Batched ``np.linalg.solve``; a singular system gets the least-squares minimum-norm fit.

    A system is singular when its drift is degenerate in the neighbourhood (an external
    drift constant over the neighbours, where a covariate was filled by its mean) or data
    repeat; one such system must not fail the whole batch.
    """
    try:
        return np.asarray(np.linalg.solve(lhs, columns), dtype=np.float64)
    except np.linalg.LinAlgError:
        fits = [np.linalg.lstsq(a, b, rcond=None)[0] for a, b in zip(lhs, columns)]
        return np.stack(fits).astype(np.float64)
