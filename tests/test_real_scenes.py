"""End to end on the real raw files: served on 127.0.0.1, downloaded, verified, built.

Every test here needs the real raw data (``real_data``; skipped when it is absent). The same
checks run hermetically on seeded fakes in ``test_datasets.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from geochem_bench.data.store import read_scene
from geochem_bench.scenes import (
    REAL_SCENES,
    Jura,
    LaplandIOCG,
    LaplandRadiometrics,
    Meuse,
    Olinda,
    SirSamuelRadiometrics,
    WalkerLake,
)
from geochem_bench.scenes.registry import list_tasks
from geochem_bench.tasks.protocols import build_fold, task_split

from .conftest import RAW_DIR, assert_every_fold_builds

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.real_data


def test_builds_are_byte_identical(tmp_path, raw_server, built_root):
    for cls in REAL_SCENES:
        cls.load(root=tmp_path, download=True, mirror=raw_server, progress=False)
        first = json.loads((cls.scene_dir(built_root) / "manifest.json").read_text())
        second = json.loads((cls.scene_dir(tmp_path) / "manifest.json").read_text())
        assert first == second, cls.name
        assert len(first) >= 4


@pytest.mark.parametrize("cls", REAL_SCENES, ids=lambda c: c.name)
def test_every_task_builds_its_folds(built_root, cls):
    scene = cls.load(root=built_root)
    assert scene.name == cls.name
    assert_every_fold_builds(lambda r: cls.load(root=built_root, realisation=r), cls.tasks)


def test_meuse_quirks(built_root):
    scene = Meuse.load(root=built_root)
    assert scene.grid.crs == "EPSG:28992" and scene.grid.res == (40.0, 40.0)
    assert scene.valid.sum() == 3103 and len(scene.points) == 155
    elevation = scene.covariates[scene.band_names.index("elevation_m")]
    assert np.nanmin(elevation) > 29 and np.nanmax(elevation) < 50  # metres, not cm
    assert np.isfinite(scene.covariates[:, scene.valid]).all()  # twi holes filled
    assert np.isnan(scene.covariates[:, ~scene.valid]).all()  # landimg cut to the mask
    zn = scene.points.column("Zn")
    assert zn.min() == 113 and zn.max() == 1839  # the published range of meuse$zinc


def test_jura_official_split_and_units(built_root):
    scene = Jura.load(root=built_root)
    split = task_split(scene, list_tasks(["jura/cd/s10/points"])[0])
    assert (
        split.method == "official"
        and split.test_mask(0).sum() == 100
        and (split.folds == -1).sum() == 259
    )
    cd = scene.points.column("Cd")
    assert cd[:259].mean() == pytest.approx(1.309, abs=1e-3)  # jura.pred Cd mean (SOURCES.md)
    assert scene.grid.res == (50.0, 50.0) and scene.grid.crs is None
    one_hot = scene.covariates[:, scene.valid]
    np.testing.assert_array_equal(one_hot[:5].sum(axis=0), 1)  # one rock type per cell
    np.testing.assert_array_equal(one_hot[5:].sum(axis=0), 1)  # one land use per cell


def test_jura_transfer_keeps_ni_zn_at_validation_sites(built_root):
    scene = Jura.load(root=built_root)
    task = list_tasks(["jura/cd/s10/transfer"])[0]
    inputs, held_out = build_fold(scene, task, 0)
    test = np.isin(inputs.points.ids, held_out.sample_ids)
    assert test.sum() == 100
    assert np.isfinite(inputs.points.column("Ni")[test]).all()
    assert np.isfinite(inputs.points.column("Zn")[test]).all()
    for hidden in ("Cd", "Co", "Cr", "Cu", "Pb"):
        assert np.isnan(inputs.points.column(hidden)[test]).all(), hidden


def test_walker_lake_matches_the_independent_csv_export(built_root):
    import pandas as pd

    scene = WalkerLake.load(root=built_root)
    table = pd.read_csv(RAW_DIR / "walker_lake" / "walker_exhaustive.csv")
    rows, cols = scene.grid.cell_of(table.X.to_numpy(float), table.Y.to_numpy(float))
    np.testing.assert_allclose(scene.truth[0][rows, cols], table.V.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(scene.covariates[0][rows, cols], table.U.to_numpy(), rtol=1e-6)
    assert scene.truth[0].mean() == pytest.approx(277.98, abs=0.01)


def test_olinda_masks_and_partial_information(built_root):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import train_test_split

    scene = Olinda.load(root=built_root)
    assert scene.grid.crs == "EPSG:31985"
    assert 0.8 < scene.valid.mean() < 0.9  # sea, saturation and the DEM's short edge removed
    assert not scene.valid[-1].any()  # the DEM stops short of the southern edge
    features = scene.covariates[:, scene.valid].T
    rng = np.random.default_rng(0)
    pick = rng.choice(features.shape[0], 5000, replace=False)
    for e in range(3):
        target = np.log10(scene.truth[e][scene.valid])[pick]
        xtr, xte, ytr, yte = train_test_split(features[pick], target, random_state=0)
        r2 = (
            RandomForestRegressor(n_estimators=60, random_state=0, n_jobs=2)
            .fit(xtr, ytr)
            .score(xte, yte)
        )
        assert 0.2 < r2 < 0.8, (scene.elements[e].symbol, r2)


def test_manifest_check_catches_a_changed_build(tmp_path, raw_server):
    Jura.load(root=tmp_path, download=True, mirror=raw_server, progress=False)
    samples = tmp_path / "jura" / "samples.parquet"
    samples.write_bytes(samples.read_bytes() + b"tampered")
    for checksum in (False, True):  # every load checks; checksum=True rehashes everything
        with pytest.raises(
            ValueError,
            match=r"built file .*samples\.parquet: .*geochem-bench download jura --force",
        ):
            Jura.load(root=tmp_path, checksum=checksum)


def test_built_folder_loads_with_hf_datasets_offline(built_root, hf_offline, tmp_path):
    datasets = hf_offline
    cache = str(tmp_path / "cache")  # a fresh cache: a reused temp path must not hit old rows
    for name, n in (("meuse", 155), ("jura", 359), ("walker-lake", 470), ("lapland-iocg", 1111)):
        table = datasets.load_dataset(
            str(built_root / name), "samples", split="train", cache_dir=cache
        )
        assert table.num_rows == n
    split = datasets.load_dataset(
        str(built_root / "jura"), "split_official", split="train", cache_dir=cache
    )
    assert sum(f == 0 for f in split["fold"]) == 100


def test_every_scene_evaluates_through_the_cli(built_root, tmp_path):
    out = tmp_path / "res"
    tasks = [
        "olinda/all/s16/grid",
        "walker-lake/v/s20/grid",
        "meuse/zn/s10/points",
        "jura/cd/s10/transfer",
    ]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "geochem_bench.cli.main",
            "evaluate",
            str(ROOT / "baselines" / "idw"),
            "--tasks",
            *tasks,
            "--root",
            str(built_root),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    records = sorted(out.rglob("fold-*.json"))
    assert len(records) == 3 + 1 + 5 + 1  # olinda: one fold per test realisation
    assert all(json.loads(p.read_text())["status"] == "ok" for p in records)


def test_read_scene_round_trip(built_root):
    a = read_scene(built_root / "meuse")
    b = Meuse.load(root=built_root)
    assert a.fingerprint() == b.fingerprint()


def test_lapland_quirks(built_root):
    scene = LaplandIOCG.load(root=built_root)
    assert scene.grid.crs == "EPSG:3067" and scene.grid.res == (50.0, 50.0)
    # one of the 1112 samples lies where the magnetic pyramid is nodata (northern edge)
    assert len(scene.points) == 1111 and len(scene.points.elements) == 22
    assert 27802 not in scene.points.ids
    missing = dict(zip(scene.points.elements, np.isnan(scene.points.values).sum(axis=0)))
    # bare zeros (Zr 16, Th 7, Cr 1, Ni 1) plus "<" zeros of unknown limit (Zr 166, Th 19, K 2,
    # Co 1): both not measured
    want = {"Zr": 16 + 166, "Th": 7 + 19, "Cr": 1, "Ni": 1, "K": 2, "Co": 1}
    assert {k: v for k, v in missing.items() if v} == want
    assert (scene.points.values[np.isfinite(scene.points.values)] > 0).all()
    aem = scene.covariates[scene.band_names.index("aem_inphase")]
    assert np.isnan(aem[~scene.valid]).all() and np.isfinite(aem[scene.valid]).all()
    lith = scene.covariates[[n.startswith("lith_") for n in scene.band_names]][:, scene.valid]
    assert len(lith) == 23
    assert set(np.unique(lith.sum(axis=0))) <= {0.0, 1.0}  # at most one rock association per cell
    assert 0.8 < scene.valid.mean() < 0.85
    # the valid mask is the target area (1 843 629 cells) where the magnetic and gamma-ray
    # pyramids have data too (2036 fewer), not grown by the sample cells
    assert int(scene.valid.sum()) == 1_841_593
    assert "; 1 samples off the valid mask (target area with magnetic and gamma-ray cover) " in (
        scene.description
    )
    ranges = {  # level-1 ranges of the pyramids (SOURCES.md), on the 50 m grid
        "mag_anomaly_nT": (-2954, 16061),
        "gamma_K_pct": (-1.59, 4.96),
        "gamma_eTh_ppm": (-5.61, 53.93),
        "gamma_eU_ppm": (-3.18, 14.97),
    }
    for band, (low, high) in ranges.items():
        values = scene.covariates[scene.band_names.index(band)][scene.valid]
        assert np.isfinite(values).all() and low <= values.min() < values.max() <= high, band
    transfer = list_tasks(["lapland-iocg/cr/s40/transfer"])[0]
    inputs, held_out = build_fold(scene, transfer, 0)
    test = np.isin(inputs.points.ids, held_out.sample_ids)
    assert np.isfinite(inputs.points.column("Cu")[test]).mean() > 0.99  # Cu known at held-out sites
    assert np.isnan(inputs.points.column("Ni")[test]).all()  # other elements are not


def test_lapland_below_detection_values_and_their_count_per_suite_task(built_root):
    """GTK's "<" rows hold 0 (limit unknown): not measured, counted; no task scores one."""
    scene = LaplandIOCG.load(root=built_root)
    points = scene.points
    assert points.limits is None  # no "<" row records its limit
    assert "; 188 below-detection values with an unknown limit not measured." in (scene.description)
    for task in LaplandIOCG.tasks:
        split = task_split(scene, task)
        for fold in task.folds:
            _, held_out = build_fold(scene, task, fold, split=split)
            for e, _symbol in enumerate(task.elements):
                assert held_out.n_censored(e) == 0, (task.id, fold)
            assert held_out.limits is None


def test_sir_samuel_radiometrics_grid_values_and_mask(built_root, raw_dir):
    import rasterio

    scene = SirSamuelRadiometrics.load(root=built_root)
    raw = raw_dir / "sir_samuel" / "uncover_ml"
    with rasterio.open(raw / "k_15v5.tif") as src:
        k, transform = src.read(1), src.transform
        assert src.shape == (241, 187) and src.crs.to_epsg() == 4326
    with rasterio.open(raw / "U_15v1.tif") as src:
        u = src.read(1)
    # the shared nodata frame (first column, last row) is cropped: 240 x 186, all valid
    assert scene.grid.shape == (240, 186) and scene.grid.crs == "EPSG:4326"
    assert scene.grid.res == (transform.a, -transform.e) and transform.a == pytest.approx(1 / 1200)
    assert scene.grid.transform.c == transform.c + transform.a
    assert scene.grid.transform.f == transform.f
    assert scene.valid.all() and int(scene.valid.sum()) == 44_640
    np.testing.assert_array_equal(scene.truth[0], k[:-1, 1:])
    np.testing.assert_array_equal(scene.truth[1], u[:-1, 1:])
    # K in %, eU in ppm, linear; the eU floor of 0.005 ppm kept; nothing <= 0 in these files
    assert [(e.symbol, e.unit, e.analysis_space) for e in scene.elements] == [
        ("K", "%", "linear"),
        ("U", "ppm", "linear"),
    ]
    k_valid, u_valid = scene.truth[0][scene.valid], scene.truth[1][scene.valid]
    assert 0.24 < k_valid.min() < 0.25 and 2.38 < k_valid.max() < 2.39
    assert u_valid.min() == np.float32(0.005) and 2.82 < u_valid.max() < 2.83
    assert int((u_valid == np.float32(0.005)).sum()) == 475
    assert "; 475 cells at the eU floor of 0.005 ppm; values <= 0 kept: K 0, U 0." in (
        scene.description
    )
    assert k_valid.mean() == pytest.approx(0.7638, abs=1e-4)
    assert u_valid.mean() == pytest.approx(0.9941, abs=1e-4)
    # covariates: no radiometric channel; one-hot erosional/depositional class
    assert scene.band_names == (
        "dem_focal_m", "tpi_300", "gravity_gg", "prescott_index", "er_depg_1", "er_depg_2"
    )  # fmt: skip
    dem = scene.covariates[0][scene.valid]
    assert 462 < dem.min() < dem.max() < 511  # metres (SOURCES.md: 463-511)
    one_hot = scene.covariates[4:, scene.valid]
    np.testing.assert_array_equal(one_hot.sum(axis=0), 1)
    assert one_hot[0].mean() == pytest.approx(0.1556, abs=1e-4)
    for task, shape in zip(SirSamuelRadiometrics.tasks, ((60, 47), (30, 24), (15, 12))):
        inputs, held_out = build_fold(scene, task, 0)
        assert inputs.lowres.shape == (2, *shape)
        assert np.isfinite(inputs.lowres).all()  # every block has data after the crop
        assert held_out.truth is not None and np.isfinite(held_out.truth[:, scene.valid]).all()


def test_lapland_pyramids_are_nearest_subsamples():
    """The evidence behind reading the pyramids as measured values (see lapland_radiometrics).

    Where base and pyramid both exist (the AEM), level 1 is base cell (2i, round(j*1361/681))
    everywhere; the gamma-ray and magnetic level 1 keep their bases' standard deviation (from
    the base statistics in their .aux.xml) within 0.1 %, which a 2 x 2 mean would not (-1.7 %
    on the AEM).
    """
    import re

    import rasterio

    from geochem_bench.data.arcgis import nearest_pyramid_source

    folder = RAW_DIR / "lapland_iocg"
    with rasterio.open(folder / "AEM" / "IOCG_AEM_1.tif") as src:
        base = src.read(1)
    with rasterio.open(folder / "AEM" / "IOCG_AEM_1.tif.ovr") as src:
        level = src.read(1)
    rows = nearest_pyramid_source(base.shape[0], level.shape[0])
    cols = nearest_pyramid_source(base.shape[1], level.shape[1])
    np.testing.assert_array_equal(base[np.ix_(rows, cols)], level)
    padded = np.pad(base.astype(np.float64), ((0, 0), (0, 1)), mode="edge")
    mean = padded.reshape(level.shape[0], 2, level.shape[1], 2).mean(axis=(1, 3))
    assert mean.std() / base.std() < 0.985
    for stem in (
        "Mag/IOCG_Mag_grysc_DGRF65_anom_",
        "Rad/IOCG_Gm_Rd_K_",
        "Rad/IOCG_Gm_Rd_Th_eq_",
        "Rad/IOCG_Gm_Rd_U_eq_",
    ):
        aux = (folder / f"{stem}.tif.aux.xml").read_text()
        base_std = float(re.search(r'STATISTICS_STDDEV">([-0-9.e]+)', aux).group(1))
        with rasterio.open(folder / f"{stem}.tif.ovr") as src:
            values = src.read(1, masked=True).astype(np.float64).compressed()
        assert abs(values.std() / base_std - 1) < 1e-3, stem


def test_lapland_radiometrics_quirks(built_root):
    import rasterio
    from rasterio import features
    from rasterio.warp import Resampling, reproject

    scene = LaplandRadiometrics.load(root=built_root)
    folder = RAW_DIR / "lapland_iocg"
    assert scene.grid.shape == (821, 681) and scene.grid.crs == "EPSG:3067"
    assert scene.grid.transform.almost_equals(
        rasterio.Affine(68050 / 681, 0, 345968.964579, 0, -100, 7540129.440822)
    )
    # the truth is level 1 of the pyramids as stored; the magnetics paired cell for cell
    for e, stem in enumerate(("K_", "Th_eq_", "U_eq_")):
        with rasterio.open(folder / "Rad" / f"IOCG_Gm_Rd_{stem}.tif.ovr") as src:
            level = src.read(1)
        np.testing.assert_array_equal(scene.truth[e][scene.valid], level[scene.valid])
        assert not (level[scene.valid] == -999999).any()
    with rasterio.open(folder / "Mag" / "IOCG_Mag_grysc_DGRF65_anom_.tif.ovr") as src:
        mag = src.read(1)
    band = scene.covariates[scene.band_names.index("mag_anomaly_nT")]
    np.testing.assert_array_equal(band[scene.valid], mag[scene.valid])
    assert "shifted (+0.060, -0.044) cells" in scene.description
    # the mask: every layer's data, the polygon at the cell centre (measured: 460 886 cells)
    assert int(scene.valid.sum()) == 460_886
    negative = (scene.truth[:, scene.valid] < 0).mean(axis=1)
    np.testing.assert_allclose(negative, [0.0503, 0.0441, 0.0585], atol=5e-4)
    assert (scene.truth[:, scene.valid] != 0).all()  # no exact zero among the measured values
    assert "(K 5.0%, Th 4.4%, U 5.9% of valid cells)" in scene.description
    # the AEM: GDAL's area-weighted average agrees away from the raster's edges
    with rasterio.open(folder / "AEM" / "IOCG_AEM_1.tif") as src:
        aem, transform = src.read(1).astype(np.float64), src.transform
    import pyogrio

    area = pyogrio.read_dataframe(folder / "shps" / "EIS_IOCG_target_area.shp")
    inside = features.rasterize(
        [(area.geometry.iloc[0], 1)], out_shape=aem.shape, transform=transform
    ).astype(bool)
    gdal = np.full(scene.grid.shape, np.nan)
    reproject(
        np.where(inside, aem, np.nan),
        gdal,
        src_transform=transform,
        src_crs="EPSG:3067",
        dst_transform=scene.grid.transform,
        dst_crs="EPSG:3067",
        src_nodata=np.nan,
        dst_nodata=np.nan,
        resampling=Resampling.average,
    )
    within = scene.valid.copy()
    within[0, :] = within[:, 0] = False
    band = scene.covariates[scene.band_names.index("aem_inphase")]
    np.testing.assert_allclose(band[within], gdal[within], rtol=1e-5, atol=1e-3)
    assert not any(name.startswith("gamma") for name in scene.band_names)
