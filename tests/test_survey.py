"""Bring your own survey: the Meuse files, renamed and partly reprojected, give the same scores."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from geochem_bench.cli.main import main
from geochem_bench.evaluation.executors import evaluate
from geochem_bench.evaluation.harness import RunOptions
from geochem_bench.evaluation.submission import load_submission
from geochem_bench.scenes import Meuse
from geochem_bench.scenes.registry import list_tasks
from geochem_bench.scenes.survey import SurveyError, make_survey

from .conftest import RAW_DIR, require_raw

pytestmark = pytest.mark.real_data  # the survey is made of the real Meuse files

STEMS = (
    "landimg2",
    "landimg3",
    "landimg4",
    "dem",
    "slope",
    "twi",
    "mrvbf",
    "rsp",
    "chnl_dist",
    "dist",
    "ffreq",
    "soil",
)


@pytest.fixture()
def survey_folder(tmp_path, built_root):
    """The Meuse survey as a user would hand it over: new names, other CRSs."""
    import geopandas as gpd
    import rasterio
    from rasterio.warp import calculate_default_transform, reproject

    require_raw()
    folder = tmp_path / "my_survey"
    folder.mkdir()
    for i, stem in enumerate(STEMS):
        shutil.copyfile(RAW_DIR / "meuse" / f"{stem}.tif", folder / f"layer_{i:02d}.tif")
    # one layer reprojected to ETRS89-LAEA: make-task must bring it back onto the grid
    with rasterio.open(folder / "layer_00.tif") as src:
        transform, w, h = calculate_default_transform(
            "EPSG:28992", "EPSG:3035", src.width, src.height, *src.bounds
        )
        profile = src.profile | {
            "crs": "EPSG:3035",
            "transform": transform,
            "width": w,
            "height": h,
        }
        data = np.full((h, w), -1, dtype=src.dtypes[0])
        reproject(
            src.read(1),
            data,
            src_transform=src.transform,
            src_crs="EPSG:28992",
            dst_transform=transform,
            dst_crs="EPSG:3035",
            src_nodata=-1,
            dst_nodata=-1,
        )
    (folder / "layer_00.tif").unlink()
    with rasterio.open(folder / "layer_99.tif", "w", **profile) as dst:
        dst.write(data[None])
    scene = Meuse.load(root=built_root)
    pts = scene.points
    table = gpd.GeoDataFrame(
        {
            "cadmium": pts.column("Cd"),
            "copper": pts.column("Cu"),
            "lead": pts.column("Pb"),
            "zinc": pts.column("Zn"),
        },
        geometry=gpd.points_from_xy(pts.x, pts.y),
        crs="EPSG:28992",
    ).to_crs("EPSG:4326")  # samples handed over in lon/lat
    table.to_file(folder / "samples.gpkg")
    return folder


def test_make_task_reproduces_registered_scores(survey_folder, built_root, tmp_path):
    covariates = sorted(survey_folder.glob("layer_*.tif"))
    scene, tasks = make_survey(
        "mymeuse",
        covariates,
        survey_folder / "samples.gpkg",
        tmp_path / "built",
        elements=["cadmium", "copper", "lead", "zinc"],
        crs="EPSG:28992",
        scales=(10,),
    )
    assert [t.id for t in tasks] == [
        f"mymeuse/{e}/s10/points" for e in ("cadmium", "copper", "lead", "zinc")
    ]
    assert len(scene.points) == 155 and scene.grid.crs == "EPSG:28992"
    options = RunOptions(
        tmp_path / "res", progress=False, scene_options={"meuse": {"root": built_root}}
    )
    for baseline in ("bicubic", "idw"):
        sub = (
            load_submission(f"baselines/{baseline}")
            if False
            else load_submission(
                __import__("pathlib").Path(__file__).resolve().parents[1] / "baselines" / baseline
            )
        )
        mine = evaluate(sub, list_tasks(["mymeuse/zinc/s10/points"]), options)
        theirs = evaluate(sub, list_tasks(["meuse/zn/s10/points"]), options)
        for a, b in zip(mine, theirs):
            assert a.status == b.status == "ok"
            for metric, value in b.metrics["Zn"].items():
                assert a.metrics["zinc"][metric] == pytest.approx(value, rel=1e-6, abs=1e-9), (
                    baseline,
                    metric,
                )


def test_make_task_cli_and_listing(survey_folder, tmp_path, capsys):
    covariates = [str(p) for p in sorted(survey_folder.glob("layer_*.tif"))]
    out = tmp_path / "built"
    assert (
        main(
            [
                "make-task",
                "--name",
                "clisurvey",
                "--covariates",
                *covariates,
                "--samples",
                str(survey_folder / "samples.gpkg"),
                "--out",
                str(out),
                "--crs",
                "EPSG:28992",
                "--elements",
                "zinc",
                "--transfer-fraction",
                "0.5",
            ]
        )
        == 0
    )
    assert "clisurvey/zinc/s10/transfer" in capsys.readouterr().out
    assert main(["list", "--survey", str(out), "clisurvey/*"]) == 0
    assert (
        main(
            [
                "evaluate",
                "geochem_bench.models:NearestUpsampling",
                "--survey",
                str(out),
                "--tasks",
                "clisurvey/zinc/s10/points",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )


def test_bad_inputs_get_clear_errors(survey_folder, tmp_path):
    import pandas as pd

    covariates = sorted(survey_folder.glob("layer_*.tif"))
    csv = tmp_path / "s.csv"
    pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0], "zinc": [1.0, 2.0]}).to_csv(csv, index=False)
    with pytest.raises(SurveyError, match="extents do not overlap"):
        make_survey("a", covariates, csv, tmp_path / "o1", crs="EPSG:28992", elements=["zinc"])
    with pytest.raises(SurveyError, match=r"has a CRS while layer_01\.tif has none"):
        make_survey("a", covariates, csv, tmp_path / "o2")  # layer_01 has none, layer_99 has one
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"x": [179000.0] * 3, "y": [331000.0] * 3, "zinc": ["12", "<5x", "30"]}).to_csv(
        bad, index=False
    )
    with pytest.raises(
        SurveyError, match=r"bad\.csv: column 'zinc' row 2: value '<5x' is a detection"
    ):
        make_survey("a", covariates, bad, tmp_path / "o3", crs="EPSG:28992", elements=["zinc"])
    few = tmp_path / "few.csv"
    pd.DataFrame(
        {"x": [179000.0, 179500.0, 180000.0], "y": [331000.0] * 3, "zinc": [1.0, 2.0, 3.0]}
    ).to_csv(few, index=False)
    with pytest.raises(SurveyError, match="too few for 5 folds"):
        make_survey("a", covariates, few, tmp_path / "o4", crs="EPSG:28992", elements=["zinc"])
