"""What the two Lapland scenes share: the EIS IOCG test area's raw files and how to read them.

``lapland-iocg`` (till geochemistry, points) and ``lapland-radiometrics`` (airborne gamma-ray
spectrometry, grid) read the same GTK layers from the same eis_toolkit commit: one declaration
of each file (URL pinned to the commit, sha256 and size from ``SOURCES.json``) and one reader
of each layer, here. The quirks of each layer are in the two scene modules' docstrings; the
reading rules they share:

* **AEM in-phase** (``AEM/IOCG_AEM_1.tif``, 50 m, uint32): an ArcGIS ``CopyRaster`` of the
  float grid wrote negative in-phase values *and* the outside-polygon nodata as 0, with no
  nodata tag. Outside the target-area polygon it is nodata; inside, 0 means "<= 0" and is kept.
* **Magnetic anomaly and gamma-ray grids** exist upstream only as ArcGIS pyramids
  (``*.tif.ovr``; the 50 m base GeoTIFFs are missing). Level 1 (~100 m) is read and
  georeferenced from the base extent in the ``.tif.xml`` ESRI metadata
  (:mod:`geochem_bench.data.arcgis`); nodata is -1e32 (Mag) and -999999 (Rad).
* **Lithology** one-hot from the 1:1M lithological associations (``ROCK_NAME`` codes in sorted
  order), rasterised at cell centres; cells no polygon covers are all zeros.
* **Distance to faults** (m) from the 1:1M structures, rasterised with ``all_touched``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.grid import GridSpec
from geochem_bench.data.arcgis import BaseRaster, read_base_raster, read_pyramid_level
from geochem_bench.data.sources import RawFile, Upstream

#: Every layer is in ETRS-TM35FIN; the AEM's WKT names EPSG 3067 but rasterio matches it to
#: 25835 (same parameters), and the pyramids carry no CRS of their own.
CRS = "EPSG:3067"
#: The raw data folder of both scenes.
FOLDER = "lapland_iocg"

_PRIMARY = Upstream(
    "https://raw.githubusercontent.com/GispoCoding/eis_toolkit/{commit}/tests/data/Primary_data/{file}",
    "8210a1cb5bafae894900d8d1dbffeceff9bc6e10",
    FOLDER,
)
_REMOTE = Upstream(
    "https://raw.githubusercontent.com/GispoCoding/eis_toolkit/{commit}/tests/data/remote/{file}",
    "a445a513851683dca21a99c06e797961add50176",
    FOLDER,
)

AEM_FILE = _PRIMARY.file(
    "AEM/IOCG_AEM_1.tif",
    "cfb3b9b93f7039eb6ff2a2bd6a54b3b76ede12cc7cfe3cff2af6e80ae92a1d6d",
    2113588,
)
TILL_FILE = _REMOTE.file(
    "IOCG_CLB_Till_Geochem_reg_511p.gpkg",
    "dc3cfdf98412149e2a35c8ac832b177da145573e85ded575f4d0f048497b756c",
    520192,
)

#: The vector layers (stem: the sha256 and size of its .shp, .shx, .dbf, .prj, .cpg).
_SHAPES = {
    "IOCG_CLB_Lith_Asstn_1M": (
        ("03a03ed1d69e27d08030aace45660e0921f894bdeca24446c5fe4a729283dbec", 95256),
        ("1f30b305ad8a76e7a5a1f2213354d7208d0c4f47105ef3af46be71b1cfa12b28", 748),
        ("c113efeee60387743048e309dad0c1d5590848a11ae4685befef21e19374235e", 185327),
    ),
    "IOCG_CLB_Structures_1M": (
        ("3cfbc5dbb50476b5c6b71fae1329c1b9650b2cbe2ace416bb2fd460140d5bf34", 22540),
        ("dea326c19a9fe758ad35009cfed49a49f3eac9d80bab21972ccad590410f5fb6", 780),
        ("8af4d064fc20d2b06eee3bfd1c87434ed2262ef040947294e8c3a355774ad5b2", 17258),
    ),
    "EIS_IOCG_target_area": (
        ("3dc7de5f614ad80aae19eeaa11d34152e12254d3080aeaabb9f684e09dfae3fb", 16028),
        ("93f33edf2be54622fc2ba00ca3908afbdf8283d6f6bee3d846689505ad954d10", 108),
        ("8d36fa647df56f050c14b8ebcd3f4778953972fccb7d675e5723da8b38b9ccce", 714),
    ),
}
_PRJ = ("fe66dc36faee8166e1e3451ce47936b4437c7ae7e5acf2e05a8ef5bd52dd904d", 399)
_CPG = ("3ad3031f5503a4404af825262ee8232cc04d4ea6683d42c5dd0a2f2a27ac9824", 5)

#: The shapefiles (lithology, structures, target area), each with its sidecars.
SHAPE_FILES: tuple[RawFile, ...] = tuple(
    _PRIMARY.file(f"shps/{stem}{ext}", *pin)
    for stem, (shp, shx, dbf) in _SHAPES.items()
    for ext, pin in ((".shp", shp), (".shx", shx), (".dbf", dbf), (".prj", _PRJ), (".cpg", _CPG))
)


@dataclass(frozen=True)
class PyramidLayer:
    """A GTK grid that upstream has only as an ArcGIS pyramid (``.ovr`` + ``.tif.xml``).

    Attributes:
        band: its name among a scene's covariates.
        stem: its path in the raw folder without ``.tif.ovr`` / ``.tif.xml``.
        unit: unit of the values.
        ovr: the pyramid sidecar.
        xml: the ESRI metadata that holds the base raster's extent and dimensions.
    """

    band: str
    stem: str
    unit: str
    ovr: RawFile
    xml: RawFile

    @property
    def files(self) -> tuple[RawFile, RawFile]:
        """The two raw files read."""
        return (self.ovr, self.xml)


def _pyramid(
    band: str, stem: str, unit: str, ovr: tuple[str, int], xml: tuple[str, int]
) -> PyramidLayer:
    return PyramidLayer(
        band,
        stem,
        unit,
        _PRIMARY.file(f"{stem}.tif.ovr", *ovr),
        _PRIMARY.file(f"{stem}.tif.xml", *xml),
    )


MAG = _pyramid(
    "mag_anomaly_nT",
    "Mag/IOCG_Mag_grysc_DGRF65_anom_",
    "nT",
    ("a00932e0735fb1f35eb854c2f791034731cb1908d82aec211d32015e0c80b18e", 2239401),
    ("b7d2239bf80b506b16ad0f06cd64f8c23d5dc6a4c20675310146abede1fdf450", 6221),
)
GAMMA_K = _pyramid(
    "gamma_K_pct",
    "Rad/IOCG_Gm_Rd_K_",
    "%",
    ("d30a10b405a0e1347e467427d407818c24c45626b26a718668edd285f3c6e7ad", 2200146),
    ("1e12718ba2b5fe758487e565fbe170bf68d3497349ccd1474785af29b562c795", 5691),
)
GAMMA_TH = _pyramid(
    "gamma_eTh_ppm",
    "Rad/IOCG_Gm_Rd_Th_eq_",
    "ppm",
    ("1e5cac8efd1b22db0a71d64b5001cc5d023a7c0c5910f13ed11bfa7b727983a6", 2200040),
    ("adfcdd801921e5d5e51b3f40aef116acb754f294f22af95341d0cd6234fac96e", 5704),
)
GAMMA_U = _pyramid(
    "gamma_eU_ppm",
    "Rad/IOCG_Gm_Rd_U_eq_",
    "ppm",
    ("fb9899fb5c72dedff87572e085b178fd81960bfb97c001999c0fc9fed1f7875e", 2192937),
    ("f8355035e9ed943c8e27044c82bd20c461dde3b8a55efd8fc5c067dbd263cc9a", 5701),
)
#: The three gamma-ray channels, in scene order. The total count is never read: it is a sum
#: of these three (plus background), so it would hand a model the target.
GAMMA = (GAMMA_K, GAMMA_TH, GAMMA_U)


def read_aem(raw: Path) -> tuple[NDArray[np.float32], GridSpec]:
    """The 50 m AEM in-phase grid as stored (0 for nodata and for "<= 0") and its grid."""
    import rasterio

    with rasterio.open(raw / AEM_FILE.path.removeprefix(f"{FOLDER}/")) as src:
        aem = src.read(1).astype(np.float32)
        transform = src.transform
    return aem, GridSpec(aem.shape[0], aem.shape[1], transform, CRS)


def target_area(raw: Path, grid: GridSpec) -> NDArray[np.bool_]:
    """Cells of ``grid`` whose centre lies in the target-area polygon.

    The polygon's attributes, left over from the parent Lapland region, are ignored.
    """
    import pyogrio
    from rasterio import features

    area = pyogrio.read_dataframe(raw / "shps" / "EIS_IOCG_target_area.shp")
    return features.rasterize(
        ((g, 1) for g in area.geometry),
        out_shape=grid.shape,
        transform=grid.transform,
        dtype="uint8",
    ).astype(bool)


def lithology(raw: Path, grid: GridSpec) -> tuple[NDArray[np.float32], tuple[int, ...], str]:
    """One-hot lithological associations on ``grid``: bands, their codes and a legend.

    Returns:
        float32 (K, H, W) 0/1 bands in the order of the sorted ``ROCK_NAME`` codes (all zeros
        where no association covers a cell), the codes, and ``"lith_<code> = <label>; ..."``.
    """
    import pyogrio
    from rasterio import features

    lith = pyogrio.read_dataframe(raw / "shps" / "IOCG_CLB_Lith_Asstn_1M.shp")
    codes = tuple(sorted(int(c) for c in lith["ROCK_NAME"].unique()))
    index = features.rasterize(
        ((g, codes.index(int(c)) + 1) for g, c in zip(lith.geometry, lith["ROCK_NAME"])),
        out_shape=grid.shape,
        transform=grid.transform,
        dtype="int32",
    )
    bands = np.stack([(index == k + 1).astype(np.float32) for k in range(len(codes))])
    labels = dict(zip(lith["ROCK_NAME"].astype(int), lith["ROCK_NAME_"]))
    legend = "; ".join(f"lith_{c} = {labels[c]}" for c in codes)
    return bands, codes, legend


def fault_distance(raw: Path, grid: GridSpec) -> NDArray[np.float32]:
    """Distance (m) from each cell of ``grid`` to the nearest cell a fault line touches."""
    import pyogrio
    from rasterio import features
    from scipy import ndimage

    faults = pyogrio.read_dataframe(raw / "shps" / "IOCG_CLB_Structures_1M.shp")
    on_fault = features.rasterize(
        ((g, 1) for g in faults.geometry),
        out_shape=grid.shape,
        transform=grid.transform,
        dtype="uint8",
        all_touched=True,
    ).astype(bool)
    # sampling per axis: the pyramid grids' cells are not square (99.93 m x 100 m)
    distance = ndimage.distance_transform_edt(~on_fault, sampling=(grid.res[1], grid.res[0]))
    return np.asarray(distance, dtype=np.float32)


def read_pyramid(raw: Path, layer: PyramidLayer) -> tuple[NDArray[np.float64], GridSpec]:
    """Level 1 of a pyramid layer (nodata as NaN) and its grid, from the ``.tif.xml`` extent."""
    base: BaseRaster = read_base_raster(raw / f"{layer.stem}.tif.xml")
    values = read_pyramid_level(raw / f"{layer.stem}.tif.ovr", base, level=1)
    return values, base.level_grid(1, CRS)
