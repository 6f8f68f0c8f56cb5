"""The sir-samuel scene: its quirks on the seeded fakes, and its facts on the real files.

The fakes (``tests/data/sir-samuel/data.py``) reproduce the quirks the build handles; the
``real_data`` tests (the ``raw_dir`` / ``raw_server`` fixtures) check the facts the module and
its card state about the pinned files, the declared detection limits first.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from geochem_bench.errors import InvalidInputError
from geochem_bench.scenes.registry import list_tasks
from geochem_bench.scenes.sir_samuel import (
    ALLUVIUM,
    CROSS_MEDIA,
    DETECTION_LIMITS,
    ELEMENTS,
    LACUSTRINE,
    MAJORS,
    TARGETS,
    SirSamuel,
)
from geochem_bench.tasks.protocols import build_fold, task_split

from .conftest import assert_every_fold_builds, generate_fakes, load_fake_module

ROOT = Path(__file__).resolve().parents[1]


def _sites(folder: Path):
    import pyogrio

    return pyogrio.read_dataframe(folder / "sir_samuel" / "landshark" / "geochem_sites.shp")


def _reported(values: np.ndarray) -> np.ndarray:
    """Whether a value is written with at most two decimals (a reported, not imputed, value)."""
    return np.abs(values * 100.0 - np.round(values * 100.0)) < 1e-6


# --- the fakes ------------------------------------------------------------------------------


def test_fake_limits_are_the_declared_ones():
    assert load_fake_module("sir-samuel").LIMITS == DETECTION_LIMITS


def test_grid_mask_and_dropped_sites_on_the_fakes(fake_data):
    fake = load_fake_module("sir-samuel")
    scene = fake_data.build("sir-samuel")
    sites = _sites(fake_data.mirror)
    assert scene.grid.crs == "EPSG:28351" and scene.grid.res == (500.0, 500.0)
    left, bottom, right, top = scene.grid.bounds
    assert all(v % 5000.0 == 0.0 for v in (left, bottom, right, top))  # round coarse cells
    # the valid mask is the rasters': the nodata corner and the rotated edges are off it
    assert 0.5 < scene.valid.mean() < 0.95
    assert np.isfinite(scene.covariates[:, scene.valid]).all()
    lith = [i for i, n in enumerate(scene.band_names) if n.startswith("lith_")]
    soil = [i for i, n in enumerate(scene.band_names) if n.startswith("soil_asc_")]
    assert [scene.band_names[i] for i in lith] == ["lith_1", "lith_5", "lith_10", "lith_23"]
    for bands in (lith, soil):  # one class per valid cell
        np.testing.assert_array_equal(scene.covariates[bands][:, scene.valid].sum(axis=0), 1)
    media = sites["LITHNAME"].to_numpy()
    ids = sites["GSWANO"].to_numpy().astype(np.int64)
    lake = int((media == LACUSTRINE).sum())
    assert lake == fake.MEDIA[(LACUSTRINE, 3)]
    # every site but the lacustrine ones and the one in the nodata corner, by GSWANO
    assert len(scene.points) == len(sites) - lake - 1
    assert not np.isin(ids[media == LACUSTRINE], scene.points.ids).any()
    assert f"; {lake} lacustrine sites dropped; 1 samples off the rasters dropped;" in (
        scene.description
    )
    rows, cols = scene.grid.cell_of(scene.points.x, scene.points.y)
    assert (rows >= 0).all() and scene.valid[rows, cols].all()


def test_imputed_values_are_censored_at_the_declared_limits_on_the_fakes(fake_data):
    scene = fake_data.build("sir-samuel")
    sites = _sites(fake_data.mirror).set_index("GSWANO").loc[scene.points.ids.astype(float)]
    points = scene.points
    assert points.elements == ELEMENTS
    for e, el in enumerate(ELEMENTS):
        raw = sites[f"{el}_ppm_imp"].to_numpy()
        limit = DETECTION_LIMITS.get(el)
        censored = points.censored[:, e]
        if limit is None:
            assert not censored.any(), el
            np.testing.assert_array_equal(points.values[:, e], raw)
            continue
        np.testing.assert_array_equal(censored, raw < limit, err_msg=el)
        assert censored.any() and (points.limits[censored, e] == limit).all(), el
        np.testing.assert_array_equal(points.values[censored, e], limit / 2)
        np.testing.assert_array_equal(points.values[~censored, e], raw[~censored])
        assert not _reported(raw[censored]).any(), el  # the fake imputes, like upstream
    # a value reported exactly at the limit is a measurement, not censored
    sb = ELEMENTS.index("Sb")
    at = sites["Sb_ppm_imp"].to_numpy() == DETECTION_LIMITS["Sb"]
    assert at.any() and not points.censored[at, sb].any()
    # F comes from F_ppm_imp, never from its log10 copy F_ppm_imp_
    np.testing.assert_array_equal(
        points.censored[:, ELEMENTS.index("F")], sites["F_ppm_imp"].to_numpy() < 50.0
    )


def test_cross_media_split_holds_out_the_alluvium_sites_entirely(fake_data):
    scene = fake_data.build("sir-samuel")
    sites = _sites(fake_data.mirror).set_index("GSWANO").loc[scene.points.ids.astype(float)]
    alluvium = (sites["LITHNAME"] == ALLUVIUM).to_numpy()
    split = scene.splits[CROSS_MEDIA]
    assert split.method == "official" and split.n_folds == 1
    np.testing.assert_array_equal(split.test_mask(0), alluvium)
    (task,) = list_tasks(["sir-samuel/cross-media/s10/points"])
    assert task.elements == TARGETS and task_split(scene, task) is split
    inputs, held_out = build_fold(scene, task, 0)
    np.testing.assert_array_equal(held_out.sample_ids, scene.points.ids[alluvium])
    # training: the sheetwash and soil sites only; no alluvium id, location or value
    np.testing.assert_array_equal(inputs.points.ids, scene.points.ids[~alluvium])
    assert set(sites["LITHNAME"][~alluvium]) == {"Sheetwash", "Soil"}
    assert inputs.lowres.shape[0] == len(TARGETS)


def test_transfer_shows_the_majors_at_held_out_sites_and_nothing_else(fake_data):
    scene = fake_data.build("sir-samuel")
    (task,) = list_tasks(["sir-samuel/as/s10/transfer"])
    assert task.covariables == MAJORS and task.target_fraction == 0.25
    inputs, held_out = build_fold(scene, task, 0)
    test = np.isin(inputs.points.ids, held_out.sample_ids)
    assert test.any()
    for e, el in enumerate(ELEMENTS):
        shown = np.isfinite(inputs.points.values[test, e])
        assert shown.all() if el in MAJORS else not shown.any(), el
    train = ~test
    known = np.isfinite(inputs.points.column("As")[train])
    assert 0 < known.sum() < train.sum()  # the target at a quarter of the training sites


def test_raw_files_from_another_grid_or_table_are_refused(tmp_path):
    import rasterio

    files = generate_fakes(SirSamuel, tmp_path)
    assert [f.path for f in files] == [f.path for f in SirSamuel.files]
    folder = tmp_path / "sir_samuel" / "landshark"
    SirSamuel.build(tmp_path)  # as generated: builds
    soil = folder / "Soil_ASC.tif"
    with rasterio.open(soil, "r+") as dst:  # shifted by one cell
        t = dst.transform
        dst.transform = rasterio.Affine(t.a, t.b, t.c + t.a, t.d, t.e, t.f)
    with pytest.raises(InvalidInputError, match=r"Soil_ASC.tif is not on the grid of .*--force"):
        SirSamuel.build(tmp_path)


def test_unknown_medium_and_missing_column_are_refused(tmp_path):
    import geopandas as gpd

    generate_fakes(SirSamuel, tmp_path)
    shp = tmp_path / "sir_samuel" / "landshark" / "geochem_sites.shp"
    sites = gpd.read_file(shp)
    sites.loc[0, "LITHNAME"] = "Lag"
    sites.to_file(shp)
    with pytest.raises(InvalidInputError, match=r"unknown sample media \['Lag'\]"):
        SirSamuel.build(tmp_path)
    sites.loc[0, "LITHNAME"] = "Soil"
    sites.drop(columns=["Ni_ppm_imp"]).to_file(shp)
    with pytest.raises(InvalidInputError, match=r"lacks the columns \['Ni_ppm_imp'\]"):
        SirSamuel.build(tmp_path)


def test_facts_script_runs_on_the_fakes(fake_data, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from sir_samuel_facts import element_rows, fold_rows, media_shift

    scene = fake_data.build("sir-samuel")
    assert [r["element"] for r in element_rows(scene)][:2] == ["Ni", "Cr"]
    rows = fold_rows(scene, fake_data.root)
    assert {r["task"] for r in rows} == {t.id for t in SirSamuel.tasks}
    assert all(r["rmse_training_mean"] > 0 for r in rows)
    shift = media_shift(scene)
    assert [r["element"] for r in shift] == list(TARGETS)
    assert shift[0]["n_alluvium"] == int(scene.splits[CROSS_MEDIA].test_mask(0).sum())


# --- the real files -------------------------------------------------------------------------


def test_declared_limits_are_what_the_pinned_table_shows(raw_dir):
    """How DETECTION_LIMITS were found, checked again on the pinned table (1026 sites)."""
    sites = _sites(raw_dir)
    below = {}
    for el in ELEMENTS:
        raw = sites[f"{el}_ppm_imp"].to_numpy()
        reported = _reported(raw)
        limit = DETECTION_LIMITS.get(el)
        if limit is None:  # no imputed value at all
            assert reported.all(), el
            continue
        # the limit is the smallest reported value; the imputed values are exactly those below
        assert raw[reported].min() == limit, el
        np.testing.assert_array_equal(raw < limit, ~reported, err_msg=el)
        below[el] = int((raw < limit).sum())
        for _, batch in sites.groupby("Batch_No"):  # ... in every laboratory batch too
            values = batch[f"{el}_ppm_imp"].to_numpy()
            assert (values[~_reported(values)] < limit).all(), el
    assert below == {
        "As": 223, "Ca": 5, "Cr": 8, "F": 282, "Mg": 2, "Mn": 42, "Mo": 13, "Na": 1, "P": 3,
        "Pb": 7, "S": 10, "Sb": 129, "Sc": 132, "Se": 229, "Sn": 381, "Ta": 53,
    }  # fmt: skip

    def smallest_reported(values: np.ndarray) -> float:
        return float(values[_reported(values)].min())

    every_batch = {  # the limit is the smallest reported value of every batch, too
        el
        for el, limit in DETECTION_LIMITS.items()
        if all(
            smallest_reported(batch[f"{el}_ppm_imp"].to_numpy()) == limit
            for _, batch in sites.groupby("Batch_No")
        )
    }
    assert every_batch == set(DETECTION_LIMITS) - {"Cr", "Mg", "Mo", "Pb", "S"}
    assert (sites["Sb_ppm_imp"] == 0.2).sum() == 271 and (sites["Mn_ppm_imp"] == 77.45).sum() == 332


def test_media_coordinates_and_ids_of_the_pinned_table(raw_dir):
    from pyproj import Transformer

    sites = _sites(raw_dir)
    assert sites["LITHNAME"].value_counts().to_dict() == {
        "Sheetwash": 420, "Alluvium": 398, "Soil": 156, LACUSTRINE: 52,
    }  # fmt: skip
    assert sites["GSWANO"].is_unique and len(sites) == 1026
    to_mga = Transformer.from_crs("EPSG:4283", "EPSG:28351", always_xy=True)
    x, y = to_mga.transform(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
    assert np.abs(x - sites["EASTING"]).max() < 3.7 and np.abs(y - sites["NORTHING"]).max() < 3.7
    lake = (sites["LITHNAME"] == LACUSTRINE).to_numpy()
    mg = np.log10(sites["Mg_ppm_imp"].to_numpy())
    assert mg[lake].mean() - mg[~lake].mean() == pytest.approx(1.20, abs=0.005)


@pytest.fixture(scope="module")
def real_root(tmp_path_factory, raw_server):
    """sir-samuel alone, downloaded from the local mirror of the raw data and built."""
    root = tmp_path_factory.mktemp("sir-samuel")
    SirSamuel.load(root=root, download=True, mirror=raw_server, progress=False)
    return root


def test_real_build_is_byte_identical(real_root, raw_server, tmp_path):
    SirSamuel.load(root=tmp_path, download=True, mirror=raw_server, progress=False)
    first = json.loads((SirSamuel.scene_dir(real_root) / "manifest.json").read_text())
    second = json.loads((SirSamuel.scene_dir(tmp_path) / "manifest.json").read_text())
    assert first == second and len(first) == 12  # 4 files + 8 split files


def test_real_scene_matches_its_card(real_root):
    scene = SirSamuel.load(root=real_root)
    assert scene.grid.shape == (250, 330) and scene.grid.transform.c == 195000.0
    assert scene.grid.transform.f == 7020000.0 and int(scene.valid.sum()) == 72509
    assert len(scene.band_names) == 25 and len(scene.points) == 974
    assert "974 regolith sites (sheetwash 420, alluvium 398, soil 156); 52 lacustrine sites " \
        "dropped; 0 samples off the rasters dropped;" in scene.description  # fmt: skip
    censored = dict(zip(ELEMENTS, scene.points.censored.sum(axis=0).tolist()))
    assert {k: v for k, v in censored.items() if v} == {
        "As": 211, "Ca": 5, "Cr": 8, "F": 273, "Mg": 2, "Mn": 40, "Mo": 6, "Na": 1, "P": 3,
        "Pb": 6, "S": 9, "Sb": 118, "Sc": 128, "Se": 217, "Sn": 357, "Ta": 42,
    }  # fmt: skip
    assert_every_fold_builds(lambda r: scene, SirSamuel.tasks)
    for task in SirSamuel.tasks:
        split = task_split(scene, task)
        held = [int(split.test_mask(f).sum()) for f in range(split.n_folds)]
        assert held == ([398] if task.split == CROSS_MEDIA else [195, 195, 195, 195, 194])


def test_real_facts_quoted_in_the_card(real_root, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from sir_samuel_facts import element_rows, fold_rows, media_shift

    scene = SirSamuel.load(root=real_root)
    shift = {r["element"]: round(r["difference"], 3) for r in media_shift(scene)}
    assert shift == {"Ni": 0.206, "Cr": 0.217, "Cu": 0.235, "As": 0.286, "Pb": 0.074}
    r2 = {r["element"]: round(r["r2_covariates"], 2) for r in element_rows(scene)}
    assert r2 == {
        "Ni": 0.40, "Cr": 0.42, "Co": 0.44, "Cu": 0.43, "Zn": 0.30, "As": 0.45, "Sb": 0.41,
        "Pb": 0.04,
    }  # fmt: skip
    rows = fold_rows(scene, real_root)
    pooled = {}
    for task in SirSamuel.tasks:
        for el in task.elements:
            mine = [r for r in rows if r["task"] == task.id and r["element"] == el]
            total = sum(r["sse"] for r in mine) / sum(r["n"] for r in mine)
            pooled[(task.id.split("/")[1], task.protocol, el)] = round(float(np.sqrt(total)), 3)
    assert pooled == {
        ("ni", "points", "Ni"): 0.363, ("cr", "points", "Cr"): 0.454,
        ("cu", "points", "Cu"): 0.374, ("as", "points", "As"): 0.424,
        ("pb", "points", "Pb"): 0.222, ("ni", "transfer", "Ni"): 0.363,
        ("as", "transfer", "As"): 0.427, ("cross-media", "points", "Ni"): 0.503,
        ("cross-media", "points", "Cr"): 0.599, ("cross-media", "points", "Cu"): 0.513,
        ("cross-media", "points", "As"): 0.620, ("cross-media", "points", "Pb"): 0.219,
    }  # fmt: skip
