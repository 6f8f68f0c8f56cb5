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
        ("<0.5", "is a detection-limit code (censored, not a measurement)"),
        ("inf", "is not finite"),
        ("-3.5", "is not a positive concentration"),
        ("0.0", "is not a positive concentration"),
        ("n.d.", "is not a number"),
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


def test_no_task_of_a_made_survey_leaks_held_out_values(survey, tmp_path):
    """The value-perturbation leakage check of every registered task, on a make-task build."""
    from geochem_bench.scenes.registry import load_scene
    from geochem_bench.scenes.survey import register_survey
    from tests.test_leakage import assert_held_out_values_change_no_input

    tif, table = survey
    assert _make_task(tmp_path, tif, _csv(tmp_path, table)) == 0
    entry = register_survey(tmp_path / "built")
    tasks = [t for t in entry.tasks if t.protocol != "grid"]
    assert {t.protocol for t in tasks} >= {"points"}
    scene = load_scene(entry.name)
    for task in tasks:  # a survey has one fixed realisation
        assert_held_out_values_change_no_input(lambda _: scene, task)


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
