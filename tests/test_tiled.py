"""Tiled, streaming evaluation against the in-memory scoring of the same scene."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from geochem_bench.core.tiling import tiles
from geochem_bench.data.store import write_scene
from geochem_bench.evaluation.scoring import error_blocks, score_fold, validate_prediction
from geochem_bench.evaluation.tiled import DiskScene, evaluate_tiled, tiled_lowres
from geochem_bench.models.upsampling import (
    BackProjectionUpsampling,
    BicubicUpsampling,
    BilinearUpsampling,
    upsample_lowres,
)
from geochem_bench.scenes.registry import get_task
from geochem_bench.tasks.protocols import build_fold

TILED_METRICS = (
    "n",
    "rmse",
    "mae",
    "bias",
    "r2",
    "pearson_r",
    "lin_ccc",
    "rmse_natural",
    "mae_natural",
    "rmse_reference",
    "skill",
    "psnr",
    "coherence",
)


@pytest.fixture(scope="module")
def disk_scene(scene, tmp_path_factory):
    folder = tmp_path_factory.mktemp("scene")
    write_scene(scene, folder)
    return DiskScene.open(folder)


def test_tiles_cover_the_grid_once():
    seen = np.zeros((100, 70), dtype=int)
    for w in tiles(100, 70, 30, 8):
        assert w.row0 % 8 == 0 and w.col0 % 8 == 0
        seen[w.row0 : w.row1, w.col0 : w.col1] += 1
    assert (seen == 1).all()


def test_tiled_lowres_equals_the_in_memory_lowres(scene, disk_scene):
    inputs, _ = build_fold(scene, get_task("synthetic/all/s8/grid"), 0)
    lowres, count = tiled_lowres(disk_scene, 8, tile=48)
    np.testing.assert_array_equal(count, inputs.lowres_count)
    np.testing.assert_allclose(lowres, inputs.lowres, rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize(
    "model",
    [BicubicUpsampling(), BilinearUpsampling(), BackProjectionUpsampling()],
    ids=["bicubic", "bilinear", "back-projection"],
)
@pytest.mark.parametrize("scale", [4, 16])
def test_tiled_scores_equal_in_memory_scores(scene, disk_scene, tmp_path, model, scale):
    task = get_task(f"synthetic/all/s{scale}/grid")
    inputs, held_out = build_fold(scene, task, 0)
    prediction = validate_prediction(model.predict(inputs), inputs)
    reference = upsample_lowres(inputs, "bicubic")
    expected = score_fold(inputs, held_out, prediction, reference)
    expected_blocks = error_blocks(inputs, held_out, prediction, reference)

    result = evaluate_tiled(disk_scene, scale, model, tile=64, prediction_path=tmp_path / "p.tif")
    assert result.n_tiles == 16
    for symbol in task.elements:
        for metric in TILED_METRICS:
            want, got = expected[symbol][metric], result.metrics[symbol][metric]
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (symbol, metric)
        blocks, want_blocks = result.errors[symbol], expected_blocks[symbol]
        assert blocks.n == want_blocks.n
        np.testing.assert_allclose(blocks.sse, want_blocks.sse, rtol=1e-9)
        np.testing.assert_allclose(blocks.sse_reference, want_blocks.sse_reference, rtol=1e-9)
    assert result.metrics["overall"]["ergas"] == pytest.approx(
        expected["overall"]["ergas"], rel=1e-9
    )
    with rasterio.open(tmp_path / "p.tif") as src:
        written = src.read()
    valid = inputs.valid
    np.testing.assert_allclose(written[:, valid], prediction.mean[:, valid], rtol=1e-6)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"scene\.json is missing"):
        DiskScene.open(tmp_path)


def test_tileable_synthetic_is_the_same_whatever_the_tile(tmp_path):
    from geochem_bench.core.tiling import Window
    from geochem_bench.data.tileable_synthetic import generate_window, write_large_synthetic

    write_large_synthetic(tmp_path / "a", 512, seed=3, tile=256)
    write_large_synthetic(tmp_path / "b", 512, seed=3, tile=512)
    for name in ("covariates", "truth", "valid"):
        with (
            rasterio.open(tmp_path / "a" / f"{name}.tif") as a,
            rasterio.open(tmp_path / "b" / f"{name}.tif") as b,
        ):
            np.testing.assert_array_equal(a.read(), b.read())
    # any window generated alone equals the same cells of a larger window: no seams
    big = generate_window(3, Window(0, 300, 0, 300))
    small = generate_window(3, Window(100, 228, 37, 190))
    np.testing.assert_allclose(
        small["covariates"], big["covariates"][:, 100:228, 37:190], rtol=1e-6
    )
    scene = DiskScene.open(tmp_path / "a")
    result = evaluate_tiled(scene, 8, BicubicUpsampling(), tile=128)
    assert result.metrics["Cu"]["skill"] == pytest.approx(0.0, abs=1e-9)
    assert (
        result.metrics["Cu"]["n"] == np.isfinite(big["truth"]).sum()
        or result.metrics["Cu"]["n"] > 0
    )


def test_fusion_cnn_predicts_the_same_tiled_as_whole(scene, disk_scene, tmp_path):
    from geochem_bench.models.fusion_cnn import FusionCNN

    # pretrained=None: the shipped weights are of the official architecture (width 32)
    params = {"steps": 15, "width": 8, "blocks": 2, "progress": False, "pretrained": None}
    inputs, _ = build_fold(scene, get_task("synthetic/all/s8/grid"), 0)
    whole = FusionCNN(**params)
    whole.fit(inputs)
    expected = whole.predict(inputs)

    tiled = FusionCNN(**params)
    evaluate_tiled(
        disk_scene, 8, tiled, tile=64, fit_cells=256, prediction_path=tmp_path / "cnn.tif"
    )
    with rasterio.open(tmp_path / "cnn.tif") as src:
        got = src.read()
    valid = inputs.valid
    np.testing.assert_allclose(got[:, valid], expected[:, valid], rtol=2e-4)


def test_evaluate_tiled_command_writes_a_valid_record(tmp_path, capsys):
    from geochem_bench.cli.main import main
    from geochem_bench.data.tileable_synthetic import write_large_synthetic
    from geochem_bench.evaluation.records import read_result

    write_large_synthetic(tmp_path / "scene", 256)
    out = tmp_path / "out"
    args = ["evaluate-tiled", str(tmp_path / "scene"), "baselines/bilinear", "--scale", "8"]
    assert main([*args, "--out", str(out), "--tile", "128", "--save-prediction"]) == 0
    path = (
        out / "bilinear" / "1.0.0" / "synthetic-large-256" / "all" / "s8" / "grid" / "fold-0.json"
    )
    record = read_result(path)
    assert record.status == "ok" and record.metrics["Cu"]["skill"] < 0  # bilinear < bicubic
    assert path.with_suffix(".tif").is_file()
    assert "record:" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["AreaToPointKriging", "AreaToPointRegressionKriging"])
def test_area_to_point_models_predict_the_same_tiled_as_whole(scene, disk_scene, tmp_path, name):
    """Fitted on the whole scene, the kriging of a tile with its halo equals the whole map's."""
    from geochem_bench.models import area_to_point, area_to_point_regression

    module = area_to_point if name == "AreaToPointKriging" else area_to_point_regression
    inputs, _ = build_fold(scene, get_task("synthetic/all/s8/grid"), 0)
    whole = getattr(module, name)()
    whole.fit(inputs)
    expected = whole.predict(inputs).mean
    tiled = getattr(module, name)()
    path = tmp_path / "atpk.tif"
    evaluate_tiled(disk_scene, 8, tiled, tile=128, fit_cells=256, prediction_path=path)
    with rasterio.open(path) as src:
        got = src.read()
    valid = inputs.valid
    np.testing.assert_allclose(got[:, valid], expected[:, valid], rtol=1e-4)


def test_kriging_external_drift_predicts_the_same_tiled_as_whole(scene, disk_scene, tmp_path):
    """The grid path of kriging-external-drift (a drift per neighbourhood, the drift's axes and
    fill from the fit): a tile with the declared halo equals the whole map. One
    back-projection step keeps the halo below the scene (the baseline's 10 span it all)."""
    from geochem_bench.models.kriging import KrigingExternalDrift

    inputs, _ = build_fold(scene, get_task("synthetic/all/s8/grid"), 0)
    whole = KrigingExternalDrift(back_projection=1)
    whole.fit(inputs)
    expected = whole.predict(inputs).mean
    tiled = KrigingExternalDrift(back_projection=1)
    assert tiled.context_cells(8) < 128
    path = tmp_path / "ked.tif"
    evaluate_tiled(disk_scene, 8, tiled, tile=128, fit_cells=256, prediction_path=path)
    with rasterio.open(path) as src:
        got = src.read()
    valid = inputs.valid
    np.testing.assert_allclose(got[:, valid], expected[:, valid], rtol=1e-4)
