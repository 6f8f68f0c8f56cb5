"""Area-to-point kriging (ATPK): point-support maps from block data, coherent by construction.

The lowres grid of the grid protocol holds block means, not point data. Kriging them as points
at the block centres (what ordinary kriging on the coarse cells does) ignores the change of
support: the variogram of block means is smoother and lower than the point variogram, and the
kriged map does not average back to the data. ATPK (Kyriakidis 2004, *Geographical Analysis*
36(3):259-289) instead

1. infers the **point-support** covariance whose regularisation over the blocks matches the
   experimental variogram of the block data (deconvolution, :func:`deconvolve`), and
2. predicts every fine cell from the nearby block data with block-to-block and block-to-point
   covariances averaged over the blocks' fine cells (:func:`area_to_point`).

When every fine cell of a block is predicted from the same neighbourhood, and that
neighbourhood contains the block, the mean of the kriging weights over the block's cells is the
unit vector of the block (Kyriakidis 2004, eq. 14): the map's block means equal the data to
rounding. This module keeps that condition, so the coherence is exact in the space the data
are kriged in.

Written by hand because no maintained Python library kriges from areal data with
block-to-point covariances (PyKrige, GSTools and scikit-gstat krige point data).

Geometry and speed: block ``(i, j)`` covers fine rows ``i*s .. i*s+s-1`` and columns
``j*s .. j*s+s-1`` of a north-up grid; distances are in map units (the grid's cell size). On a
regular lattice the covariances depend only on the offset between blocks, so the weights of
every block with the same neighbourhood pattern (which neighbours have data) are solved once
and applied to all of them as one matrix product. Blocks next to partly valid blocks (a mask
edge, the grid edge) use their exact supports, one small system each.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.grid import fill_nearest
from geochem_bench.core.task import Prediction, TaskInputs
from geochem_bench.errors import InvalidInputError
from geochem_bench.kriging.systems import bordered, solve_shared
from geochem_bench.models.base import FusionModel
from geochem_bench.models.upsampling import back_project


@dataclass(frozen=True)
class PointCovariance:
    """An isotropic exponential covariance of point support with a nugget.

    ``C(0) = nugget + sill`` and ``C(h) = sill * exp(-3 h / range)`` for ``h > 0`` (``range``
    is the practical range, where the correlation falls to 5 %).

    Attributes:
        nugget: variance at zero distance not spatially correlated (micro-scale and noise).
        sill: partial sill of the exponential structure.
        range: practical range in map units.
    """

    nugget: float
    sill: float
    range: float

    def __call__(self, h: NDArray[np.float64]) -> NDArray[np.float64]:
        """The covariance at distances ``h`` (map units)."""
        h = np.asarray(h, dtype=np.float64)
        c = self.sill * np.exp(-3.0 * h / self.range)
        return np.where(h == 0.0, c + self.nugget, c)


class _OffsetTable:
    """Box sums of the covariance over fine-cell offsets, for block averages in O(1).

    ``G[a, b] = C(distance of the offset (a - m, b - m) fine cells)`` on a square of offsets
    ``[-m, m]``; its summed-area table gives the sum of ``C`` over any ``s`` x ``s`` window of
    offsets, which is ``s**2`` times the covariance between a point and a block.
    """

    def __init__(self, model: PointCovariance, res: tuple[float, float], reach: int) -> None:
        self.m = reach
        offsets = np.arange(-reach, reach + 1, dtype=np.float64)
        dy, dx = offsets[:, None] * res[1], offsets[None, :] * res[0]
        table = model(np.hypot(dy, dx))
        self.sat = np.zeros((table.shape[0] + 1, table.shape[1] + 1))
        self.sat[1:, 1:] = table.cumsum(0).cumsum(1)

    def box_mean(
        self, rows: NDArray[np.int64], cols: NDArray[np.int64], size: int
    ) -> NDArray[np.float64]:
        """Mean of ``C`` over offsets ``[rows, rows + size) x [cols, cols + size)``."""
        r0, c0 = rows + self.m, cols + self.m
        if r0.min(initial=0) < 0 or c0.min(initial=0) < 0:
            raise AssertionError("offset table too small")  # a bug, not bad input
        r1, c1 = r0 + size, c0 + size
        s = self.sat
        return (s[r1, c1] - s[r0, c1] - s[r1, c0] + s[r0, c0]) / (size * size)


def block_block_covariance(
    model: PointCovariance, scale: int, res: tuple[float, float], lags: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Covariance between two full blocks ``lags`` (rows, cols; shape (N, 2)) blocks apart.

    The mean of the point covariance over every pair of fine cells of the two blocks.
    """
    lags = np.asarray(lags, dtype=np.int64).reshape(-1, 2)
    reach = (int(np.abs(lags).max(initial=0)) + 1) * scale
    table = _OffsetTable(model, res, reach)
    p = np.arange(scale)
    # offset of a cell of the lag block from a cell (p, q) of block 0: lag*s + u - p; the box
    # over u in [0, s) starts at lag*s - p
    start_r = lags[:, 0, None, None] * scale - p[None, :, None]
    start_c = lags[:, 1, None, None] * scale - p[None, None, :]
    start_r, start_c = np.broadcast_arrays(start_r, start_c)
    return table.box_mean(start_r, start_c, scale).mean(axis=(1, 2))


def regularised_variogram(
    model: PointCovariance, scale: int, res: tuple[float, float], lags: NDArray[np.int64]
) -> NDArray[np.float64]:
    """The variogram of block means implied by ``model``: C_vv(0) - C_vv(lag)."""
    cov = block_block_covariance(model, scale, res, np.vstack([[0, 0], lags]))
    return cov[0] - cov[1:]


@dataclass(frozen=True)
class BlockVariogram:
    """An experimental variogram of block data on a regular lattice.

    Attributes:
        lags: lag vectors in blocks (N, 2), each with at least one pair.
        gamma: semivariance per lag vector.
        pairs: number of pairs per lag vector.
        distance: lag distance in map units.
    """

    lags: NDArray[np.int64]
    gamma: NDArray[np.float64]
    pairs: NDArray[np.int64]
    distance: NDArray[np.float64]


def block_variogram(
    values: NDArray[np.floating], scale: int, res: tuple[float, float], max_lag: int
) -> BlockVariogram:
    """Semivariance of the block values for every lag vector within ``max_lag`` blocks.

    Args:
        values: block values (h, w); NaN blocks are skipped.
        scale: fine cells per block edge.
        res: fine cell size (x, y) in map units.
        max_lag: largest lag, in blocks, along either axis.
    """
    z = np.asarray(values, dtype=np.float64)
    h, w = z.shape
    lags, gamma, pairs = [], [], []
    for di in range(0, max_lag + 1):
        for dj in range(-max_lag, max_lag + 1):
            if (di, dj) <= (0, 0):  # each unordered lag once (the variogram is symmetric)
                continue
            if di >= h or abs(dj) >= w:
                continue
            # pairs z[r, c] and z[r + di, c + dj] over every r, c where both exist
            c0, c1 = max(0, -dj), min(w, w - dj)
            a = z[: h - di, c0:c1]
            b = z[di:, c0 + dj : c1 + dj]
            d = (a - b)[np.isfinite(a) & np.isfinite(b)]
            if d.size:
                lags.append((di, dj))
                gamma.append(0.5 * float(np.mean(d * d)))
                pairs.append(d.size)
    lag_array = np.array(lags, dtype=np.int64).reshape(-1, 2)
    distance = np.hypot(lag_array[:, 0] * scale * res[1], lag_array[:, 1] * scale * res[0])
    return BlockVariogram(lag_array, np.array(gamma), np.array(pairs, dtype=np.int64), distance)


def deconvolve(
    values: NDArray[np.floating],
    scale: int,
    res: tuple[float, float],
    max_lag: int | None = None,
    fit_nugget: bool = False,
) -> PointCovariance:
    """The point-support exponential model whose block regularisation fits the block data.

    The model's regularised variogram (:func:`regularised_variogram`, exact block averages)
    is fitted to the experimental block variogram by weighted least squares, with Cressie's
    weights (pairs / model value squared), so that the short, well-informed lags dominate.
    This is the end point of the iterative deconvolution of Goovaerts (2008, *Mathematical
    Geosciences* 40:101-128), which rescales a point model until its regularisation matches
    the block variogram; fitting the regularised model directly reaches it without the
    rescaling loop.

    Args:
        values: block values (h, w) in the space they are kriged in; NaN blocks skipped.
        scale: fine cells per block edge.
        res: fine cell size (x, y) in map units.
        max_lag: largest lag in blocks (default: a third of the lattice's shorter side, at
            least 3 and at most 15).
        fit_nugget: fit a point-support nugget too. Off by default: block averaging divides
            a point nugget by the number of cells per block (256 at x16), so block data hardly
            tell it from the short-range part of the exponential, and a free nugget wanders
            (4.5 on one of the four fields of the recovery test, whose nugget is 0).

    Raises:
        InvalidInputError: fewer than 3 blocks with data, or no spread among them.
    """
    from scipy.optimize import least_squares

    z = np.asarray(values, dtype=np.float64)
    finite = z[np.isfinite(z)]
    if finite.size < 3 or float(finite.var()) <= 0:
        raise InvalidInputError(
            f"area-to-point kriging needs at least 3 blocks with differing values, got "
            f"{finite.size}; use a smaller scale factor or a larger area"
        )
    if max_lag is None:
        max_lag = int(np.clip(min(z.shape) // 3, 3, 15))
    experimental = block_variogram(z, scale, res, max_lag)
    variance = float(finite.var())
    block_size = scale * float(np.hypot(*res))
    # bounds: the range from a quarter of a fine cell to ten times the lattice, the variances
    # up to ten times the data's
    extent = float(experimental.distance.max(initial=block_size))
    lower = np.log([1e-6 * variance, 0.25 * min(res), 1e-9 * variance])
    upper = np.log([10 * variance, 10 * extent, 10 * variance])
    start = np.log([variance, max(extent / 3, 2 * block_size), 0.05 * variance])
    if not fit_nugget:
        lower, upper, start = lower[:2], upper[:2], start[:2]

    def model_of(theta: NDArray[np.float64]) -> PointCovariance:
        sill, rng, *nugget = np.exp(theta)
        return PointCovariance(float(nugget[0]) if nugget else 0.0, float(sill), float(rng))

    def residuals(theta: NDArray[np.float64]) -> NDArray[np.float64]:
        fitted = regularised_variogram(model_of(theta), scale, res, experimental.lags)
        weight = np.sqrt(experimental.pairs) / np.maximum(fitted, 1e-12 * variance)
        return weight * (fitted - experimental.gamma)

    start = np.clip(start, lower + 1e-9, upper - 1e-9)
    fit = least_squares(residuals, start, bounds=(lower, upper), x_scale="jac")
    return model_of(fit.x)


@dataclass(frozen=True)
class PointMap:
    """An ATPK prediction on the fine grid.

    Attributes:
        mean: predicted value per fine cell (H, W); NaN where no block has data nearby or the
            cell is not valid.
        variance: kriging variance per fine cell (H, W), same NaN cells.
    """

    mean: NDArray[np.float64]
    variance: NDArray[np.float64]


def area_to_point(
    values: NDArray[np.floating],
    valid: NDArray[np.bool_],
    scale: int,
    res: tuple[float, float],
    model: PointCovariance,
    radius: int = 2,
    drift: NDArray[np.floating] | None = None,
) -> PointMap:
    """Ordinary (or external-drift) area-to-point kriging of block data onto the fine cells.

    Each block predicts its valid fine cells from the blocks with data within
    ``radius`` blocks along either axis (itself included), under an unknown constant mean
    (ordinary kriging) or, with ``drift``, a mean linear in the drift fields with
    coefficients unknown and re-estimated in every neighbourhood (kriging with an external
    drift at block support). Its cells' mean equals its datum to rounding: with a drift too,
    because a block's drift datum is the mean of the fine drift over its valid cells.

    Args:
        values: block values (h, w), the mean over each block's valid fine cells; NaN where
            a block has no data.
        valid: fine cells that count (H, W); a block's support is its valid cells.
        scale: fine cells per block edge (h = ceil(H / scale), w = ceil(W / scale)).
        res: fine cell size (x, y) in map units.
        model: the point-support covariance (:func:`deconvolve`).
        radius: neighbourhood half-width in blocks.
        drift: external drift fields on the fine grid (p, H, W), finite on valid cells;
            their block means over valid cells are the blocks' drift data. Every block then
            has its own system (no neighbourhood pattern is shared); a block whose
            neighbourhood cannot estimate the drift (fewer than p + 2 data, or drift data
            that are collinear there) is kriged ordinarily.

    Returns:
        The prediction and its kriging variance. Valid fine cells of a block without data
        (possible only where block data were withheld on purpose) are predicted from the
        blocks around them, with no coherence to keep; they stay NaN only when no block
        within ``radius`` has data.
    """
    z = np.asarray(values, dtype=np.float64)
    height, width = valid.shape
    h, w = z.shape
    if (h, w) != (math.ceil(height / scale), math.ceil(width / scale)):
        raise InvalidInputError(
            f"block grid {z.shape} does not match the fine grid {valid.shape} at scale {scale}"
        )
    if radius < 0:
        raise InvalidInputError(f"radius must be >= 0 blocks, got {radius}")
    padded = np.zeros((h * scale, w * scale), dtype=bool)
    padded[:height, :width] = valid
    count = padded.reshape(h, scale, w, scale).sum(axis=(1, 3))
    has_data = np.isfinite(z) & (count > 0)
    full = has_data & (count == scale * scale)

    mean = np.full((h * scale, w * scale), np.nan)
    variance = np.full((h * scale, w * scale), np.nan)
    offsets = np.array(
        [(di, dj) for di in range(-radius, radius + 1) for dj in range(-radius, radius + 1)]
    )
    table = _OffsetTable(model, res, (2 * radius + 2) * scale)
    c0 = model.nugget + model.sill
    # covariance of two full blocks at every lag a neighbourhood holds, [-2r, 2r] squared
    span = np.arange(-2 * radius, 2 * radius + 1)
    lag_grid = np.array([(a, b) for a in span for b in span])
    lag_cov = block_block_covariance(model, scale, res, lag_grid).reshape(len(span), len(span))
    if drift is not None:
        drift = _checked_drift(drift, valid)
        fine_drift = np.zeros((drift.shape[0], h * scale, w * scale))
        fine_drift[:, :height, :width] = np.where(valid, drift, 0.0)
        block_drift = fine_drift.reshape(-1, h, scale, w, scale).sum(axis=(2, 4))
        with np.errstate(invalid="ignore", divide="ignore"):
            block_drift = block_drift / count
        rows, cols = np.nonzero(count > 0)
        for i, j in zip(rows.tolist(), cols.tolist()):
            found = _neighbourhood(
                i, j, offsets, has_data, full, padded, model, res, table, scale, lag_cov, radius
            )
            if found is None:
                continue
            ni, nj, k, targets, rhs = found
            f_data = np.column_stack([np.ones(ni.size), block_drift[:, ni, nj].T])
            f_target = np.column_stack(
                [np.ones(len(targets)), fine_drift[:, targets[:, 0], targets[:, 1]].T]
            )
            weights, multipliers = _drift_weights(k, rhs, f_data, f_target)
            var = (
                c0
                - np.einsum("pn,pn->p", weights, rhs)
                - np.einsum("pn,pn->p", multipliers, f_target[:, : multipliers.shape[1]])
            )
            mean[targets[:, 0], targets[:, 1]] = weights @ z[ni, nj]
            variance[targets[:, 0], targets[:, 1]] = var
        return _cropped(mean, variance, valid)

    # Regular blocks: the block and every neighbour with data are full blocks; such
    # neighbourhoods differ only by which neighbours have data, so group by that pattern.
    groups: dict[bytes, list[tuple[int, int]]] = defaultdict(list)
    irregular: list[tuple[int, int]] = []
    rows, cols = np.nonzero(count > 0)
    for i, j in zip(rows.tolist(), cols.tolist()):
        ni, nj = offsets[:, 0] + i, offsets[:, 1] + j
        inside = (ni >= 0) & (ni < h) & (nj >= 0) & (nj < w)
        present = np.zeros(len(offsets), dtype=bool)
        present[inside] = has_data[ni[inside], nj[inside]]
        if has_data[i, j] and np.all(full[ni[present], nj[present]]):
            groups[np.packbits(present).tobytes()].append((i, j))
        else:
            irregular.append((i, j))

    p = np.arange(scale)
    point_r = np.repeat(p, scale)  # fine cell (row, col) within the block, row-major
    point_c = np.tile(p, scale)
    for key, blocks in groups.items():
        present = np.unpackbits(np.frombuffer(key, dtype=np.uint8))[: len(offsets)].astype(bool)
        near = offsets[present]
        lags = (near[None, :, :] - near[:, None, :]).reshape(-1, 2)
        k = block_block_covariance(model, scale, res, lags).reshape(len(near), len(near))
        # point (p, q) of the centre block against neighbour block (di, dj): box of offsets
        # starting at (di*s - p, dj*s - q)
        rhs = table.box_mean(
            near[None, :, 0] * scale - point_r[:, None],
            near[None, :, 1] * scale - point_c[:, None],
            scale,
        )
        weights, lagrange = _ordinary_weights(k, rhs)
        var = c0 - np.einsum("pn,pn->p", weights, rhs) - lagrange
        bi = np.array([b[0] for b in blocks])
        bj = np.array([b[1] for b in blocks])
        data = z[bi[:, None] + near[None, :, 0], bj[:, None] + near[None, :, 1]]
        pred = data @ weights.T  # (blocks, s*s)
        _scatter(mean, bi, bj, pred, scale)
        _scatter(variance, bi, bj, np.broadcast_to(var, pred.shape), scale)

    for i, j in irregular:
        found = _neighbourhood(
            i, j, offsets, has_data, full, padded, model, res, table, scale, lag_cov, radius
        )
        if found is None:
            continue  # valid cells with no block data within reach stay NaN
        ni, nj, k, targets, rhs = found
        weights, lagrange = _ordinary_weights(k, rhs)
        var = c0 - np.einsum("pn,pn->p", weights, rhs) - lagrange
        pred = weights @ z[ni, nj]
        mean[targets[:, 0], targets[:, 1]] = pred
        variance[targets[:, 0], targets[:, 1]] = var
    return _cropped(mean, variance, valid)


def _cropped(
    mean: NDArray[np.float64], variance: NDArray[np.float64], valid: NDArray[np.bool_]
) -> PointMap:
    """The padded block-grid maps cut to the fine grid, NaN off the valid cells."""
    height, width = valid.shape
    mean, variance = mean[:height, :width], variance[:height, :width]
    mean[~valid] = np.nan
    # rounding can leave a variance a hair below 0 at the block's own data
    variance = np.where(valid, np.maximum(variance, 0.0), np.nan)
    return PointMap(mean=mean, variance=variance)


def _neighbourhood(
    i: int,
    j: int,
    offsets: NDArray[np.int64],
    has_data: NDArray[np.bool_],
    full: NDArray[np.bool_],
    padded: NDArray[np.bool_],
    model: PointCovariance,
    res: tuple[float, float],
    table: _OffsetTable,
    scale: int,
    lag_cov: NDArray[np.float64],
    radius: int,
) -> _Neighbourhood | None:
    """Block (i, j)'s system with exact supports (None: no block within reach has data)."""
    h, w = has_data.shape
    ni, nj = offsets[:, 0] + i, offsets[:, 1] + j
    inside = (ni >= 0) & (ni < h) & (nj >= 0) & (nj < w)
    ni, nj = ni[inside], nj[inside]
    keep = has_data[ni, nj]
    ni, nj = ni[keep], nj[keep]
    if ni.size == 0:
        return None
    blocks = list(zip(ni.tolist(), nj.tolist()))
    is_full = full[ni, nj]
    supports = [None if f else _support(padded, a, b, scale) for (a, b), f in zip(blocks, is_full)]
    # full-full pairs from the lag table at once; pairs with a partial block from its cells
    k = lag_cov[ni[None, :] - ni[:, None] + 2 * radius, nj[None, :] - nj[:, None] + 2 * radius]
    for a in np.flatnonzero(~is_full):
        cells = supports[a]
        assert cells is not None
        cov = table.box_mean(
            ni[None, :] * scale - cells[:, 0, None],
            nj[None, :] * scale - cells[:, 1, None],
            scale,
        ).mean(axis=0)
        for b in np.flatnonzero(~is_full):
            other = supports[b]
            assert other is not None
            cov[b] = _mean_cov(model, res, cells, other)
        k[a, :] = cov
        k[:, a] = cov
    targets = _support(padded, i, j, scale)
    rhs = np.empty((len(targets), len(blocks)))
    # every full block at once (a box of offsets per point), partial blocks from their cells
    rhs[:, is_full] = table.box_mean(
        ni[None, is_full] * scale - targets[:, 0, None],
        nj[None, is_full] * scale - targets[:, 1, None],
        scale,
    )
    for a in np.flatnonzero(~is_full):
        rhs[:, a] = _points_block_cov(model, res, table, scale, targets, blocks[a], supports[a])
    return _Neighbourhood(ni, nj, k, targets, rhs)


class _Neighbourhood(NamedTuple):
    """One block's kriging system.

    Attributes:
        ni: rows of the data blocks (n,).
        nj: columns of the data blocks (n,).
        k: covariances between the data blocks (n, n).
        targets: the block's valid fine cells (m, 2).
        rhs: covariances of the targets with the data blocks (m, n).
    """

    ni: NDArray[np.int64]
    nj: NDArray[np.int64]
    k: NDArray[np.float64]
    targets: NDArray[np.int64]
    rhs: NDArray[np.float64]


def _drift_weights(
    k: NDArray[np.float64],
    rhs: NDArray[np.float64],
    f_data: NDArray[np.float64],
    f_target: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Kriging weights (P, N) and multipliers (P, q) with the drift columns ``f_*``.

    Falls back to the constant mean alone (ordinary kriging, q = 1) where the data cannot
    estimate the drift: fewer than q + 1 data, or drift data collinear in this neighbourhood.
    """
    n, q = f_data.shape
    # The drift's columns centred and scaled on the data: with the constant they span the
    # same space, so the weights are the same, but the rank test and the solve no longer
    # depend on the drift's units or origin (an offset of 1e9 hid the drift from the rank
    # test). The multipliers are mapped back to the given columns below.
    centre = f_data[:, 1:].mean(axis=0)
    spread = f_data[:, 1:].std(axis=0)
    spread[spread == 0] = 1.0
    to_standard = np.eye(q)  # f_standard = f @ to_standard
    to_standard[0, 1:] = -centre / spread
    to_standard[1:, 1:] = np.diag(1.0 / spread)
    f_data_s, f_target_s = f_data @ to_standard, f_target @ to_standard
    if n > q and np.linalg.matrix_rank(f_data_s) == q:
        system = bordered(k[None], f_data_s[None])
        right = np.column_stack([rhs, f_target_s])
        try:
            solution = solve_shared(system, right, np.zeros(rhs.shape[0], dtype=np.intp))
        except np.linalg.LinAlgError:
            pass
        else:
            if np.isfinite(solution).all():
                # mu_s . f_s = mu_s . (f @ T) = (T @ mu_s) . f
                return solution[:, :n], solution[:, n:] @ to_standard.T
    weights, lagrange = _ordinary_weights(k, rhs)
    return weights, lagrange[:, None]


def _checked_drift(drift: NDArray[np.floating], valid: NDArray[np.bool_]) -> NDArray[np.float64]:
    """The drift fields as float64 (p, H, W), refused unless finite on every valid cell.

    Raises:
        InvalidInputError: fields of another shape than the valid mask's, or a non-finite
            drift value on a valid cell (off the valid cells the drift is never read).
    """
    fields = np.asarray(drift, dtype=np.float64)
    if fields.ndim != 3 or fields.shape[1:] != valid.shape:
        raise InvalidInputError(
            f"the drift must be fields (p, {valid.shape[0]}, {valid.shape[1]}) on the fine "
            f"grid, got shape {fields.shape}"
        )
    bad = valid[None] & ~np.isfinite(fields)
    if bad.any():
        p, r, c = (int(x[0]) for x in np.nonzero(bad))
        raise InvalidInputError(
            f"the drift must be finite on the valid cells: {int(bad.sum())} value(s) are not, "
            f"the first field {p} at fine cell ({r}, {c}) ({fields[p, r, c]}); fill them or "
            "drop those cells from the valid mask"
        )
    return fields


def _ordinary_weights(
    k: NDArray[np.float64], rhs: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Ordinary kriging weights (P, N) and Lagrange multipliers (P,) for P right-hand sides.

    One bordered system shared by the P targets, solved by the kriging engine's batched
    solver (:mod:`geochem_bench.kriging.systems`), the one point kriging uses.
    """
    n = k.shape[0]
    system = bordered(k[None], np.ones((1, n, 1)))
    right = np.column_stack([rhs, np.ones(rhs.shape[0])])
    solution = solve_shared(system, right, np.zeros(rhs.shape[0], dtype=np.intp))
    return solution[:, :n], solution[:, n]


def _scatter(
    out: NDArray[np.float64],
    bi: NDArray[np.int64],
    bj: NDArray[np.int64],
    values: NDArray[np.float64],
    scale: int,
) -> None:
    """Write per-block fine values (blocks, s*s) into their blocks of ``out``."""
    p = np.arange(scale)
    rows = bi[:, None, None] * scale + p[None, :, None]
    cols = bj[:, None, None] * scale + p[None, None, :]
    out[rows, cols] = values.reshape(len(bi), scale, scale)


def _support(padded: NDArray[np.bool_], i: int, j: int, scale: int) -> NDArray[np.int64]:
    """Fine (row, col) of the valid cells of block (i, j), (M, 2)."""
    r, c = np.nonzero(padded[i * scale : (i + 1) * scale, j * scale : (j + 1) * scale])
    return np.column_stack([r + i * scale, c + j * scale])


def _distances(
    res: tuple[float, float], a: NDArray[np.int64], b: NDArray[np.int64]
) -> NDArray[np.float64]:
    dy = (a[:, None, 0] - b[None, :, 0]) * res[1]
    dx = (a[:, None, 1] - b[None, :, 1]) * res[0]
    return np.hypot(dy, dx)


def _mean_cov(
    model: PointCovariance, res: tuple[float, float], a: NDArray[np.int64], b: NDArray[np.int64]
) -> float:
    return float(model(_distances(res, a, b)).mean())


def _points_block_cov(
    model: PointCovariance,
    res: tuple[float, float],
    table: _OffsetTable,
    scale: int,
    points: NDArray[np.int64],
    block: tuple[int, int],
    support: NDArray[np.int64] | None,
) -> NDArray[np.float64]:
    """Covariance of each fine point (M, 2) with a block: its full box, or its valid cells."""
    if support is None:  # a full block: box of offsets from each point, O(1) per point
        return table.box_mean(
            block[0] * scale - points[:, 0], block[1] * scale - points[:, 1], scale
        )
    return model(_distances(res, points, support)).mean(axis=1)


class AreaToPointKriging(FusionModel):
    """The area-to-point kriging baseline of the grid protocol (see the module docstring).

    Per element, in its analysis space: the block data are ``lowres`` (log10 of the block
    means for log10 elements), the point covariance is deconvolved from them
    (:func:`deconvolve`), and every valid fine cell is kriged from the blocks within
    ``radius`` (:func:`area_to_point`). The kriging standard deviation is returned with the
    mean, so CRPS and interval coverage are scored.

    For a log10 element the kriged map's block means equal log10(lowres) exactly, which
    makes its *geometric* block means equal the arithmetic lowres values: a map biased low in
    natural units by the Jensen gap of the sub-block variance. ``back_projection`` steps of
    :func:`~geochem_bench.models.upsampling.back_project` then move its natural-unit block
    means onto lowres (linear elements need none: their block means are already exact).

    Args:
        radius: neighbourhood half-width in blocks.
        fit_nugget: fit a point-support nugget in the deconvolution (see :func:`deconvolve`).
        back_projection: natural-unit back-projection steps for log10 elements (0: none).
    """

    def __init__(self, radius: int = 2, fit_nugget: bool = False, back_projection: int = 0) -> None:
        self.radius = radius
        self.fit_nugget = fit_nugget
        self.back_projection = back_projection

    def fit(self, inputs: TaskInputs) -> None:
        """Deconvolve each element's point covariance from its block data."""
        require_grid(inputs, "area-to-point kriging")
        self.models_ = [
            deconvolve(
                block_data(inputs, e),
                inputs.scale,
                inputs.grid.res,
                fit_nugget=self.fit_nugget,
            )
            for e in range(len(inputs.elements))
        ]

    def predict(self, inputs: TaskInputs) -> Prediction:
        """Kriged mean and standard deviation of every element on the valid fine cells."""
        if not hasattr(self, "models_"):
            self.fit(inputs)
        mean = np.full(inputs.output_shape, np.nan, dtype=np.float32)
        std = np.full(inputs.output_shape, np.nan, dtype=np.float32)
        for e, element in enumerate(inputs.elements):
            z, var = self._analysis_map(inputs, e)
            if (inputs.valid & ~np.isfinite(z)).any():
                # valid cells with no block data within reach take the nearest kriged cell
                z, var = fill_nearest(z, ~np.isfinite(z)), fill_nearest(var, ~np.isfinite(var))
            if self.back_projection and element.analysis_space == "log10":
                z = back_project(z, inputs.lowres[e], element, inputs, self.back_projection)
            mean[e] = np.where(inputs.valid, element.from_analysis(z), np.nan)
            std[e] = np.where(inputs.valid, np.sqrt(var), np.nan)
        return Prediction(mean=mean, std=std)

    def context_cells(self, scale: int) -> int:
        """Halo of a tiled prediction, in fine cells.

        The kriging neighbourhood, then bicubic taps and filling (6 coarse cells) and 3 coarse
        cells per back-projection step, as in back-projection.
        """
        return scale * (self.radius + 6 + 3 * self.back_projection)

    def _analysis_map(
        self, inputs: TaskInputs, e: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Element ``e``'s map and kriging variance in its analysis space (NaN: no data near)."""
        kriged = area_to_point(
            block_data(inputs, e),
            inputs.valid,
            inputs.scale,
            inputs.grid.res,
            self.models_[e],
            self.radius,
            drift=self._drift(inputs),
        )
        return kriged.mean, kriged.variance

    def _drift(self, inputs: TaskInputs) -> NDArray[np.float64] | None:
        """External drift fields (p, H, W) of the kriging; None: ordinary ATPK."""
        return None


def require_grid(inputs: TaskInputs, what: str) -> None:
    """Refuse a task whose lowres grid does not hold block means of the whole field.

    Raises:
        InvalidInputError: a points or transfer task, whose lowres holds means of one to a
            few samples per coarse cell.
    """
    if inputs.protocol != "grid":
        raise InvalidInputError(
            f"{what} needs block means of the whole field (grid protocol); {inputs.task_id} "
            f"is a {inputs.protocol}-protocol task, whose lowres holds means of a few "
            "samples: use a point-kriging baseline there"
        )


def block_data(inputs: TaskInputs, e: int) -> NDArray[np.float64]:
    """The block data of element ``e`` in its analysis space (NaN where undefined)."""
    element = inputs.elements[e]
    lowres = inputs.lowres[e].astype(np.float64)
    if element.analysis_space == "log10":
        lowres = np.where(lowres > 0, lowres, np.nan)
    return np.asarray(element.to_analysis(lowres), dtype=np.float64)
