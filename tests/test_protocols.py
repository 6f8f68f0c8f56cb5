from __future__ import annotations

import numpy as np
import pytest

from geochem_bench.core.grid import block_mean
from geochem_bench.core.task import TaskSpec
from geochem_bench.scenes.registry import get_task, load_fold_scene
from geochem_bench.tasks.protocols import build_fold, task_split


def test_grid_protocol_lowres_is_block_mean_of_truth(scene):
    task = get_task("synthetic/all/s8/grid")
    inputs, held_out = build_fold(scene, task, 0)
    assert inputs.lowres.shape == (6, 32, 32)
    assert inputs.lowres_grid.res == (240.0, 240.0)
    cu = scene.truth[0].astype(np.float64)
    block = cu[8:16, 24:32]
    ok = np.isfinite(block)
    np.testing.assert_allclose(inputs.lowres[0, 1, 3], block[ok].mean(), rtol=1e-5)
    assert inputs.lowres_count[0, 1, 3] == ok.sum()
    assert inputs.points is None
    assert held_out.truth is not None and held_out.truth.shape == (6, 256, 256)
    assert inputs.output_shape == (6, 256, 256)


def test_points_protocol_lowres_uses_training_samples_only():
    task = get_task("synthetic/cu/s16/points")
    for fold in task.folds:  # every spatial fold of every realisation, on its own scene
        scene = load_fold_scene(task, fold)
        split = task_split(scene, task)
        inputs, held_out = build_fold(scene, task, fold, split=split)
        test = split.test_mask(task.unit(fold)[1])
        assert len(inputs.points) == (~test).sum()
        assert not np.isin(held_out.sample_ids, inputs.points.ids).any()
        rows, cols = inputs.lowres_grid.cell_of(inputs.points.x, inputs.points.y)
        cu = inputs.points.column("Cu")
        for r, c in list(zip(rows, cols))[:20]:
            here = (rows == r) & (cols == c)
            np.testing.assert_allclose(inputs.lowres[0, r, c], cu[here].mean(), rtol=1e-5)
            assert inputs.lowres_count[0, r, c] == here.sum()
        assert np.isnan(inputs.lowres[0][inputs.lowres_count[0] == 0]).all()
        # blocks are aligned with coarse cells: no coarse cell holds a held-out sample and data
        hr, hc = inputs.lowres_grid.cell_of(
            inputs.grid.centres(held_out.rows, held_out.cols)[0],
            inputs.grid.centres(held_out.rows, held_out.cols)[1],
        )
        assert (inputs.lowres_count[0, hr, hc] == 0).all()


def test_transfer_protocol_is_heterotopic(scene):
    task = get_task("synthetic/cu/s16/transfer")
    split = task_split(scene, task)
    inputs, held_out = build_fold(scene, task, 2, split=split)
    pts = inputs.points
    assert len(pts) == len(scene.points)  # every site, held-out ones included
    test = split.test_mask(2)
    cu = pts.column("Cu")
    assert np.isnan(cu[test]).all()
    known = np.isfinite(cu)
    assert known.sum() == int(np.ceil(0.25 * (~test).sum()))
    for other in ("Zn", "Pb", "Ni", "As", "Fe"):
        assert np.isfinite(pts.column(other)).all()  # co-variables known everywhere
    assert inputs.lowres_count[0].sum() == known.sum()
    np.testing.assert_array_equal(held_out.sample_ids, scene.points.ids[test])


def test_bad_fold_and_scene_mismatch(scene):
    task = get_task("synthetic/cu/s16/points")
    with pytest.raises(ValueError, match=r"folds 0\.\.14, got fold 15"):
        build_fold(scene, task, 15)
    with pytest.raises(ValueError, match="runs on realisation 1"):
        build_fold(scene, task, 5)  # spatial fold 0 of realisation 1
    other = TaskSpec("meuse", ("Zn",), 4, "points", n_spatial_folds=5)
    with pytest.raises(ValueError, match="belongs to scene"):
        build_fold(scene, other, 0)


def test_task_spec_validation():
    with pytest.raises(ValueError, match="single spatial fold"):
        TaskSpec("synthetic", ("Cu",), 4, "grid", n_spatial_folds=5)
    with pytest.raises(ValueError, match="protocol must be"):
        TaskSpec("synthetic", ("Cu",), 4, "pixels")  # type: ignore[arg-type]
    assert (
        TaskSpec("synthetic", ("Cu", "Zn"), 8, "points", n_spatial_folds=5).id
        == "synthetic/cu+zn/s8/points"
    )


def test_block_mean_path_equals_protocol_helper(scene):
    truth = scene.truth[[0]].copy()
    truth[:, ~scene.valid] = np.nan
    mean, _ = block_mean(truth, 16)
    inputs, _ = build_fold(scene, TaskSpec("synthetic", ("Cu",), 16, "grid"), 0)
    np.testing.assert_array_equal(mean, inputs.lowres)
