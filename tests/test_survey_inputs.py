"""make-task on hostile or sloppy inputs: names, censored and impossible values, extra columns.

Hermetic: a small seeded GeoTIFF and samples table written in ``tmp_path`` (the real-data
survey tests are in ``test_survey.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geochem_bench.cli.main import main
from geochem_bench.scenes.survey import SurveyError, make_survey

N = 80  # samples: enough for 5 spatial-block folds on the 48x48 grid at scale 4


@pytest.fixture()
def survey(tmp_path) -> tuple[Path, pd.DataFrame]:
    """A 48x48 covariate raster (30 m, UTM 33N) and a samples table on it, seeded."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(7)
    tif = tmp_path / "dem.tif"
    profile = {
        "driver": "GTiff",
        "height": 48,
        "width": 48,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:32633",
        "transform": from_origin(500000.0, 4000000.0, 30.0, 30.0),
    }
    with rasterio.open(tif, "w", **profile) as dst:
        dst.write(rng.normal(100, 10, (1, 48, 48)).astype(np.float32))
    table = pd.DataFrame(
        {
            "x": 500000.0 + rng.uniform(15, 48 * 30 - 15, N),
            "y": 4000000.0 - rng.uniform(15, 48 * 30 - 15, N),
            "Cu": rng.lognormal(3, 0.5, N),
            "ZN": rng.lognormal(4, 0.5, N),
            "depth": rng.uniform(0, 1, N),
            "year": rng.integers(1990, 2020, N),
            "sample_no": np.arange(N),
            "lithology": rng.choice(["granite", "schist"], N),
        }
    )
    return tif, table


def _csv(tmp_path: Path, table: pd.DataFrame, name: str = "samples.csv") -> Path:
    path = tmp_path / name
    table.to_csv(path, index=False)
    return path


def _make_task(tmp_path, tif, csv, *extra: str) -> int:
    argv = ["make-task", "--name", "mysurvey", "--covariates", str(tif), "--samples", str(csv)]
    return main([*argv, "--out", str(tmp_path / "built"), "--scales", "4", *extra])


# --- element columns ----------------------------------------------------------------------


def test_only_element_symbol_columns_become_tasks_and_the_rest_are_listed(survey, tmp_path, capsys):
    tif, table = survey
    assert _make_task(tmp_path, tif, _csv(tmp_path, table)) == 0
    out = capsys.readouterr().out
    assert (
        "elements: Cu, ZN; ignored columns (not element symbols, or not named in --elements): "
        "depth, year, sample_no, lithology" in out
    )
    tasks = json.loads((tmp_path / "built" / "tasks.json").read_text())
    assert sorted({t["elements"][0] for t in tasks}) == ["Cu", "ZN"]
    meta = json.loads((tmp_path / "built" / "scene.json").read_text())
    assert meta["options"]["ignored_columns"] == ["depth", "year", "sample_no", "lithology"]


def test_a_table_without_element_symbols_is_refused(survey, tmp_path):
    tif, table = survey
    csv = _csv(tmp_path, table.rename(columns={"Cu": "copper", "ZN": "zinc"}))
    with pytest.raises(SurveyError, match="no column of the samples table is named by an element"):
        make_survey("s", [tif], csv, tmp_path / "o", scales=(4,))
    scene, tasks = make_survey("s", [tif], csv, tmp_path / "o", scales=(4,), elements=["zinc"])
    assert [t.id for t in tasks] == ["s/zinc/s4/points"]  # named explicitly: accepted
    assert "copper" in scene.options["ignored_columns"]


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("inf", "is not finite"),
        ("-3.5", "is not a positive concentration; if negative values code 'below the"),
        ("0.0", "is not a positive concentration"),
        ("n.d.", "is not a number"),
        ("<0", "is a detection-limit code whose limit is not > 0"),
        ("<-1", "is a detection-limit code whose limit is not > 0"),
        ("<abc", "is a detection-limit code whose limit is not a number"),
        ("<", "is a detection-limit code whose limit is not a number"),
        ("<inf", "is a detection-limit code whose limit is not a number"),
        ("<0,5", "is a detection-limit code with a decimal comma; write '<0.5'"),
        (">5000", "is an above-range code (right-censored)"),
    ],
)
def test_impossible_concentrations_are_refused_naming_column_row_and_value(
    survey, tmp_path, capsys, value, why
):
    tif, table = survey
    table = table.astype({"Cu": object})
    table.loc[6, "Cu"] = value  # row 7 of the data (the header is not counted)
    csv = _csv(tmp_path, table)
    assert _make_task(tmp_path, tif, csv) == 2
    err = capsys.readouterr().err
    assert f"samples.csv: column 'Cu' row 7: value {value!r} {why}" in err
    assert not (tmp_path / "built").exists()  # nothing half-made


# --- censored values -----------------------------------------------------------------------


@pytest.mark.parametrize("code", ["<0.5", "< 0.5", " <0.50 ", "<5e-1", "<.5"])
def test_a_detection_limit_code_is_censored_at_its_limit_and_trained_on_at_half(
    survey, tmp_path, code
):
    tif, table = survey
    table = table.astype({"Cu": object})
    table.loc[6, "Cu"] = code
    scene, _ = make_survey("s", [tif], _csv(tmp_path, table), tmp_path / "o", scales=(4,))
    points = scene.points
    row, cu = 6, points.index("Cu")
    assert points.limits is not None and points.limits[row, cu] == 0.5
    assert points.values[row, cu] == 0.25  # half the limit: the training value
    assert points.censored.sum() == 1  # nothing else, and ZN untouched
    np.testing.assert_array_equal(points.column("ZN"), table["ZN"].to_numpy())


def test_censored_values_survive_the_build_and_are_counted_by_make_task(survey, tmp_path, capsys):
    tif, table = survey
    table = table.astype({"Cu": object, "ZN": object})
    table.loc[[2, 9, 30], "Cu"] = ["<0.5", "<2", "<0.5"]
    table.loc[4, "ZN"] = "<10"
    assert _make_task(tmp_path, tif, _csv(tmp_path, table)) == 0
    out = capsys.readouterr().out
    assert "censored (below detection, kept at their limit) values per element: Cu 3, ZN 1" in out
    from geochem_bench.data.store import read_scene

    points = read_scene(tmp_path / "built").points  # what every task of the survey reads
    assert points is not None and points.limits is not None
    cu = points.index("Cu")
    assert points.limits[[2, 9, 30], cu].tolist() == [0.5, 2.0, 0.5]
    assert points.values[[2, 9, 30], cu].tolist() == [0.25, 1.0, 0.25]
    assert points.censored.sum(axis=0).tolist() == [3, 1]


def test_negative_codes_are_censored_only_when_asked(survey, tmp_path, capsys):
    tif, table = survey
    table.loc[6, "Cu"] = -0.5
    assert _make_task(tmp_path, tif, _csv(tmp_path, table)) == 2  # refused by default
    assert "--negative-means-censored" in capsys.readouterr().err
    assert _make_task(tmp_path, tif, _csv(tmp_path, table), "--negative-means-censored") == 0
    assert "values per element: Cu 1, ZN 0" in capsys.readouterr().out
    scene, _ = make_survey(
        "s", [tif], _csv(tmp_path, table), tmp_path / "o", scales=(4,), negative_means_censored=True
    )
    cu = scene.points.index("Cu")
    assert scene.points.limits[6, cu] == 0.5 and scene.points.values[6, cu] == 0.25
    table.loc[6, "Cu"] = 0.0  # zero is no limit, with or without the option
    with pytest.raises(SurveyError, match=r"value '0\.0' is not a positive concentration"):
        make_survey("s", [tif], _csv(tmp_path, table), tmp_path / "p", negative_means_censored=True)


def test_empty_cells_are_not_measured_not_refused(survey, tmp_path):
    tif, table = survey
    table.loc[3, "Cu"] = np.nan
    scene, _ = make_survey("s", [tif], _csv(tmp_path, table), tmp_path / "o", scales=(4,))
    assert np.isnan(scene.points.column("Cu")).sum() == 1


# --- names --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".hidden", "a b", "x" * 65])
def test_bad_scene_names_are_usage_errors(survey, tmp_path, capsys, name):
    tif, table = survey
    argv = ["make-task", "--name", name, "--covariates", str(tif)]
    argv += ["--samples", str(_csv(tmp_path, table)), "--out", str(tmp_path / "b")]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert f"argument --name: scene name {name!r} " in capsys.readouterr().err
    with pytest.raises(SurveyError, match=r"scene name \(--name\)"):
        make_survey(name, [tif], _csv(tmp_path, table), tmp_path / "b", scales=(4,))
    assert not (tmp_path / "b").exists()


def test_element_columns_that_are_not_names_are_refused(survey, tmp_path):
    tif, table = survey
    csv = _csv(tmp_path, table.rename(columns={"Cu": "../cu"}))
    with pytest.raises(SurveyError, match=r"element column \(--elements\) '\.\./cu' contains"):
        make_survey("s", [tif], csv, tmp_path / "o", scales=(4,), elements=["../cu"])


def test_a_hand_edited_survey_cannot_write_records_outside_out(survey, tmp_path, capsys):
    """The reproduction of the issue: a scene named ../../x moved records out of --out."""
    tif, table = survey
    assert _make_task(tmp_path, tif, _csv(tmp_path, table)) == 0
    built = tmp_path / "built"
    for name in ("scene.json", "tasks.json"):  # as an older version would have written them
        path = built / name
        path.write_text(path.read_text().replace('"mysurvey"', '"../../x"'))
    capsys.readouterr()
    argv = ["evaluate", "geochem_bench.models:NearestUpsampling", "--survey", str(built)]
    assert main([*argv, "--out", str(tmp_path / "deep" / "res"), "--isolation", "inline"]) == 2
    err = capsys.readouterr().err
    assert f"scene name in {built / 'scene.json'} '../../x' contains a path separator" in err
    assert not (tmp_path / "x").exists() and not (tmp_path / "deep").exists()


# --- option values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--scales", "1", "argument --scales: must be >= 2, got 1"),
        ("--folds", "1", "argument --folds: must be >= 2, got 1"),
        ("--block-cells", "0", "argument --block-cells: must be >= 1, got 0"),
        ("--seed", "-1", "argument --seed: must be >= 0, got -1"),
        ("--transfer-fraction", "1.5", "argument --transfer-fraction: must be in (0, 1], got 1.5"),
        ("--folds", "five", "argument --folds: expected a whole number, got 'five'"),
    ],
)
def test_make_task_options_are_validated(survey, tmp_path, capsys, option, value, message):
    tif, table = survey
    with pytest.raises(SystemExit) as info:
        _make_task(tmp_path, tif, _csv(tmp_path, table), option, value)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


# --- leakage ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["values", "locations"])
def test_no_task_of_a_made_survey_leaks_held_out_samples(survey, tmp_path, kind):
    """The leakage check of every registered task, on a make-task build: each perturbation
    is written into the samples table and the survey made again from it."""
    from geochem_bench.data.store import read_scene
    from geochem_bench.scenes.registry import load_scene
    from geochem_bench.scenes.survey import register_survey
    from tests.test_leakage import assert_held_out_samples_change_no_input

    tif, table = survey
    assert _make_task(tmp_path, tif, _csv(tmp_path, table)) == 0
    entry = register_survey(tmp_path / "built")
    tasks = [t for t in entry.tasks if t.protocol != "grid"]
    assert {t.protocol for t in tasks} >= {"points"}
    scene = load_scene(entry.name)
    made: dict[str, object] = {}

    def rebuild(change):
        if change.key not in made:
            edited = table.copy()
            x = edited["x"].to_numpy(dtype=np.float64, copy=True)
            y = edited["y"].to_numpy(dtype=np.float64, copy=True)
            values = {
                s: edited[s].to_numpy(dtype=np.float64, copy=True) for s in scene.points.elements
            }
            change(np.arange(1, len(edited) + 1), x, y, values)  # ids: row numbers from 1
            edited = edited.assign(x=x, y=y, **values)
            out = tmp_path / change.key
            out.mkdir()
            assert _make_task(out, tif, _csv(out, edited)) == 0
            made[change.key] = read_scene(out / "built")
        return made[change.key]

    for task in tasks:
        assert_held_out_samples_change_no_input(scene, task, kind, rebuild)


def test_re_registering_a_survey_name_loads_the_new_build(survey, tmp_path):
    from geochem_bench.scenes.registry import load_scene
    from geochem_bench.scenes.survey import register_survey

    tif, table = survey
    argv = ["make-task", "--name", "twice", "--covariates", str(tif), "--scales", "4"]
    assert main([*argv, "--samples", str(_csv(tmp_path, table)), "--out", str(tmp_path / "a")]) == 0
    smaller = _csv(tmp_path, table.iloc[:60], "fewer.csv")
    assert main([*argv, "--samples", str(smaller), "--out", str(tmp_path / "b")]) == 0
    register_survey(tmp_path / "a")
    assert len(load_scene("twice").points) == N
    register_survey(tmp_path / "b")
    assert len(load_scene("twice").points) == 60  # not the cached copy of the first build


def test_a_censored_survey_scores_every_value_and_counts_the_censored_ones(survey, tmp_path):
    """End to end: make-task with '<L' codes, the harness (model process, canary), records."""
    from geochem_bench.board.pins import load_pins
    from geochem_bench.board.validation import check_record
    from geochem_bench.evaluation.executors import evaluate
    from geochem_bench.evaluation.harness import RunOptions
    from geochem_bench.evaluation.submission import load_submission
    from geochem_bench.scenes.registry import list_tasks

    tif, table = survey
    cu = table["Cu"].to_numpy()
    limit = float(np.round(np.quantile(cu, 0.25), 2))
    low = cu < limit
    table = table.astype({"Cu": object})
    table.loc[low, "Cu"] = f"<{limit}"
    make_survey("cens", [tif], _csv(tmp_path, table), tmp_path / "built", scales=(4,))
    baseline = load_submission(Path(__file__).resolve().parents[1] / "baselines" / "idw")
    options = RunOptions(tmp_path / "res", progress=False, canary=True)
    records = evaluate(baseline, list_tasks(["cens/cu/s4/points"]), options)
    assert [r.status for r in records] == ["ok"] * 5
    rows = [r.metrics["Cu"] for r in records]
    assert sum(row["n"] for row in rows) == N  # censored values are scored, not dropped
    assert sum(row["n_censored"] for row in rows) == low.sum() > 0
    pins = load_pins()
    for record in records:
        assert check_record(record, pins) == [], record.fold
    assert not any(r.canary.changed for r in records if r.canary is not None)


def test_samples_crs_replaces_a_vector_files_wrong_crs(survey, tmp_path):
    """A vector file whose CRS is wrong (as Meuse's .prj) is usable with --samples-crs."""
    import geopandas as gpd

    tif, table = survey
    wrong = gpd.GeoDataFrame(
        table[["Cu"]], geometry=gpd.points_from_xy(table.x, table.y), crs="EPSG:4326"
    )  # UTM metres labelled as degrees
    wrong.to_file(tmp_path / "samples.gpkg")
    with pytest.raises(SurveyError, match="samples' CRS"):
        make_survey("wrongcrs", [tif], tmp_path / "samples.gpkg", tmp_path / "a", scales=(4,))
    scene, _ = make_survey(
        "rightcrs",
        [tif],
        tmp_path / "samples.gpkg",
        tmp_path / "b",
        scales=(4,),
        samples_crs="EPSG:32633",
    )
    assert scene.points is not None and len(scene.points) == N
    np.testing.assert_allclose(scene.points.x, table.x.to_numpy(), atol=1e-3)
