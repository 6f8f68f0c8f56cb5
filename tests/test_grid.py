from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from geochem_bench.core.grid import GridSpec, block_mean, points_block_mean


def make_grid(h: int = 10, w: int = 7) -> GridSpec:
    return GridSpec(h, w, Affine(30.0, 0, 1000.0, 0, -30.0, 5000.0), "EPSG:32633")


def test_coarsen_keeps_corner_and_covers_partial_blocks():
    grid = make_grid(10, 7)
    coarse = grid.coarsen(4)
    assert coarse.shape == (3, 2)
    assert coarse.transform.c == grid.transform.c and coarse.transform.f == grid.transform.f
    assert coarse.res == (120.0, 120.0)


def test_cell_of_and_centres_round_trip(rng):
    grid = make_grid()
    rows = rng.integers(0, grid.height, 50)
    cols = rng.integers(0, grid.width, 50)
    x, y = grid.centres(rows, cols)
    r, c = grid.cell_of(x, y)
    np.testing.assert_array_equal(r, rows)
    np.testing.assert_array_equal(c, cols)
    r, c = grid.cell_of(np.array([0.0]), np.array([0.0]))
    assert r[0] == -1 and c[0] == -1


def test_rotated_grid_is_refused():
    with pytest.raises(ValueError, match="north-up"):
        GridSpec(4, 4, Affine(30.0, 1.0, 0, 0, -30.0, 0), None)


def test_block_mean_matches_explicit_loop(rng):
    fine = rng.normal(size=(2, 10, 7))
    fine[0, 3, 2] = np.nan
    mean, count = block_mean(fine, 4)
    for e in range(2):
        for i in range(3):
            for j in range(2):
                block = fine[e, i * 4 : (i + 1) * 4, j * 4 : (j + 1) * 4]
                assert count[e, i, j] == np.isfinite(block).sum()
                np.testing.assert_allclose(mean[e, i, j], np.nanmean(block), rtol=1e-6)


def test_block_mean_empty_block_is_nan():
    fine = np.full((1, 4, 4), np.nan)
    fine[0, 0, 0] = 2.0
    mean, count = block_mean(fine, 2)
    assert mean[0, 0, 0] == 2.0 and count[0, 0, 0] == 1
    assert np.isnan(mean[0, 1, 1]) and count[0, 1, 1] == 0


def test_points_block_mean(rng):
    grid = make_grid(8, 8).coarsen(4)  # 2x2 cells of 120 m
    x = np.array([1010.0, 1050.0, 1130.0, 1130.0])
    y = np.array([4990.0, 4950.0, 4990.0, 4800.0])
    values = np.array([[1.0, 5.0], [3.0, np.nan], [10.0, 1.0], [7.0, 7.0]])
    mean, count = points_block_mean(grid, x, y, values)
    assert mean.shape == (2, 2, 2)
    assert mean[0, 0, 0] == 2.0 and count[0, 0, 0] == 2
    assert mean[1, 0, 0] == 5.0 and count[1, 0, 0] == 1  # NaN does not count
    assert mean[0, 0, 1] == 10.0
    assert mean[0, 1, 1] == 7.0
    assert np.isnan(mean[0, 1, 0]) and count[0, 1, 0] == 0
