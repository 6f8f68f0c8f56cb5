"""Every real scene on seeded fake raw data: hermetic, no download, no /work/shared.

The fakes (``tests/data/<scene>/data.py``, TorchGeo's pattern) are tiny raw files in the
formats, layouts and quirks of the real ones. They are served on 127.0.0.1 like an upstream
mirror and built through ``RealScene.load`` with the scene's ``files`` declarations swapped for
the fakes' sha256 (``conftest.FakeData``). The same checks on the real files live in
``test_real_scenes.py`` (marked ``real_data``).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from geochem_bench.cli.main import main
from geochem_bench.data.sources import ChecksumError
from geochem_bench.data.store import read_scene
from geochem_bench.scenes import REAL_SCENES, SceneNotFoundError
from geochem_bench.scenes.registry import list_tasks, scenes
from geochem_bench.tasks.protocols import build_fold, task_split

from .conftest import (
    DATA,
    assert_every_fold_builds,
    generate_fakes,
    load_fake_module,
    raw_folder,
)

ROOT = Path(__file__).resolve().parents[1]
REAL = {cls.name: cls for cls in REAL_SCENES}
NAMES = sorted(REAL)


def _read_rda(path: Path) -> dict:
    import rdata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rdata.read_rda(path)


# --- every scene has fakes ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(scenes()))
def test_every_downloaded_scene_has_a_fake_data_generator(name):
    entry = scenes()[name]
    if name == "synthetic":
        assert entry.needs_download is False  # generated on the fly: exempt
    if entry.needs_download:
        assert (DATA / name / "data.py").is_file(), (
            f"scene {name!r} downloads raw files but has no fake-data generator "
            f"tests/data/{name}/data.py (a generate(folder, seed=0) writing tiny raw files in "
            "the real formats and layout, with their quirks; see the other scenes')"
        )


def test_fake_data_folders_are_named_after_registered_scenes():
    folders = {p.parent.name for p in DATA.glob("*/data.py")}
    assert folders <= set(scenes()), sorted(folders - set(scenes()))
    assert folders == set(REAL)


@pytest.mark.parametrize("name", NAMES)
def test_fakes_are_the_declared_files_tiny_and_seeded(name, fake_data, tmp_path):
    """Exactly the declared files, small, and the same scene again from the same seed."""
    cls = REAL[name]
    files = fake_data.files(name)  # asserts the generator wrote exactly the declared files
    assert [f.path for f in files] == [f.path for f in cls.files]
    assert [f.url for f in files] == [f.url for f in cls.files]
    big = [(f, real) for f, real in zip(files, cls.files) if (real.size or 0) > 1000]
    assert big and all(f.sha256 != real.sha256 for f, real in big)  # not copies of the real data
    total = sum(f.size for f in files)
    assert total < 400_000, f"{name} fakes take {total} bytes; keep them tiny"
    built = fake_data.build(name)
    for seed, same in ((0, True), (1, False)):
        generate_fakes(cls, tmp_path / f"seed{seed}", seed=seed)
        again = cls.build_realisation(tmp_path / f"seed{seed}")
        assert (again.fingerprint() == built.fingerprint()) is same, (name, seed)


# --- every scene builds, and every task builds its folds -----------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_fake_scene_builds_and_every_task_builds_its_folds(name, fake_data):
    cls = REAL[name]
    scene = fake_data.build(name)
    assert scene.name == name and scene.version == cls.version
    assert scene.covariates.shape[0] == len(scene.band_names)
    assert scene.valid.any() and np.isfinite(scene.covariates[:, scene.valid]).all()
    assert np.isnan(scene.covariates[:, ~scene.valid]).all()
    if scene.truth is not None:
        assert np.isfinite(scene.truth[:, scene.valid]).all()
    assert cls.tasks
    assert_every_fold_builds(lambda r: fake_data.build(name, realisation=r), cls.tasks)


@pytest.mark.parametrize("name", NAMES)
def test_fake_build_is_byte_identical_and_round_trips(name, fake_data, tmp_path):
    cls = REAL[name]
    first = json.loads((cls.scene_dir(fake_data.root) / "manifest.json").read_text())
    fake_data.build(name)
    fake_data.build(name, root=tmp_path)
    second = json.loads((cls.scene_dir(tmp_path) / "manifest.json").read_text())
    assert first == second and len(first) >= 4
    assert (tmp_path / "raw" / raw_folder(cls)).is_dir()  # downloaded from the server
    built = read_scene(cls.scene_dir(tmp_path))
    assert built.fingerprint() == cls.load(root=tmp_path).fingerprint()


@pytest.mark.parametrize("name", NAMES)
def test_every_load_catches_a_changed_build(name, fake_data, tmp_path, monkeypatch):
    """An edited built file is an error on the next load, by default and with checksum."""
    cls = REAL[name]
    fake_data.build(name, root=tmp_path)
    monkeypatch.setattr(cls, "files", fake_data.files(name))  # the fakes' sha256 pins
    cls.load(root=tmp_path, checksum=True)  # intact: passes
    manifest = json.loads((cls.scene_dir(tmp_path) / "manifest.json").read_text())
    victim = cls.scene_dir(tmp_path) / sorted(manifest)[0]
    victim.write_bytes(victim.read_bytes() + b"tampered")
    expected = (
        rf"checksum mismatch for built file {victim}: expected sha256 "
        rf"{manifest[sorted(manifest)[0]]}, got [0-9a-f]{{64}}\. "
        rf"Run `geochem-bench download {name} --force`"
    )
    for checksum in (False, True):
        with pytest.raises(ChecksumError, match=expected):
            cls.load(root=tmp_path, checksum=checksum)


def test_edited_samples_are_not_scored(fake_data, tmp_path, monkeypatch, capsys):
    """The issue's case: every Cu of meuse's samples set to 50 scored RMSE 0; now refused."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fake_data.build("meuse", root=tmp_path)
    monkeypatch.setattr(REAL["meuse"], "files", fake_data.files("meuse"))
    samples = tmp_path / "meuse" / "samples.parquet"
    table = pq.read_table(samples)
    cu = table.column_names.index("Cu")
    pq.write_table(table.set_column(cu, "Cu", pa.array(np.full(table.num_rows, 50.0))), samples)
    out = tmp_path / "res"
    argv = ["evaluate", "geochem_bench.models:NearestUpsampling", "--tasks", "meuse/cu/s10/points"]
    assert main([*argv, "--root", str(tmp_path), "--out", str(out), "--isolation", "inline"]) == 2
    err = capsys.readouterr().err
    assert f"checksum mismatch for built file {samples}" in err
    assert "geochem-bench download meuse --force" in err
    assert not list(out.rglob("fold-*.json"))
    # the fix the message names restores the scene
    assert (
        main(["download", "meuse", "--root", str(tmp_path), "--mirror", fake_data.url, "--force"])
        == 0
    )
    assert REAL["meuse"].load(root=tmp_path).points.column("Cu").std() > 0


@pytest.mark.parametrize("name", NAMES)
def test_corrupt_raw_file_is_not_rebuilt(name, fake_data, tmp_path, monkeypatch, capsys):
    """A raw file corrupted after download is caught before a rebuild and by --checksum."""
    cls = REAL[name]
    fake_data.build(name, root=tmp_path)
    monkeypatch.setattr(cls, "files", fake_data.files(name))
    victim = tmp_path / "raw" / cls.files[0].path
    data = victim.read_bytes()
    victim.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    message = f"checksum mismatch for {victim}: expected sha256 {cls.files[0].sha256}, got "
    argv = ["download", name, "--root", str(tmp_path), "--mirror", fake_data.url]
    assert main([*argv, "--checksum"]) == 2  # the build is intact; the raw file is not
    err = capsys.readouterr().err
    assert message in err and f"Run `geochem-bench download {name} --force`" in err
    shutil.rmtree(tmp_path / name)
    assert main(argv) == 2  # no silent rebuild from the corrupt file
    assert message in capsys.readouterr().err
    assert not (tmp_path / name).exists()
    assert main([*argv, "--force"]) == 0
    assert "sha256 verified: every built file, " in (
        main([*argv, "--checksum"]) == 0 and capsys.readouterr().out
    )


def test_split_files_not_in_the_manifest_are_never_read(fake_data, tmp_path, monkeypatch):
    fake_data.build("meuse", root=tmp_path)
    monkeypatch.setattr(REAL["meuse"], "files", fake_data.files("meuse"))
    first = sorted((tmp_path / "meuse" / "splits").glob("*.parquet"))[0]
    shutil.copyfile(first, first.with_name("planted.parquet"))
    assert "planted" not in REAL["meuse"].load(root=tmp_path).splits


@pytest.mark.parametrize("name", NAMES)
def test_missing_scene_says_how_to_get_it(name, tmp_path):
    with pytest.raises(SceneNotFoundError, match=f"geochem-bench download {name}"):
        REAL[name].load(root=tmp_path)


@pytest.mark.parametrize("name", NAMES)
def test_fake_scene_evaluates_through_the_cli(name, fake_data, tmp_path):
    fake_data.build(name)
    tasks = REAL[name].tasks
    picked = [next(t for t in tasks if t.protocol == p) for p in ("grid", "points", "transfer")
              if any(t.protocol == p for t in tasks)]  # fmt: skip
    out = tmp_path / "res"
    argv = ["evaluate", str(ROOT / "baselines" / "idw"), "--tasks", *(t.id for t in picked)]
    argv += ["--root", str(fake_data.root), "--out", str(out), "--isolation", "inline"]
    assert main(argv) == 0
    records = sorted(out.rglob("fold-*.json"))
    assert len(records) == sum(t.n_folds for t in picked)
    for path in records:
        record = json.loads(path.read_text())
        assert record["status"] == "ok", (path, record.get("error"))


@pytest.mark.parametrize("name", NAMES)
def test_built_folder_loads_with_hf_datasets_offline(name, fake_data, hf_offline, tmp_path):
    import pyarrow.parquet as pq
    import yaml

    datasets = hf_offline
    scene = fake_data.build(name)
    folder = REAL[name].scene_dir(fake_data.root)
    card = (folder / "README.md").read_text()
    assert card.startswith("---\n"), f"{name}: the build ships no Hugging Face card"
    configs = yaml.safe_load(card.split("---\n")[1]).get("configs", [])
    tables = {p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet")}
    assert {c["data_files"] for c in configs} == tables  # every shipped table is a config
    assert ("samples.parquet" in tables) == (scene.points is not None)
    cache = str(tmp_path / "cache")
    for config in configs:
        table = datasets.load_dataset(
            str(folder), config["config_name"], split="train", cache_dir=cache
        )
        assert table.num_rows == pq.read_metadata(folder / config["data_files"]).num_rows
        if config["config_name"] == "samples":
            assert table.num_rows == len(scene.points)
            np.testing.assert_array_equal(table["id"], scene.points.ids)
        else:  # split_<name>: the folds of the scene's split of that name
            split = scene.splits[config["config_name"].removeprefix("split_")]
            np.testing.assert_array_equal(table["fold"], split.folds)


# --- the quirks of each scene, reproduced by its fakes -------------------------------------


def test_meuse_quirks(fake_data):
    import pyogrio
    import rasterio

    scene = fake_data.build("meuse")
    raw = fake_data.mirror / "meuse"
    with rasterio.open(raw / "dem.tif") as src:
        assert src.crs is None  # no CRS tag: the scene assigns RD New
        dem = src.read(1)
    assert scene.grid.crs == "EPSG:28992" and scene.grid.res == (40.0, 40.0)
    table = pyogrio.read_dataframe(raw / "meuse.shp")
    rows, cols = scene.grid.cell_of(table.geometry.x.to_numpy(), table.geometry.y.to_numpy())
    mask = dem != -99999
    np.testing.assert_array_equal(scene.valid, mask)  # the DEM's, not grown by the samples
    on_mask = mask[rows, cols]
    assert (~on_mask).sum() == 1  # the fake's sample off the study area is dropped
    np.testing.assert_array_equal(scene.points.ids, np.flatnonzero(on_mask) + 1)
    assert "; 1 samples off the study area dropped." in scene.description
    elevation = scene.covariates[scene.band_names.index("elevation_m")]
    np.testing.assert_allclose(elevation[mask], dem[mask] * 0.01, rtol=1e-6)  # cm -> m
    with rasterio.open(raw / "twi.tif") as src:
        assert (src.read(1)[mask] == -99999).any()  # the fake has holes inside the mask ...
    assert np.isfinite(scene.covariates[:, scene.valid]).all()  # ... filled by the build
    with rasterio.open(raw / "landimg2.tif") as src:
        assert (src.read(1) != -1).all()  # image bands cover the full rectangle ...
    assert np.isnan(scene.covariates[:, ~scene.valid]).all()  # ... and are cut to the mask
    for column, symbol in (("cadmium", "Cd"), ("zinc", "Zn")):
        np.testing.assert_array_equal(
            scene.points.column(symbol), table[column].to_numpy()[on_mask]
        )


def test_olinda_masks(fake_data):
    import rasterio

    scene = fake_data.build("olinda")
    with rasterio.open(fake_data.mirror / "olinda" / "L7_ETMs.tif") as src:
        dn = src.read()
        assert src.nodata is None
    with rasterio.open(fake_data.mirror / "olinda" / "olinda_dem_utm25s.tif") as src:
        assert src.crs.to_epsg() != 31985  # the custom, EPSG-less WKT
    assert scene.grid.crs == "EPSG:31985"
    assert not scene.valid[-1].any()  # the DEM stops short of the southern edge
    assert not scene.valid[(dn == 255).any(axis=0)].any()  # saturation
    assert not scene.valid[dn[3] < 25].any()  # the sea
    assert 0.5 < scene.valid.mean() < 0.95
    assert (
        np.isfinite(scene.truth[:, scene.valid]).all() and (scene.truth[:, scene.valid] > 0).all()
    )


def test_jura_official_split_units_and_off_grid_samples(fake_data):
    fake = load_fake_module("jura")
    scene = fake_data.build("jura")
    data = _read_rda(fake_data.mirror / "jura" / "jura.rda")
    pred, val, nodes = data["jura.pred"], data["jura.val"], data["jura.grid"]
    assert (len(pred), len(val)) == (fake.N_PRED, fake.N_VAL)
    # the validation samples off jura.grid are dropped: kept, the rest, numbered from 1
    off = np.array([len(pred) + i - 1 for i in fake.OFF_GRID])
    kept = np.setdiff1d(np.arange(len(pred) + len(val)), off)
    np.testing.assert_array_equal(scene.points.ids, kept + 1)
    assert f"; {len(off)} samples off jura.grid dropped." in scene.description
    split = task_split(scene, list_tasks(["jura/cd/s10/points"])[0])
    assert split.method == "official"
    assert split.test_mask(0).sum() == len(val) - len(off)
    assert (split.folds == -1).sum() == len(pred)
    np.testing.assert_array_equal(split.test_mask(0), scene.points.ids > len(pred))
    # km -> m, prediction samples first
    np.testing.assert_allclose(scene.points.x, np.r_[pred.Xloc, val.Xloc][kept] * 1000.0)
    np.testing.assert_allclose(scene.points.y, np.r_[pred.Yloc, val.Yloc][kept] * 1000.0)
    np.testing.assert_array_equal(scene.points.column("Cd"), np.r_[pred.Cd, val.Cd][kept])
    assert scene.grid.res == (50.0, 50.0) and scene.grid.crs is None
    assert scene.grid.shape == (117, 97)  # the lattice of the real jura.grid, X 0.3-5.1 km
    one_hot = scene.covariates[:, scene.valid]
    np.testing.assert_array_equal(one_hot[:5].sum(axis=0), 1)  # one rock type per cell
    np.testing.assert_array_equal(one_hot[5:].sum(axis=0), 1)  # one land use per cell
    rows, cols = scene.grid.cell_of(nodes.Xloc.to_numpy() * 1000, nodes.Yloc.to_numpy() * 1000)
    on_grid = np.zeros_like(scene.valid)
    on_grid[rows, cols] = True
    np.testing.assert_array_equal(scene.valid, on_grid)  # jura.grid's cells, whatever the samples
    rock = scene.covariates[:5, rows, cols].argmax(axis=0)
    np.testing.assert_array_equal(rock, nodes.Rock.cat.codes.to_numpy())  # factor levels kept


def test_jura_transfer_keeps_ni_zn_at_validation_sites(fake_data):
    scene = fake_data.build("jura")
    task = list_tasks(["jura/cd/s10/transfer"])[0]
    inputs, held_out = build_fold(scene, task, 0)
    test = np.isin(inputs.points.ids, held_out.sample_ids)
    fake = load_fake_module("jura")
    assert test.sum() == fake.N_VAL - len(fake.OFF_GRID)  # those off jura.grid are dropped
    assert np.isfinite(inputs.points.column("Ni")[test]).all()
    assert np.isfinite(inputs.points.column("Zn")[test]).all()
    for hidden in ("Cd", "Co", "Cr", "Cu", "Pb"):
        assert np.isnan(inputs.points.column(hidden)[test]).all(), hidden


def test_walker_lake_rows_top_down_match_the_exhaustive_table(fake_data):
    fake = load_fake_module("walker-lake")
    scene = fake_data.build("walker-lake")
    table = fake.exhaustive()  # X, Y, V, U per cell, like the independent CSV export
    assert scene.grid.shape == (fake.NY, fake.NX) and scene.grid.res == (1.0, 1.0)
    assert scene.grid.crs is None
    rows, cols = scene.grid.cell_of(table.X.to_numpy(), table.Y.to_numpy())
    assert (rows >= 0).all()
    np.testing.assert_array_equal(scene.truth[0][rows, cols], table.V.to_numpy(np.float32))
    np.testing.assert_array_equal(scene.covariates[0][rows, cols], table.U.to_numpy(np.float32))
    assert (scene.truth[0] == 0).any() and scene.valid.all()  # zeros are values, not nodata
    # the survey: V only, ids as in the file; one sample disagrees with its cell, as upstream
    pts = scene.points
    assert pts.elements == ("V",)
    np.testing.assert_array_equal(np.sort(pts.ids), np.arange(1, fake.N_SAMPLES + 1))
    r, c = scene.grid.cell_of(pts.x, pts.y)
    agree = np.isclose(pts.column("V"), np.round(scene.truth[0][r, c], 1), atol=0.051)
    assert pts.ids[~agree].tolist() == [fake.INCONSISTENT_ID]


def test_lapland_quirks(fake_data):
    import pyogrio
    import rasterio
    import shapely
    from rasterio import features

    fake = load_fake_module("lapland-iocg")
    scene = fake_data.build("lapland-iocg")
    raw = fake_data.mirror / "lapland_iocg"
    with rasterio.open(raw / "AEM" / "IOCG_AEM_1.tif") as src:
        assert src.dtypes[0] == "uint32" and src.nodata is None
        assert src.crs.to_epsg() == 25835  # the TM35FIN WKT that rasterio reads as 25835
        aem_raw = src.read(1)
    assert scene.grid.crs == "EPSG:3067" and scene.grid.res == (50.0, 50.0)
    till = pyogrio.read_dataframe(raw / "IOCG_CLB_Till_Geochem_reg_511p.gpkg")
    rows, cols = scene.grid.cell_of(till.geometry.x.to_numpy(), till.geometry.y.to_numpy())
    on_area = scene.valid[rows, cols]
    assert (~on_area).any() and on_area.mean() > 0.8  # a few off the valid mask: dropped
    assert f"; {(~on_area).sum()} samples off the valid mask (target area with magnetic and " in (
        scene.description
    )
    assert len(scene.points.elements) == 22
    np.testing.assert_array_equal(scene.points.ids, till.OBJECTID.to_numpy()[on_area])
    kept = till[on_area].reset_index(drop=True)  # what the scene keeps, in its order
    missing = np.isnan(scene.points.values).sum(axis=0)
    censored = scene.points.censored.sum(axis=0)
    for el in scene.points.elements:
        e = scene.points.index(el)
        below, zeros = fake.CENSORED.get(el, (0, 0))
        reported = kept[next(c for c in kept.columns if c.startswith(f"{el}_ppm"))].to_numpy()
        flagged = (kept[f"{el}_511P_T"] == "<").to_numpy()
        recorded = flagged & (reported > 0)  # the limit in the value field: censored at it
        # unknown limits ("<" with 0) and bare zeros are not measured: no limit is inferred
        # from other samples, which would let held-out values set a training sample's limit
        assert missing[e] == ((reported <= 0) | np.isnan(reported)).sum(), el
        assert censored[e] == recorded.sum(), el
        all_flagged = (till[f"{el}_511P_T"] == "<").to_numpy()
        assert all_flagged.sum() == below + int(el in fake.LIMIT_RECORDED), el
        assert ((till[f"{el}_ppm_511P"[:10]] == 0) & ~all_flagged).sum() == zeros, el
        np.testing.assert_array_equal(scene.points.censored[:, e], recorded)
        for i in np.flatnonzero(recorded):
            assert scene.points.limits[i, e] == reported[i] == fake.LIMIT_RECORDED[el], el
            assert scene.points.values[i, e] == reported[i] / 2  # trained on at half the limit
    assert (till["Zr_511P_T"] == "!").any()  # the "!" flag is kept as a value, not censoring
    assert (scene.points.values[np.isfinite(scene.points.values)] > 0).all()
    aem = scene.covariates[scene.band_names.index("aem_inphase")]
    assert np.isnan(aem[~scene.valid]).all() and np.isfinite(aem[scene.valid]).all()
    assert (aem[scene.valid] == 0).any()  # negative in-phase written as 0: kept inside
    area = pyogrio.read_dataframe(raw / "shps" / "EIS_IOCG_target_area.shp")
    assert area.Area_km2.iloc[0] > 300_000  # the parent region's attributes, ignored
    points = shapely.points(till.geometry.x.to_numpy(), till.geometry.y.to_numpy())
    outside = ~shapely.contains(area.geometry.iloc[0], points)
    assert outside.any()
    inside = features.rasterize(
        [(area.geometry.iloc[0], 1)], out_shape=scene.grid.shape, transform=scene.grid.transform
    ).astype(bool)
    assert (aem_raw[~inside] == 0).all()  # outside-polygon nodata written as 0: dropped
    # the geophysics, rebuilt from the pyramid files and the fake's own extents: the level-1
    # cell under each 50 m centre (nearest), nodata where the pyramid is nodata
    covered = np.ones_like(inside)
    cell_row, cell_col = np.mgrid[0 : fake.HEIGHT, 0 : fake.WIDTH]
    x, y = fake.LEFT + (cell_col + 0.5) * fake.CELL, fake.TOP - (cell_row + 0.5) * fake.CELL
    bands = {
        "Mag/IOCG_Mag_grysc_DGRF65_anom_": "mag_anomaly_nT",
        "Rad/IOCG_Gm_Rd_K_": "gamma_K_pct",
        "Rad/IOCG_Gm_Rd_Th_eq_": "gamma_eTh_ppm",
        "Rad/IOCG_Gm_Rd_U_eq_": "gamma_eU_ppm",
    }
    for stem, (nodata, shift, _) in fake.PYRAMIDS.items():
        with rasterio.open(raw / f"{stem}.tif.ovr") as src:
            assert src.transform.is_identity  # no georeferencing of its own
            level = src.read(1)
        width = fake.WIDTH * fake.CELL / level.shape[1]
        height = fake.HEIGHT * fake.CELL / level.shape[0]
        col = np.floor((x - fake.LEFT - shift[0]) / width).astype(int)
        row = np.floor((fake.TOP + shift[1] - y) / height).astype(int)
        on = (row >= 0) & (row < level.shape[0]) & (col >= 0) & (col < level.shape[1])
        cell = level[row.clip(0, level.shape[0] - 1), col.clip(0, level.shape[1] - 1)]
        expected = np.where(on, cell, nodata)
        covered &= expected != nodata
        band = scene.covariates[scene.band_names.index(bands[stem])]
        np.testing.assert_array_equal(band[scene.valid], expected[scene.valid])
    # the polygon and the geophysics' own nodata, whatever the samples; the gamma-ray grids'
    # 6 m shift moves their nodata edge, so the mask is smaller than the polygon
    np.testing.assert_array_equal(scene.valid, inside & covered)
    assert (inside & ~covered).any()
    lith = scene.covariates[[n.startswith("lith_") for n in scene.band_names]][:, scene.valid]
    assert scene.band_names[2:-4] == tuple(f"lith_{c}" for c in sorted(fake.ROCKS))
    assert scene.band_names[-4:] == (
        "mag_anomaly_nT",
        "gamma_K_pct",
        "gamma_eTh_ppm",
        "gamma_eU_ppm",
    )
    assert not any("total" in n.lower() for n in scene.band_names)
    assert set(np.unique(lith.sum(axis=0))) == {0.0, 1.0}  # at most one association; gaps
    faults = scene.covariates[scene.band_names.index("fault_distance_m")][scene.valid]
    assert (faults == 0).any() and faults.max() > 1000
    transfer = list_tasks(["lapland-iocg/cr/s40/transfer"])[0]
    inputs, held_out = build_fold(scene, transfer, 0)
    test = np.isin(inputs.points.ids, held_out.sample_ids)
    assert np.isfinite(inputs.points.column("Cu")[test]).all()  # Cu known at held-out sites
    assert np.isnan(inputs.points.column("Ni")[test]).all()  # other elements are not


def test_lapland_radiometrics_quirks(fake_data):
    """Pyramids without georeferencing, placed from the .tif.xml; the truth read as measured."""
    import rasterio
    from rasterio import features
    from rasterio.warp import Resampling, reproject

    fake = load_fake_module("lapland-iocg")  # writes the shared files of both scenes
    cls = REAL["lapland-radiometrics"]
    scene = fake_data.build("lapland-radiometrics")
    raw = fake_data.mirror / "lapland_iocg"
    assert not any("Total_Count" in f.path or f.path.endswith(".gpkg") for f in cls.files)
    # the grid: the gamma-ray base extent of the .tif.xml in level-1 cells (not square: the
    # base width is odd), EPSG:3067 although the .ovr has no georeferencing of its own
    levels = {}
    for stem, (nodata, _, _) in fake.PYRAMIDS.items():
        with rasterio.open(raw / f"{stem}.tif.ovr") as src:
            assert src.transform.is_identity and src.nodata == pytest.approx(nodata)
            assert src.overviews(1) == [2, 4]
            levels[stem] = src.read(1)
    h, w = -(-fake.HEIGHT // 2), -(-fake.WIDTH // 2)
    west, north = fake.LEFT + fake.RAD_SHIFT[0], fake.TOP + fake.RAD_SHIFT[1]
    assert scene.grid.shape == (h, w) and scene.grid.crs == "EPSG:3067"
    assert scene.grid.transform.almost_equals(
        rasterio.Affine(fake.WIDTH * fake.CELL / w, 0, west, 0, -fake.HEIGHT * fake.CELL / h, north)
    )
    assert scene.grid.res[0] != scene.grid.res[1]
    # the truth is the gamma-ray level 1 as stored; nodata and the polygon are off the mask
    stems = ("Rad/IOCG_Gm_Rd_K_", "Rad/IOCG_Gm_Rd_Th_eq_", "Rad/IOCG_Gm_Rd_U_eq_")
    assert [e.symbol for e in scene.elements] == ["K", "Th", "U"]
    assert {e.analysis_space for e in scene.elements} == {"linear"}
    inside = features.rasterize(
        [(fake.target_area(), 1)], out_shape=scene.grid.shape, transform=scene.grid.transform
    ).astype(bool)
    data = inside.copy()
    for e, stem in enumerate(stems):
        np.testing.assert_array_equal(scene.truth[e][scene.valid], levels[stem][scene.valid])
        data &= levels[stem] != fake.RAD_NODATA
    assert np.isnan(scene.truth[:, ~scene.valid]).all()
    assert (scene.truth[:, scene.valid] < 0).any(axis=1).all()  # negatives kept as measured
    # the magnetics: paired cell for cell (a 6 m / 4 m shift is under half a cell)
    mag = levels["Mag/IOCG_Mag_grysc_DGRF65_anom_"]
    data &= mag != fake.MAG_NODATA
    band = scene.covariates[scene.band_names.index("mag_anomaly_nT")]
    np.testing.assert_array_equal(band[scene.valid], mag[scene.valid])
    np.testing.assert_array_equal(scene.valid, data)
    assert (inside & ~data).any()  # the layers' own nodata edges cut the polygon
    assert "shifted (+0.061, -0.044) cells" in scene.description
    # the AEM: 0 outside the polygon is nodata, the rest averaged over each cell's area;
    # GDAL's area-weighted average, an independent implementation, agrees
    with rasterio.open(raw / "AEM" / "IOCG_AEM_1.tif") as src:
        aem, aem_transform = src.read(1).astype(np.float64), src.transform
    aem_inside = features.rasterize(
        [(fake.target_area(), 1)], out_shape=aem.shape, transform=aem_transform
    ).astype(bool)
    assert (aem[aem_inside] == 0).any()  # negative in-phase written as 0, kept as a value
    gdal = np.full(scene.grid.shape, np.nan)
    reproject(
        np.where(aem_inside, aem, np.nan),
        gdal,
        src_transform=aem_transform,
        src_crs="EPSG:3067",
        dst_transform=scene.grid.transform,
        dst_crs="EPSG:3067",
        src_nodata=np.nan,
        dst_nodata=np.nan,
        resampling=Resampling.average,
    )
    band = scene.covariates[scene.band_names.index("aem_inphase")]
    # the first row and column stick out of the AEM raster by the 4 m / 6 m shift: there the
    # scene averages over the part with data, GDAL's edge handling differs slightly
    within = scene.valid.copy()
    within[0, :] = within[:, 0] = False
    np.testing.assert_allclose(band[within], gdal[within], rtol=1e-5, atol=1e-3)
    assert not any(n.startswith("gamma") or "total" in n.lower() for n in scene.band_names)


def test_lapland_radiometrics_refuses_a_magnetic_grid_shifted_by_a_cell(fake_data, tmp_path):
    from geochem_bench.errors import InvalidInputError

    cls = REAL["lapland-radiometrics"]
    generate_fakes(cls, tmp_path)
    xml = tmp_path / "lapland_iocg" / "Mag" / "IOCG_Mag_grysc_DGRF65_anom_.tif.xml"
    text = xml.read_text()
    for edge in ("westBL", "eastBL"):  # 60 m east: over half a cell, not a sub-cell shift
        value = float(text.split(f'<{edge} Sync="TRUE">')[1].split("<")[0])
        text = text.replace(f">{value:.6f}</{edge}>", f">{value + 60:.6f}</{edge}>")
    xml.write_text(text)
    with pytest.raises(InvalidInputError, match=r"shifted by \(0\.6\d\d, -0\.044\) cells"):
        cls.build(tmp_path)


def test_fake_data_fixture_restores_the_real_declarations(fake_data):
    fake_data.build("meuse")
    real = REAL["meuse"].files
    assert all(f.sha256 != g.sha256 for f, g in zip(real, fake_data.files("meuse")))


# --- sir-samuel-radiometrics ----------------------------------------------------------------


def _read_clip(folder: Path, name: str):
    import rasterio

    with rasterio.open(folder / name) as src:
        return src.read(1), src.nodata, src.profile


def test_sir_samuel_radiometrics_quirks(fake_data):
    fake = load_fake_module("sir-samuel-radiometrics")
    scene = fake_data.build("sir-samuel-radiometrics")
    raw = fake_data.mirror / "sir_samuel" / "uncover_ml"
    assert not (raw / "U_TH_15.tif").exists()  # eU/eTh would leak the target: never read
    assert all("U_TH" not in f.path for f in REAL["sir-samuel-radiometrics"].files)
    k, k_nodata, profile = _read_clip(raw, "k_15v5.tif")
    _, u_nodata, _ = _read_clip(raw, "U_15v1.tif")
    assert k_nodata != u_nodata and k_nodata > u_nodata  # two float32 steps apart
    assert _read_clip(raw, "Clim_Prescott_LindaGregory.tif")[1] == -9999
    assert _read_clip(raw, "er_depg.tif")[2]["dtype"] == "uint8"
    # the shared nodata frame (first column, last row) is cropped, one cell east
    assert scene.grid.shape == (fake.HEIGHT - 1, fake.WIDTH - 1)
    assert scene.grid.crs == "EPSG:4326" and scene.grid.res == (fake.CELL, fake.CELL)
    assert scene.grid.transform.c == profile["transform"].c + fake.CELL
    assert scene.grid.transform.f == profile["transform"].f
    # valid: every layer has data; the DEM's own hole is out, nothing else
    holes = {(r, c - 1) for r, c in fake.DEM_HOLES}
    assert {tuple(map(int, rc)) for rc in np.argwhere(~scene.valid)} == holes
    # the truth is the raw values, <= 0 and the floor kept (linear space)
    np.testing.assert_array_equal(scene.truth[0][scene.valid], k[:-1, 1:][scene.valid])
    u = scene.truth[scene.element_index("U")]
    for (r, c), value in fake.EU_NOT_POSITIVE.items():
        assert u[r, c - 1] == np.float32(value)
    floor = int((u[scene.valid] == np.float32(fake.EU_FLOOR)).sum())
    assert floor >= 16 and f"; {floor} cells at the eU floor of 0.005 ppm;" in scene.description
    assert "values <= 0 kept: K 0, U 3." in scene.description
    assert [e.analysis_space for e in scene.elements] == ["linear", "linear"]
    assert [(e.symbol, e.unit) for e in scene.elements] == [("K", "%"), ("U", "ppm")]
    assert scene.band_names == (
        "dem_focal_m", "tpi_300", "gravity_gg", "prescott_index", "er_depg_1", "er_depg_2"
    )  # fmt: skip
    one_hot = scene.covariates[4:, scene.valid]
    np.testing.assert_array_equal(one_hot.sum(axis=0), 1)  # one class per cell
    assert 0.05 < one_hot[0].mean() < 0.4
    # the values <= 0 are scored like any other: every metric of a fold is finite
    from geochem_bench.core.task import Prediction
    from geochem_bench.evaluation.reference import reference_prediction
    from geochem_bench.evaluation.scoring import score_fold

    task = list_tasks(["sir-samuel-radiometrics/all/s4/grid"])[0]
    inputs, held_out = build_fold(scene, task, 0)
    reference = reference_prediction(inputs)
    table = score_fold(inputs, held_out, Prediction(mean=reference), reference)
    assert table["U"]["n"] == scene.valid.sum() and np.isfinite(table["U"]["rmse"])


def _rewrite(path: Path, values=None, **changes) -> None:
    import rasterio

    with rasterio.open(path) as src:
        profile, data = src.profile, src.read(1)
    profile.update(changes)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write((data if values is None else values)[None])


@pytest.mark.parametrize(
    ("layer", "change", "message"),
    [
        ("tpi_300.tif", "shift", r"tpi_300\.tif is not on the grid of k_15v5\.tif"),
        ("gg_clip.tif", "crs", r"gg_clip\.tif has CRS EPSG:3857, expected EPSG:4326"),
        ("k_15v5.tif", "nodata", r"k_15v5\.tif: 113 cells hold -3\.40282306\d*e\+38, a nodata"),
        ("er_depg.tif", "code", r"er_depg\.tif holds codes \[3\] besides the declared \[1, 2\]"),
        ("dem_foc2.tif", "untagged", r"dem_foc2\.tif has no nodata tag"),
    ],
)
def test_sir_samuel_radiometrics_refuses_broken_layers(tmp_path, layer, change, message):
    """Each broken layer is named, with what is wrong and the fix."""
    from affine import Affine
    from rasterio.crs import CRS

    from geochem_bench.errors import InvalidInputError

    cls = REAL["sir-samuel-radiometrics"]
    generate_fakes(cls, tmp_path)
    path = tmp_path / "sir_samuel" / "uncover_ml" / layer
    values, _, profile = _read_clip(path.parent, layer)
    if change == "shift":  # half a cell east
        t = profile["transform"]
        _rewrite(path, transform=Affine(t.a, 0.0, t.c + t.a / 2, 0.0, t.e, t.f))
    elif change == "crs":
        _rewrite(path, crs=CRS.from_epsg(3857))
    elif change == "nodata":  # one tag for every float layer: K's holes would pass as data
        _rewrite(path, nodata=float(np.finfo(np.float32).min))
    elif change == "code":
        values[10, 10] = 3
        _rewrite(path, values)
    else:
        _rewrite(path, nodata=None)
    with pytest.raises(InvalidInputError, match=message) as info:
        cls.build(tmp_path)
    assert "geochem-bench download sir-samuel-radiometrics --force" in str(info.value)
