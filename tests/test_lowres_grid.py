"""make-task --lowres-grid: a coarse geochemical map as the input, downscaled by `map`.

Hermetic: a seeded 128x128 covariate (30 m) and the block means of a field driven by it on
a 120 m grid (scale 4), written as the user's coarse GeoTIFF.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from geochem_bench.cli.main import main
from geochem_bench.scenes.survey import SurveyError, make_survey

SIZE = 128
SCALE = 4
CRS = "EPSG:32633"


def _write(path: Path, data: np.ndarray, res: float, nodata: float | None = None) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[1],
        width=data.shape[2],
        count=data.shape[0],
        dtype="float32",
        crs=CRS,
        transform=from_origin(500000.0, 4000000.0, res, res),
        nodata=nodata,
    ) as dst:
        dst.write(data.astype(np.float32))
    return path


# surveys registered here are forgotten after the module (see conftest)
pytestmark = pytest.mark.usefixtures("restore_scene_registry")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path, np.ndarray]:
    """The covariate GeoTIFF, the coarse Cu map (one nodata cell) and its values."""
    from scipy import ndimage

    from geochem_bench.core.grid import block_mean

    tmp = tmp_path_factory.mktemp("lowres")
    rng = np.random.default_rng(5)
    signal = ndimage.gaussian_filter(rng.normal(size=(SIZE, SIZE)), 2)
    signal = (signal - signal.mean()) / signal.std()
    cov = _write(tmp / "signal.tif", signal[None], 30.0)
    field = 10 ** (1.5 + 0.3 * signal)
    coarse, _ = block_mean(field[None], SCALE)
    coarse[0, 0, 0] = -1.0  # nodata
    lowres = _write(tmp / "Cu.tif", coarse, 30.0 * SCALE, nodata=-1.0)
    coarse[0, 0, 0] = np.nan
    return cov, lowres, coarse


@pytest.fixture(scope="module")
def survey(inputs, tmp_path_factory) -> Path:
    cov, lowres, _ = inputs
    out = tmp_path_factory.mktemp("built") / "survey"
    scene, tasks = make_survey("gridded", [cov], None, out, lowres_grid=lowres)
    assert tasks == [] and scene.points is None
    assert scene.options["lowres_scale"] == SCALE and scene.options["lowres_elements"] == ["Cu"]
    return out


def test_the_lowres_grid_is_the_grid_protocols_lowres_exactly(survey, inputs):
    from geochem_bench.core.task import TaskSpec
    from geochem_bench.scenes.registry import list_tasks
    from geochem_bench.scenes.survey import register_survey
    from geochem_bench.tasks.protocols import build_map_inputs

    _, _, coarse = inputs
    scene = register_survey(survey).loader()
    mapped = build_map_inputs(scene, TaskSpec("gridded", ("Cu",), SCALE, "grid"))
    np.testing.assert_allclose(mapped.lowres, coarse, rtol=1e-6)
    assert [t.id for t in list_tasks(["gridded-wald/*"])] == [
        "gridded-wald/cu/s2/grid",
        "gridded-wald/cu/s4/grid",
    ]


def test_map_downscales_the_lowres_grid_coherently_with_wald_accuracy(survey, inputs, tmp_path):
    """ATPK's map keeps the given block means; its accuracy is the Wald task's."""
    import rasterio

    from geochem_bench.core.grid import block_mean
    from geochem_bench.mapping import make_map

    _, _, coarse = inputs
    (cu,) = make_map(survey, "atpk", None, tmp_path / "map", progress=False)
    assert cu.from_grid and cu.choice.task_id == "gridded-wald/cu/s4/grid"
    assert cu.score is not None and cu.score.skill.estimate > 0  # beats bicubic one scale up
    with rasterio.open(cu.path) as src:
        fine = src.read(1, masked=True).filled(np.nan)
    # the packaged ATPK's three natural-unit back-projection steps bring each block's mean
    # onto the given map (its card: within the Jensen gap that is left, well under 1 %)
    means, _ = block_mean(fine[None].astype(np.float64), SCALE)
    seen = np.isfinite(coarse)
    np.testing.assert_allclose(means[seen], coarse[seen], rtol=1e-2)
    facts = json.loads((tmp_path / "map" / "report.json").read_text())
    assert "Wald" in facts["elements"]["Cu"]["accuracy_measures"]
    assert facts["elements"]["Cu"]["source"] == "lowres grid"


@pytest.mark.parametrize("method", ["atpk", "bicubic"])
def test_a_streamed_map_equals_the_in_memory_map(survey, tmp_path, method):
    """Tile by tile (32-cell tiles, the model's halo) gives the in-memory map, std included."""
    import rasterio

    from geochem_bench.mapping import make_map

    (whole,) = make_map(survey, method, None, tmp_path / "whole", progress=False)
    (tiled,) = make_map(survey, method, None, tmp_path / "tiled", tile=32, progress=False)
    assert tiled.streamed and not whole.streamed and tiled.has_std == whole.has_std
    with rasterio.open(whole.path) as a, rasterio.open(tiled.path) as b:
        expected, got = a.read(), b.read()
        assert a.nodata == b.nodata and a.count == b.count
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_point_methods_cannot_map_a_lowres_grid(survey, tmp_path):
    from geochem_bench.errors import InvalidInputError
    from geochem_bench.mapping import make_map

    with pytest.raises(InvalidInputError, match="enters only points"):
        make_map(survey, "ordinary-kriging", None, tmp_path / "m", progress=False)


def test_bad_lowres_grids_are_refused_with_the_fix(inputs, tmp_path):
    cov, _, coarse = inputs
    odd = _write(tmp_path / "odd.tif", np.nan_to_num(coarse, nan=1.0), 30.0 * 2.5)
    with pytest.raises(SurveyError, match="integer multiple"):
        make_survey("odd", [cov], None, tmp_path / "a", lowres_grid=odd)
    two = _write(tmp_path / "two.tif", np.nan_to_num(np.concatenate([coarse] * 2), nan=1.0), 120)
    with pytest.raises(SurveyError, match="--elements"):
        make_survey("two", [cov], None, tmp_path / "b", lowres_grid=two)
    zero = _write(tmp_path / "zero.tif", np.nan_to_num(coarse, nan=0.0), 120.0)
    with pytest.raises(SurveyError, match="must be > 0"):
        make_survey("zero", [cov], None, tmp_path / "c", lowres_grid=zero)
    with pytest.raises(SurveyError, match="--samples"):
        make_survey("none", [cov], None, tmp_path / "d")


def test_make_task_cli_with_a_lowres_grid_and_no_samples(inputs, tmp_path, capsys):
    cov, lowres, _ = inputs
    out = tmp_path / "cli"
    args = ["make-task", "--name", "cligrid", "--covariates", str(cov), "--out", str(out)]
    assert main([*args, "--lowres-grid", str(lowres), "--lowres-elements", "Cu"]) == 0
    printed = capsys.readouterr().out
    assert "cligrid-wald" in printed and "geochem-bench map" in printed


def test_a_streamed_map_refuses_a_survey_edited_since_its_build(survey, tmp_path):
    import shutil

    from geochem_bench.data.sources import ChecksumError
    from geochem_bench.mapping import make_map

    edited = tmp_path / "edited"
    shutil.copytree(survey, edited)
    meta = json.loads((edited / "scene.json").read_text())
    meta["options"]["lowres_scale"] = 8
    (edited / "scene.json").write_text(json.dumps(meta))
    with pytest.raises(ChecksumError):
        make_map(edited, "bicubic", None, tmp_path / "m", tile=32, progress=False)


def test_the_survey_board_ranks_the_wald_tasks(survey, tmp_path, capsys):
    from geochem_bench.mapping import make_map

    make_map(survey, "bicubic", None, tmp_path / "m", progress=False)
    results = tmp_path / "m" / "cv-results"
    assert main(["leaderboard", "--source", str(results), "--survey", str(survey)]) == 0
    shown = capsys.readouterr().out
    assert "gridded-wald/cu/s4/grid" in shown and "bicubic" in shown


def test_a_rebuild_without_the_grid_drops_its_wald_scene_and_truth(inputs, tmp_path):
    import pandas as pd

    cov, lowres, _ = inputs
    out = tmp_path / "again"
    make_survey("again", [cov], None, out, lowres_grid=lowres)
    assert (out / "wald").is_dir() and (out / "truth.tif").is_file()
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "x": 500000.0 + rng.uniform(100, 3700, 60),
            "y": 4000000.0 - rng.uniform(100, 3700, 60),
            "Cu": rng.lognormal(3, 0.3, 60),
        }
    )
    table.to_csv(tmp_path / "s.csv", index=False)
    make_survey("again", [cov], tmp_path / "s.csv", out, scales=(4,))
    assert not (out / "wald").exists() and not (out / "truth.tif").exists()
    with pytest.raises(SurveyError, match="not empty and not a make-task build"):
        make_survey("again", [cov], tmp_path / "s.csv", tmp_path, scales=(4,))


def test_hand_edited_or_misplaced_survey_files_get_one_line_errors(survey, tmp_path):
    import shutil

    from geochem_bench.errors import InvalidInputError
    from geochem_bench.mapping import make_map
    from geochem_bench.scenes.survey import register_survey

    broken = tmp_path / "broken"
    shutil.copytree(survey, broken)
    (broken / "tasks.json").write_text("[{")
    with pytest.raises(SurveyError, match="not a readable make-task build"):
        register_survey(broken)
    with pytest.raises(InvalidInputError, match="inside the survey folder"):
        make_map(survey, "bicubic", None, survey / "map", progress=False)
