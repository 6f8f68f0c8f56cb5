"""Jura: heavy metals in the topsoil of the Swiss Jura (Goovaerts 1997), official 259/100 split.

Raw data: ``jura.rda`` of R package gstat 1.0-19, read with the ``rdata`` package. Quirks:

* Coordinates are local, in km (no CRS): converted to metres on a 50 m grid that matches
  ``jura.grid`` (cell centres X 0.3-5.1 km, Y 0.1-5.9 km).
* Covariates are the two categorical maps of the data set, one-hot encoded: rock type
  (5 classes) and land use (4 classes), from ``jura.grid``.
* The valid mask is the cells of ``jura.grid`` alone, never grown by the sample cells: that
  would show the model where the held-out (validation) samples lie. gstat notes validation
  points 22 and 100 are off the intended grid, but on this 50 m grid every sample of the
  pinned file falls on a ``jura.grid`` cell; a sample that did not would have no covariates
  and is dropped (the description gives the count).
* Split: the 259 "prediction" samples train, the 100 "validation" samples are held out
  (Goovaerts 1997, App. C; Atteia et al. 1994).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from affine import Affine

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.samples import Samples
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.sources import Upstream
from geochem_bench.errors import InvalidInputError
from geochem_bench.scenes.base import RealScene
from geochem_bench.tasks.splits import SampleSplit

ROCKS = ("Argovian", "Kimmeridgian", "Sequanian", "Portlandian", "Quaternary")
LANDUSES = ("Forest", "Pasture", "Meadow", "Tillage")
ELEMENTS = ("Cd", "Co", "Cr", "Cu", "Ni", "Pb", "Zn")
_CELL = 50.0  # m
_X0, _Y1 = 300.0, 5900.0  # first and last grid-node coordinates (m)


_ATTEIA1994JURA = """@article{atteia1994jura,
  title = {Geostatistical analysis of soil contamination in the {Swiss Jura}},
  author = {Atteia, Olivier and Dubois, Jean-Pierre and Webster, Richard},
  journal = {Environmental Pollution},
  volume = {86},
  number = {3},
  pages = {315--327},
  year = {1994}
}"""

_WEBSTER1994JURA = """@article{webster1994jura,
  title = {Coregionalization of trace metals in the soil in the {Swiss Jura}},
  author = {Webster, Richard and Atteia, Olivier and Dubois, Jean-Pierre},
  journal = {European Journal of Soil Science},
  volume = {45},
  number = {2},
  pages = {205--218},
  year = {1994}
}"""

_UPSTREAM = Upstream(
    "https://raw.githubusercontent.com/cran/gstat/{commit}/data/{file}",
    "450a450643cea4c75fc74f60c7545bbd9b07e7a8",
    "jura",
)


class Jura(RealScene):
    """The Jura scene (official split; points and heterotopic transfer)."""

    name = "jura"
    version = "1"
    licence = "GPL>=2 (R package gstat)"
    citation = (
        "Goovaerts (1997), Geostatistics for Natural Resources Evaluation, OUP, App. C; "
        "Atteia et al. (1994); Webster et al. (1994); R package gstat (Pebesma 2004)"
    )
    citations = (
        "goovaerts1997geostatistics",
        _ATTEIA1994JURA,
        _WEBSTER1994JURA,
        "pebesma2004gstat",
    )
    summary = "Swiss Jura topsoil: Cd, Co, Cr, Cu, Ni, Pb, Zn; rock type and land use"
    size = "117x97 px @ 50 m (local), 9 bands, 259 + 100 samples"
    files = (
        _UPSTREAM.file(
            "jura.rda",
            "b047231523618d49129619b4698431ed29d721af45c54f603274dd042914cc58",
            11352,
        ),
    )
    tasks = (
        TaskSpec("jura", ("Cd",), 10, "points", n_spatial_folds=1, split="official"),
        TaskSpec("jura", ("Cu",), 10, "points", n_spatial_folds=1, split="official"),
        TaskSpec(
            "jura",
            ("Cd",),
            10,
            "transfer",
            n_spatial_folds=1,
            split="official",
            covariables=("Ni", "Zn"),
        ),
        TaskSpec(
            "jura",
            ("Cu",),
            10,
            "transfer",
            n_spatial_folds=1,
            split="official",
            covariables=("Ni", "Zn"),
        ),
    )

    @classmethod
    def build(cls, raw_dir: Path) -> Scene:
        """Rasterise the categorical maps, gather the samples, ship the official split."""
        import rdata

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rdata warns about R classes it maps loosely
            data = rdata.read_rda(raw_dir / "jura" / "jura.rda")
        pred, val, grid_nodes = data["jura.pred"], data["jura.val"], data["jura.grid"]
        width = round((5100.0 - _X0) / _CELL) + 1
        height = round((_Y1 - 100.0) / _CELL) + 1
        transform = Affine(_CELL, 0.0, _X0 - _CELL / 2, 0.0, -_CELL, _Y1 + _CELL / 2)
        grid = GridSpec(height, width, transform, None)

        covariates = np.full((len(ROCKS) + len(LANDUSES), height, width), np.nan, dtype=np.float32)
        valid = np.zeros((height, width), dtype=bool)

        gx = grid_nodes.Xloc.to_numpy() * 1000.0
        gy = grid_nodes.Yloc.to_numpy() * 1000.0
        rows, cols = grid.cell_of(gx, gy)
        rock = np.asarray(grid_nodes.Rock.astype(str))
        use = np.asarray(grid_nodes.Landuse.astype(str))
        for i, name in enumerate(ROCKS):
            covariates[i, rows, cols] = (rock == name).astype(np.float32)
        for i, name in enumerate(LANDUSES):
            covariates[len(ROCKS) + i, rows, cols] = (use == name).astype(np.float32)
        valid[rows, cols] = True
        both = [pred, val]
        x = np.concatenate([t.Xloc.to_numpy() * 1000.0 for t in both])
        y = np.concatenate([t.Yloc.to_numpy() * 1000.0 for t in both])
        rows, cols = grid.cell_of(x, y)
        if (rows < 0).any():
            raise InvalidInputError(
                "a Jura sample lies outside the 50 m grid; the raw file changed"
            )
        on_grid = valid[rows, cols]  # off it: no covariates, no prediction required
        values = np.concatenate([t[list(ELEMENTS)].to_numpy(dtype=np.float64) for t in both])
        if not (values > 0).all():
            raise InvalidInputError("Jura concentrations must be positive for log10 analysis")
        ids = np.arange(1, len(x) + 1, dtype=np.int64)  # 1-259 prediction, 260-359 validation
        validation = ids[len(pred) :]
        ids, x, y, values = ids[on_grid], x[on_grid], y[on_grid], values[on_grid]
        samples = Samples(ids=ids, x=x, y=y, values=values, elements=ELEMENTS)
        split = SampleSplit.fixed(
            ids, validation, "Goovaerts (1997) 259 prediction / 100 validation"
        )
        return Scene(
            name=cls.name,
            version=cls.version,
            grid=grid,
            covariates=covariates,
            band_names=tuple(f"rock_{r.lower()}" for r in ROCKS)
            + tuple(f"landuse_{u.lower()}" for u in LANDUSES),
            valid=valid,
            elements=tuple(Element(sym, "mg/kg", "log10") for sym in ELEMENTS),
            points=samples,
            licence=cls.licence,
            citation=cls.citation,
            description=cls.summary + f"; {int((~on_grid).sum())} samples off jura.grid dropped.",
            splits={"official": split},
        )
