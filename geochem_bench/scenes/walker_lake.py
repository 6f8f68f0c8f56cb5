"""Walker Lake (Isaaks & Srivastava 1989): exhaustive V and U fields on a 260 x 300 grid.

Raw data: ``walker.rda`` of R package gstat 1.0-19 (sp objects), read with ``rdata``.
``walker.exh`` is a SpatialGridDataFrame whose cells are stored row by row from the top-left
cell (x fastest, y decreasing); the grid is rebuilt from its GridTopology. Units are ppm, cells
are 1 m, coordinates are local (no CRS). V is the target, U the covariate; both hold zeros,
so V is scored in linear space. The 470 samples of ``walker`` ship as the scene's survey (V
only); 9 of their V values disagree with the exhaustive cell they sit on, an inconsistency
between the two upstream objects that is kept as is.
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

_ISAAKS1989GEOSTATISTICS = """@book{isaaks1989geostatistics,
  title = {An Introduction to Applied Geostatistics},
  author = {Isaaks, Edward H. and Srivastava, R. Mohan},
  publisher = {Oxford University Press},
  address = {New York},
  year = {1989}
}"""

_PEBESMA2004GSTAT = """@article{pebesma2004gstat,
  title = {Multivariable geostatistics in {S}: the gstat package},
  author = {Pebesma, Edzer J.},
  journal = {Computers \\& Geosciences},
  volume = {30},
  number = {7},
  pages = {683--691},
  year = {2004}
}"""

_UPSTREAM = Upstream(
    "https://raw.githubusercontent.com/cran/gstat/{commit}/data/{file}",
    "450a450643cea4c75fc74f60c7545bbd9b07e7a8",
    "walker_lake",
)


class WalkerLake(RealScene):
    """The Walker Lake scene (grid protocol against the exhaustive V field)."""

    name = "walker-lake"
    version = "1"
    licence = "GPL>=2 (R package gstat)"
    citation = (
        "Isaaks & Srivastava (1989), An Introduction to Applied Geostatistics, OUP; R package gstat"
    )
    citations = (_ISAAKS1989GEOSTATISTICS, _PEBESMA2004GSTAT)
    summary = "Walker Lake exhaustive data set: V (target) guided by U (covariate)"
    size = "300x260 px @ 1 m (local), 1 band, exhaustive + 470 samples"
    files = (
        _UPSTREAM.file(
            "walker.rda",
            "80346b74649510076bfaf23feb2559fa1769b7d1820e90c19f1eccf0d27bd8f7",
            392184,
        ),
    )
    # version 2: V (linear, with zeros) scores coherence against the mean level, not per cell
    tasks = tuple(TaskSpec("walker-lake", ("V",), s, "grid", version="2") for s in (5, 10, 20))

    @classmethod
    def build(cls, raw_dir: Path) -> Scene:
        """Rebuild the exhaustive grid from the sp GridTopology."""
        import rdata

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = rdata.read_rda(raw_dir / "walker_lake" / "walker.rda")
        exh = data["walker.exh"]
        topo = exh.grid
        offset = np.asarray(getattr(topo, "cellcentre.offset"), dtype=float)
        cell = np.asarray(topo.cellsize, dtype=float)
        nx, ny = (int(v) for v in np.asarray(getattr(topo, "cells.dim")))
        table = exh.data.reset_index(drop=True)
        if len(table) != nx * ny:
            raise InvalidInputError(f"walker.exh has {len(table)} cells, expected {nx}x{ny}")
        v = table["V"].to_numpy(dtype=np.float32).reshape(ny, nx)  # row 0 = top
        u = table["U"].to_numpy(dtype=np.float32).reshape(ny, nx)
        top = offset[1] + (ny - 1) * cell[1] + cell[1] / 2
        left = offset[0] - cell[0] / 2
        grid = GridSpec(ny, nx, Affine(cell[0], 0.0, left, 0.0, -cell[1], top), None)
        valid = np.isfinite(v) & np.isfinite(u)
        survey = data["walker"]  # the 470 samples (preferentially clustered in high-V areas)
        coords = np.asarray(survey.coords, dtype=np.float64)
        samples = Samples(
            ids=survey.data["Id"].to_numpy().astype(np.int64),
            x=coords[:, 0],
            y=coords[:, 1],
            values=survey.data[["V"]].to_numpy(dtype=np.float64),
            elements=("V",),
        )
        return Scene(
            name=cls.name,
            version=cls.version,
            grid=grid,
            covariates=u[None],
            band_names=("U",),
            valid=valid,
            elements=(Element("V", "ppm", "linear"),),
            truth=v[None],
            points=samples,
            licence=cls.licence,
            citation=cls.citation,
            description=cls.summary + "; values in ppm, 1 m cells, local coordinates.",
        )
