from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from geochem_bench.core.task import Prediction
from geochem_bench.data.geotiff import read_prediction, write_prediction
from geochem_bench.errors import InvalidPrediction
from geochem_bench.evaluation.harness import RunOptions, score_predictions
from geochem_bench.models.upsampling import upsample_lowres
from geochem_bench.scenes.registry import get_task, list_tasks
from geochem_bench.tasks.protocols import build_fold

GRID = "synthetic/all/s16/grid"


@pytest.fixture()
def fold(scene):
    return build_fold(scene, get_task(GRID), 0)


def test_prediction_round_trip_is_georeferenced(tmp_path, fold):
    inputs, _ = fold
    pred = Prediction(upsample_lowres(inputs), np.full(inputs.output_shape, 0.1, np.float32))
    path = tmp_path / "p.tif"
    write_prediction(path, pred, inputs.grid, inputs.elements)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32633
        assert src.transform == inputs.grid.transform
        assert src.descriptions[:2] == ("Cu", "Zn") and src.descriptions[6] == "Cu_std"
    back = read_prediction(path, inputs.grid, inputs.elements)
    np.testing.assert_array_equal(back.mean, pred.mean)
    np.testing.assert_array_equal(back.std, pred.std)


def test_wrong_grid_is_refused(tmp_path, fold):
    inputs, _ = fold
    shifted = type(inputs.grid)(
        inputs.grid.height,
        inputs.grid.width,
        inputs.grid.transform @ Affine.translation(3, 0),
        inputs.grid.crs,
    )
    path = tmp_path / "p.tif"
    write_prediction(path, Prediction(upsample_lowres(inputs)), shifted, inputs.elements)
    with pytest.raises(InvalidPrediction, match="transform"):
        read_prediction(path, inputs.grid, inputs.elements)
    with pytest.raises(FileNotFoundError):
        read_prediction(tmp_path / "missing.tif", inputs.grid, inputs.elements)


def test_score_folder_of_predictions(tmp_path, scene):
    pred_dir = tmp_path / "preds"
    task = get_task(GRID)
    inputs, _ = build_fold(scene, task, 0)
    write_prediction(
        pred_dir / task.id / "fold-0.tif",
        Prediction(upsample_lowres(inputs)),
        inputs.grid,
        inputs.elements,
    )
    points = get_task("synthetic/cu/s16/points")
    for f in (0, 1):  # folds 2-14 missing on purpose (3-14: the other realisations)
        inputs, _ = build_fold(scene, points, f)
        write_prediction(
            pred_dir / points.id / f"fold-{f}.tif",
            Prediction(upsample_lowres(inputs)),
            inputs.grid,
            inputs.elements,
        )
    records = score_predictions(
        pred_dir,
        list_tasks([GRID, points.id]),
        RunOptions(tmp_path / "out", progress=False),
        name="external",
    )
    # the grid task's folds 1 and 2 (realisations 1 and 2) are missing too
    assert [r.status for r in records] == ["ok", "failed", "failed", "ok", "ok"] + ["failed"] * 13
    assert records[0].metrics["Cu"]["skill"] == pytest.approx(0.0)
    assert records[0].submission.source == "predictions"
    assert records[1].failure.kind == records[5].failure.kind == "missing_prediction"
