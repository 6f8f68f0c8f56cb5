"""geochem-bench map: full-data maps as COGs, their report, --method auto, the survey board.

Hermetic: a seeded 64x64 survey whose copper is (up to a little noise) a function of one
covariate, so a covariate method must beat distance weighting on it (the answer is known).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geochem_bench.cli.main import main
from geochem_bench.errors import InvalidInputError
from geochem_bench.scenes.survey import make_survey

SIZE = 64
N = 150
CRS = "EPSG:32633"


# surveys registered here are forgotten after the module (see conftest)
pytestmark = pytest.mark.usefixtures("restore_scene_registry")


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> Path:
    """A survey folder built by make-task from two seeded covariates and a samples table."""
    import rasterio
    from rasterio.transform import from_origin
    from scipy import ndimage

    tmp = tmp_path_factory.mktemp("survey")
    rng = np.random.default_rng(11)
    signal = ndimage.gaussian_filter(rng.normal(size=(SIZE, SIZE)), 3)
    signal = (signal - signal.mean()) / signal.std()
    noise = rng.normal(size=(SIZE, SIZE))
    transform = from_origin(500000.0, 4000000.0, 30.0, 30.0)
    paths = []
    for name, band in (("signal", signal), ("noise", noise)):
        path = tmp / f"{name}.tif"
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            height=SIZE,
            width=SIZE,
            count=1,
            dtype="float32",
            crs=CRS,
            transform=transform,
        ) as dst:
            dst.write(band[None].astype(np.float32))
        paths.append(path)
    rows = rng.integers(0, SIZE, N)
    cols = rng.integers(0, SIZE, N)
    x, y = 500000.0 + 30.0 * (cols + 0.5), 4000000.0 - 30.0 * (rows + 0.5)
    log_cu = 1.5 + 0.4 * signal[rows, cols] + 0.02 * rng.normal(size=N)
    log_zn = 2 + 0.1 * rng.normal(size=N)
    # off the cell centres, as field sites are: samples on a lattice tie at equal distances,
    # and the kriging neighbourhood breaks such ties by the order of its search, which a
    # window of the grid can change (a streamed map would then differ at those cells)
    x = x + rng.uniform(-12.0, 12.0, N)
    y = y + rng.uniform(-12.0, 12.0, N)
    table = pd.DataFrame({"x": x, "y": y, "Cu": 10**log_cu, "Zn": 10**log_zn})
    table.to_csv(tmp / "samples.csv", index=False)
    out = tmp / "built"
    make_survey("fake-survey", paths, tmp / "samples.csv", out, scales=(4,), n_folds=5)
    return out


def _read(path: Path) -> tuple[np.ndarray, dict, object]:
    import rasterio

    with rasterio.open(path) as src:
        return src.read(masked=True), src.tags(), src


def test_map_is_the_full_data_prediction_as_a_valid_cog(survey, tmp_path):
    """Band 1/2 equal the method fitted on every sample (1e-6); the COG is valid and tagged."""
    import rasterio

    from geochem_bench.evaluation.submission import load_submission
    from geochem_bench.mapping import make_map
    from geochem_bench.mapping.cog import NODATA, cog_problems
    from geochem_bench.mapping.fused_map import full_data_prediction
    from geochem_bench.scenes.survey import register_survey

    maps = make_map(survey, "ordinary-kriging", ["Cu"], tmp_path / "map", progress=False)
    (cu,) = maps
    assert cu.method == "ordinary-kriging" and cu.has_std and cu.n_samples == N
    entry = register_survey(survey)
    scene = entry.loader()
    task = next(t for t in entry.tasks if t.id == cu.task_id)
    expected = full_data_prediction(scene, task, load_submission("ordinary-kriging"), seed=0)
    assert cog_problems(cu.path, scene.grid) == []
    with rasterio.open(cu.path) as src:
        assert src.crs.to_string() == CRS and src.nodata == NODATA and src.count == 2
        assert src.transform.almost_equals(scene.grid.transform)
        tags = src.tags()
        data = src.read()
    valid = scene.valid
    np.testing.assert_allclose(data[0][valid], expected.mean[0][valid], rtol=1e-6)
    assert expected.std is not None
    np.testing.assert_allclose(data[1][valid], expected.std[0][valid], rtol=1e-6, atol=1e-7)
    assert (data[:, ~valid] == NODATA).all()
    for key in ("METHOD", "METHOD_VERSION", "GEOCHEM_BENCH_VERSION", "INPUT_SHA256", "DATE"):
        assert tags[key], key
    assert tags["METHOD"] == "ordinary-kriging" and tags["STD_SPACE"] == "log10"
    assert json.loads(tags["INPUT_SHA256"]) == json.loads((survey / "manifest.json").read_text())
    # the held-out folds were run and are reused: a second map runs no fold again
    records = sorted((tmp_path / "map" / "cv-results").rglob("fold-*.json"))
    assert len(records) == task.n_folds
    stamps = [p.stat().st_mtime_ns for p in records]
    make_map(survey, "ordinary-kriging", ["Cu"], tmp_path / "map", progress=False)
    assert [p.stat().st_mtime_ns for p in records] == stamps


def test_auto_picks_the_best_cross_validated_method_and_reports_why(survey, tmp_path):
    """On copper driven by a covariate, auto must choose a covariate model, by CV skill."""
    from geochem_bench.board.pins import survey_pins
    from geochem_bench.mapping import make_map
    from geochem_bench.mapping.selection import survey_scores

    out = tmp_path / "auto"
    candidates = ("idw", "ordinary-kriging", "regression-kriging", "atpk")
    (cu,) = make_map(survey, "auto", ["Cu"], out, candidates=candidates, progress=False)
    scored = survey_scores(out / "cv-results", survey_pins(survey))
    scores = [s for s in scored if s.task_id == cu.task_id]
    best = max(scores, key=lambda s: s.skill.estimate)
    assert cu.method == best.submission == "regression-kriging"
    assert {s.submission for s in scores} == {"idw", "ordinary-kriging", "regression-kriging"}
    assert "points" in cu.choice.left_out["atpk"]  # a grid-only method is left out, with why
    facts = json.loads((out / "report.json").read_text())
    ranking = facts["elements"]["Cu"]["cross_validation"]
    assert [r["method"] for r in ranking] == [s.submission for s in cu.choice.scores]
    assert ranking[0]["skill"]["estimate"] >= ranking[-1]["skill"]["estimate"]
    assert facts["elements"]["Cu"]["method"] == "regression-kriging"
    report = (out / "report.md").read_text()
    assert "regression-kriging" in report and "report.png" in report
    assert (out / "report.png").stat().st_size > 10_000


def test_survey_board_ranks_the_survey_and_refuses_another_build(survey, tmp_path, capsys):
    """A survey's board scores its records as the official board; forged ones are skipped."""
    from geochem_bench.mapping import make_map

    out = tmp_path / "m"
    make_map(survey, "idw", ["Zn"], out, progress=False)
    results = out / "cv-results"
    assert main(["leaderboard", "--source", str(results), "--survey", str(survey)]) == 0
    shown = capsys.readouterr().out
    assert "idw" in shown and "fake-survey/zn/s4/points" in shown
    # the official board skips them, pointing at --survey
    assert main(["leaderboard", "--source", str(results)]) == 0
    assert "--survey" in capsys.readouterr().out
    # a record edited to claim other data is refused on the survey board
    record = next(results.rglob("fold-0.json"))
    data = json.loads(record.read_text())
    data["dataset"]["sha256"]["points"] = "0" * 64
    record.write_text(json.dumps(data))
    from geochem_bench.board.leaderboard import load_board_inputs
    from geochem_bench.board.pins import survey_pins

    records, _, skipped = load_board_inputs(results, survey_pins=survey_pins(survey))
    assert len(records) == 4 and any("fold-0.json" in s.path for s in skipped)


def test_map_refuses_what_it_cannot_do(survey, tmp_path):
    from geochem_bench.mapping import make_map

    with pytest.raises(InvalidInputError, match="no element"):
        make_map(survey, "idw", ["Au"], tmp_path / "a", progress=False)
    with pytest.raises(InvalidInputError, match="enters only grid"):
        make_map(survey, "atpk", ["Cu"], tmp_path / "b", progress=False)
    with pytest.raises(InvalidInputError, match="scale"):
        make_map(survey, "idw", ["Cu"], tmp_path / "c", scale=7, progress=False)
    with pytest.raises(InvalidInputError, match="cannot be streamed from samples"):
        make_map(survey, "covariable-kriging", ["Cu"], tmp_path / "d", tile=32, progress=False)
    for tile in (0, -5):  # not the default tile, nor a 4-cell one: refused before any work
        with pytest.raises(InvalidInputError, match="--tile must be at least 1"):
            make_map(survey, "idw", ["Cu"], tmp_path / "e", tile=tile, progress=False)
    with pytest.raises(InvalidInputError, match="--fit-cells must be at least 1"):
        make_map(survey, "idw", ["Cu"], tmp_path / "f", tile=32, fit_cells=0, progress=False)
    assert not (tmp_path / "e").exists() and not (tmp_path / "f").exists()


@pytest.mark.parametrize(
    "method", ["regression-kriging", "random-forest", "kriging-external-drift", "idw"]
)
def test_a_map_streamed_from_samples_equals_the_in_memory_map(survey, tmp_path, method):
    """Fitted once on every sample (covariates read at their cells), predicted tile by tile."""
    import rasterio

    from geochem_bench.mapping import make_map

    results = tmp_path / "cv"  # both maps reuse one cross-validation
    (whole,) = make_map(survey, method, ["Cu"], tmp_path / "whole", results=results, progress=False)
    (tiled,) = make_map(
        survey, method, ["Cu"], tmp_path / "tiled", results=results, tile=32, progress=False
    )
    assert tiled.streamed and not whole.streamed and tiled.has_std == whole.has_std
    with rasterio.open(whole.path) as a, rasterio.open(tiled.path) as b:
        expected, got = a.read(), b.read()
        assert a.nodata == b.nodata and a.count == b.count
        assert b.tags()["TILE"] == "32"
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_auto_streams_only_the_candidates_that_can(survey, tmp_path):
    """A candidate whose fit reads the whole raster is left out of a streamed map, with why."""
    from geochem_bench.mapping import make_map

    (cu,) = make_map(
        survey,
        "auto",
        ["Cu"],
        tmp_path / "m",
        candidates=("idw", "covariable-kriging"),
        tile=32,
        progress=False,
    )
    assert cu.method == "idw" and cu.streamed
    assert "cannot be streamed from samples" in cu.choice.left_out["covariable-kriging"]


def test_tiles_refuse_a_sample_model_that_does_not_say_it_streams(survey):
    from geochem_bench.core.grid import points_block_mean
    from geochem_bench.evaluation.tiled import DiskScene, predict_tiles
    from geochem_bench.mapping.survey_view import SurveyView
    from geochem_bench.models.upsampling import BicubicUpsampling

    view = SurveyView.open(survey)
    assert view.points is not None
    disk = DiskScene.open(survey, truth=False)
    lowres, count = points_block_mean(
        view.grid.coarsen(4), view.points.x, view.points.y, view.points.column("Cu")
    )
    tiles = predict_tiles(
        disk, 4, BicubicUpsampling(), lowres, count, tile=32, align=4, points=view.points
    )
    with pytest.raises(InvalidInputError, match="streams_from_samples"):
        next(tiles)


def test_tiles_refuse_samples_without_their_covariates(survey):
    """A window holds samples outside it: their covariates must travel with them.

    A sample outside a window has no cell in it (``cell_of`` gives -1, which indexes the
    window's last cell), so a model reading the samples' covariates from a window's raster
    would fit on wrong features; the samples must carry theirs (``Samples.covariates``).
    """
    from dataclasses import replace

    from geochem_bench.core.grid import points_block_mean
    from geochem_bench.evaluation.tiled import DiskScene, predict_tiles
    from geochem_bench.mapping.survey_view import SurveyView
    from geochem_bench.models.kriging import RegressionKriging

    view = SurveyView.open(survey)
    assert view.points is not None
    disk = DiskScene.open(survey, truth=False)
    lowres, count = points_block_mean(
        view.grid.coarsen(4), view.points.x, view.points.y, view.points.column("Cu")
    )
    one = replace(disk, elements=(disk.elements[0],))

    def first_tile(points):
        return next(
            predict_tiles(
                one, 4, RegressionKriging(), lowres, count, tile=32, align=4, points=points
            )
        )

    with pytest.raises(InvalidInputError, match=r"carry their covariates.*read_cells"):
        first_tile(view.points)
    short = replace(view.points, covariates=np.zeros((len(view.points), 1), np.float32))
    with pytest.raises(InvalidInputError, match="1 covariate band"):
        first_tile(short)


def test_samples_refuse_covariates_of_another_length(survey):
    from dataclasses import replace

    from geochem_bench.mapping.survey_view import SurveyView

    points = SurveyView.open(survey).points
    assert points is not None
    with pytest.raises(InvalidInputError, match="covariates at the samples"):
        replace(points, covariates=np.zeros((len(points) - 1, 2), np.float32))
    kept = replace(points, covariates=np.arange(2 * len(points), dtype=np.float32).reshape(-1, 2))
    mask = np.arange(len(points)) % 2 == 0
    assert kept.subset(mask).covariates.shape == (mask.sum(), 2)
    assert kept.with_hidden(("Cu",), mask).covariates is kept.covariates


@pytest.mark.parametrize(
    ("module", "name", "kwargs"),
    [
        ("kriging", "OrdinaryKrigingModel", {}),
        ("kriging", "RegressionKriging", {"n_estimators": 20}),
        ("kriging", "KrigingExternalDrift", {}),
        ("covariate_models", "RandomForestFusion", {"n_estimators": 20}),
    ],
)
def test_a_fitted_model_refits_inputs_that_share_only_the_samples(survey, module, name, kwargs):
    """A fit is reused only for the inputs it was made from (or a streamed map's windows).

    Every element task of a survey shares the scene's Samples object, as do inputs replaced
    with other covariates or another seed: a model fitted on copper and asked for zinc must
    not return the copper map under zinc's name.
    """
    import dataclasses
    import importlib

    from geochem_bench.core.task import Prediction
    from geochem_bench.scenes.survey import register_survey
    from geochem_bench.tasks.protocols import build_map_inputs

    cls = getattr(importlib.import_module(f"geochem_bench.models.{module}"), name)
    entry = register_survey(survey)
    scene = entry.loader()
    cu_task = next(t for t in entry.tasks if t.protocol == "points" and t.elements == ("Cu",))
    cu = build_map_inputs(scene, cu_task)
    zn = build_map_inputs(scene, dataclasses.replace(cu_task, elements=("Zn",)))
    assert zn.points is cu.points
    others = {
        "another element": zn,
        "other covariates": dataclasses.replace(cu, covariates=cu.covariates[::-1].copy()),
        "another seed": dataclasses.replace(cu, seed=cu.seed + 1),
    }
    for what, other in others.items():
        model = cls(**kwargs)
        model.fit(cu)
        model.predict(cu)
        reused, fresh = (
            out.mean if isinstance(out, Prediction) else out
            for out in (model.predict(other), cls(**kwargs).predict(other))
        )
        np.testing.assert_array_equal(reused, fresh, err_msg=what)


def test_map_cli(survey, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["map", str(survey), "--method", "idw", "--elements", "Zn", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Zn: idw" in printed and "cross-validated skill" in printed
    assert (out / "Zn.tif").is_file() and (out / "report.md").is_file()


def test_map_inputs_hold_every_sample_and_refuse_transfer(survey):
    from geochem_bench.core.task import TaskSpec
    from geochem_bench.scenes.survey import register_survey
    from geochem_bench.tasks.protocols import build_inputs, build_map_inputs

    entry = register_survey(survey)
    scene = entry.loader()
    task = entry.tasks[0]
    full = build_map_inputs(scene, task)
    fold = build_inputs(scene, task, 0)
    assert full.points is not None and fold.points is not None
    assert len(full.points) == len(scene.points) > len(fold.points)
    assert full.lowres_count.sum() >= fold.lowres_count.sum()
    transfer = TaskSpec(scene.name, task.elements, task.scale, "transfer", n_spatial_folds=5)
    with pytest.raises(InvalidInputError, match="points task"):
        build_map_inputs(scene, transfer)


def test_cog_check_refuses_a_plain_geotiff(tmp_path):
    """A striped GeoTIFF without overviews or nodata is reported, each problem named."""
    import rasterio
    from affine import Affine

    from geochem_bench.core.grid import GridSpec
    from geochem_bench.mapping.cog import cog_problems

    grid = GridSpec(600, 600, Affine(30.0, 0, 0, 0, -30.0, 0), CRS)
    path = tmp_path / "plain.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=600,
        width=600,
        count=1,
        dtype="float32",
        crs=CRS,
        transform=grid.transform,
    ) as dst:
        dst.write(np.ones((1, 600, 600), dtype=np.float32))
    problems = " ".join(cog_problems(path, grid))
    for expected in ("LAYOUT", "tiles", "overviews", "nodata"):
        assert expected in problems
    other = GridSpec(600, 600, Affine(30.0, 0, 10, 0, -30.0, 0), "EPSG:4326")
    assert any("transform" in p for p in cog_problems(path, other))
    assert any("CRS" in p for p in cog_problems(path, other))


def _score(name: str, version: str, skill: float, task: str = "s/cu/s4/points"):
    from geochem_bench.board.aggregation import Interval, TaskScore

    return TaskScore(
        name,
        version,
        task,
        "s",
        "points",
        ("Cu",),
        Interval(skill, skill - 0.1, skill + 0.1),
        {"Cu": Interval(0.1, 0.09, 0.11)},
        {"Cu": 1.0},
        5,
        np.empty(0),
    )


def test_auto_ranks_only_the_candidates_at_the_versions_that_run():
    """A better record of another method, or of another version, never wins nor is quoted."""
    from geochem_bench.mapping.selection import choose_method

    scores = [
        _score("magic", "1.0.0", 0.99),  # in the results folder, not a candidate
        _score("idw", "9.9.9", 0.95),  # another version of a candidate
        _score("idw", "1.0.0", 0.10),
        _score("ordinary-kriging", "2.0.0", 0.20),
    ]
    candidates = [("idw", "1.0.0"), ("ordinary-kriging", "2.0.0")]
    choice = choose_method(scores, "s/cu/s4/points", candidates)
    assert choice.chosen == "ordinary-kriging"
    assert [(s.submission, s.version) for s in choice.scores] == [
        ("ordinary-kriging", "2.0.0"),
        ("idw", "1.0.0"),
    ]
    with pytest.raises(InvalidInputError, match="no candidate"):
        choose_method(scores, "s/cu/s4/points", [("bicubic", "1.0.0")], {"bicubic": "why"})


def test_error_sums_of_a_degenerate_record_give_nan_not_a_crash():
    from geochem_bench.board.aggregation import rmse_from_sums, skill_from_sums

    assert np.isnan(skill_from_sums(1.0, 0.0)) and not np.isfinite(rmse_from_sums(1.0, 0.0))


def test_official_and_wald_scene_names_are_refused(survey, tmp_path):
    from geochem_bench.scenes.survey import SurveyError

    csv = survey.parent / "samples.csv"
    covs = [survey.parent / "signal.tif"]
    for name in ("jura", "mine-wald"):
        with pytest.raises(SurveyError, match="is taken"):
            make_survey(name, covs, csv, tmp_path / name, scales=(4,))
