"""Lapland IOCG: GTK regional till geochemistry over the Kolari-Pajala IOCG belt (Finland).

Raw data: the EIS project's test area in eis_toolkit (GTK open data, CC BY 4.0): 1112 basal
till samples (method 511P, aqua regia, ICP-AES) with 22 elements, the 50 m airborne EM
in-phase grid, the ~100 m magnetic anomaly and gamma-ray K, eTh, eU grids, the 1:1M bedrock
lithology and fault structures, and the target-area polygon. The files and the readers are
shared with ``lapland-radiometrics`` (:mod:`geochem_bench.scenes._lapland`). Quirks handled:

* The AEM GeoTIFF is an ArcGIS copy of a float grid to uint32: values are rounded, and both
  negative in-phase values and the outside-polygon nodata were written as 0, with no nodata
  tag. Outside the target-area polygon the grid is nodata; inside, 0 means "<= 0" and is kept.
* The WKT says EUREF_FIN_TM35FIN with AUTHORITY EPSG 3067 but rasterio reports 25835 (same
  parameters): the grid is assigned EPSG:3067.
* Below-detection values carry the flag ``<``; GTK's metadata says the value field then holds
  the detection limit, or 0 when the limit is unknown. A ``<`` value with its limit recorded
  is kept as censored at it (:class:`Samples` ``limits``). Here every ``<`` value is 0.0, the
  limit unknown (Zr 166, Th 19, K 2, Co 1, none of them a target element), and those stay
  "not measured" (NaN), counted in the description. Inferring their limit from other samples
  (e.g. the smallest value reported by the same laboratory run) would let held-out values
  reach the training inputs: a held-out sample that is its run's minimum would set a training
  sample's limit (the leakage test catches exactly that). Zeros without the flag (Zr 16, Th 7,
  Cr 1, Ni 1, all from the 1991-92 runs, which flagged nothing) are not documented as censored
  and stay "not measured" too, as does any other value <= 0. The ``!`` flag is undocumented
  and its values are kept as they are.
* The target-area polygon's attributes belong to its parent region and are ignored.
* No duplicated sample locations (checked at build).
* The magnetic anomaly (nT, DGRF-65) and the gamma-ray K (%), eTh and eU (ppm) grids exist
  upstream only as ArcGIS pyramids (``.tif.ovr``): the 50 m base GeoTIFFs are missing. Level 1
  (681 x 821 cells, float32) carries no georeferencing: it is placed on the base extent of the
  ``.tif.xml`` metadata (cells 68050/681 = 99.93 m x 100 m; the gamma-ray grids sit 6.04 m
  west and 4.44 m north of the magnetic/AEM grid). Nodata is -1e32 (Mag) and -999999 (Rad).
  Each is moved onto the 50 m AEM grid by nearest neighbour: a level-1 value is itself one
  50 m base cell (ArcGIS's NEAREST pyramid, verified cell for cell on the AEM, whose base and
  pyramid both exist), so nearest invents no value and leaves each layer's nodata edge where
  it is. Their values are kept as they are, negatives included (gamma-ray channels estimate
  near-zero concentrations with counting noise). The total-count channel is not used.
* The valid mask is the target-area polygon (the AEM's nodata) where the magnetic and the
  three gamma-ray grids also have data, never grown by the sample cells: a mask with every
  sample's cell in it would show the model where the held-out samples lie (the covariates are
  masked with it too). A sample on a cell off the mask has no covariates there and could not
  be scored, so it is dropped: 1 of the 1112 of the pinned file (OBJECTID 27802, on the
  northern edge, where the magnetic pyramid is nodata); the description gives the count.
* GTK levelled the concentrations between map sheets; the embedded metadata warns the data
  are "not useful at local scale", which is why the coarse grid is ~2 km.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.elements import Element
from geochem_bench.core.samples import Samples, half_limit
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.regrid import nearest_onto
from geochem_bench.errors import InvalidInputError
from geochem_bench.scenes._lapland import (
    AEM_FILE,
    FOLDER,
    GAMMA,
    MAG,
    SHAPE_FILES,
    TILL_FILE,
    fault_distance,
    lithology,
    read_aem,
    read_pyramid,
    target_area,
)
from geochem_bench.scenes.base import RealScene

ELEMENTS = (
    "Al", "Ba", "Ca", "Co", "Cr", "Cu", "Fe", "K", "La", "Li", "Mg",
    "Mn", "Ni", "P", "Sc", "Sr", "Th", "Ti", "V", "Y", "Zn", "Zr",
)  # fmt: skip


_SALMINEN1995TILL = """@techreport{salminen1995till,
  title = {Alueellinen geokemiallinen kartoitus {Suomessa} vuosina 1982--1994
           ({Regional} geochemical mapping in {Finland} in 1982--1994)},
  editor = {Salminen, Reijo},
  institution = {Geological Survey of Finland},
  type = {Report of Investigation},
  number = {130},
  year = {1995}
}"""

_GTK_OPEN_DATA = """@misc{gtk_open_data,
  title = {Regional till geochemistry, Bedrock of Finland 1:1 000 000 and airborne geophysics
           of the {Central Lapland} test area},
  author = {{Geological Survey of Finland (GTK)}},
  howpublished = {Packaged by the EIS project in eis\\_toolkit,
                  \\url{https://github.com/GispoCoding/eis_toolkit}},
  note = {CC BY 4.0; contains data from the Geological Survey of Finland}
}"""


class LaplandIOCG(RealScene):
    """The Lapland IOCG scene (points and cross-element transfer at ~2 km)."""

    name = "lapland-iocg"
    # 2: below-detection values with a recorded limit censored at it; 3: the magnetic anomaly
    # and the K, eTh, eU gamma-ray grids as covariates, and the valid mask cut to their cover
    version = "3"
    licence = "CC-BY-4.0 (Geological Survey of Finland open data)"
    citation = (
        "Contains data from the Geological Survey of Finland (GTK), CC BY 4.0: regional till "
        "geochemistry (Salminen (ed.) 1995, GTK Report of Investigation 130), Bedrock of "
        "Finland 1:1M (DigiKP), GTK airborne geophysics; test area packaging by the EIS "
        "project / eis_toolkit (GispoCoding)"
    )
    citations = (_SALMINEN1995TILL, _GTK_OPEN_DATA, "hyvonen2005gamma")
    summary = (
        "Central Lapland IOCG belt (FI): 1112 till samples x 22 elements; AEM, magnetics, "
        "gamma-ray K/eTh/eU, lithology, faults"
    )
    size = "1642x1361 px @ 50 m, 29 bands, 1111 samples"
    files = (
        AEM_FILE,
        TILL_FILE,
        *SHAPE_FILES,
        *MAG.files,
        *(f for layer in GAMMA for f in layer.files),
    )
    tasks = (
        *(
            TaskSpec(
                "lapland-iocg", (el,), 40, "points", n_spatial_folds=5, block_cells=2, version="2"
            )
            for el in ("Cu", "Ni", "Cr")
        ),
        *(
            TaskSpec(
                "lapland-iocg",
                (target,),
                40,
                "transfer",
                n_spatial_folds=5,
                block_cells=2,
                target_fraction=0.25,
                covariables=("Cu",),
                version="2",
            )
            for target in ("Cr", "Ni")
        ),
    )

    @classmethod
    def build(cls, raw_dir: Path) -> Scene:
        """Grid the AEM, the geophysics, lithology and structures; clean the till table."""
        import pyogrio

        folder = raw_dir / FOLDER
        aem, grid = read_aem(folder)
        geophysics = {}
        for layer in (MAG, *GAMMA):
            values, pyramid_grid = read_pyramid(folder, layer)
            # nearest: each ~100 m pyramid value is itself one 50 m base cell (a NEAREST
            # pyramid), so it invents nothing, and each layer's nodata edge stays where it is
            geophysics[layer.band] = nearest_onto(values, pyramid_grid, grid)
        # Where the rasters have data, whatever the samples: a mask grown by the sample cells
        # would reveal the held-out locations through `valid` and the masked covariates. The
        # AEM's nodata is the outside of the polygon (written as 0); the pyramids have their own.
        valid = target_area(folder, grid)
        for values in geophysics.values():
            valid &= np.isfinite(values)
        lith, codes, legend = lithology(folder, grid)
        bands = [aem, fault_distance(folder, grid), *lith]
        bands += [values.astype(np.float32) for values in geophysics.values()]
        covariates = np.stack(bands).astype(np.float32)
        covariates[:, ~valid] = np.nan

        till = pyogrio.read_dataframe(folder / TILL_FILE.path.removeprefix(f"{FOLDER}/"))
        x = till.geometry.x.to_numpy(dtype=np.float64)
        y = till.geometry.y.to_numpy(dtype=np.float64)
        if len(np.unique(np.column_stack([x, y]), axis=0)) != len(x):
            raise InvalidInputError("duplicated till sample locations; the raw file changed")
        values, limits = till_values(till)
        rows, cols = grid.cell_of(x, y)
        if (rows < 0).any():
            raise InvalidInputError("a till sample lies outside the AEM grid; the raw file changed")
        on_mask = valid[rows, cols]  # off it: no covariates there, not scorable
        samples = Samples(
            ids=till["OBJECTID"].to_numpy().astype(np.int64)[on_mask],
            x=x[on_mask],
            y=y[on_mask],
            values=values[on_mask],
            elements=ELEMENTS,
            limits=limits[on_mask],
        )
        dropped = int((~on_mask).sum())
        unknown = int(
            sum(
                ((till[f"{el}_511P_T"] == BELOW_DETECTION) & (till[c] <= 0))[on_mask].sum()
                for el in ELEMENTS
                for c in [next(c for c in till.columns if c.startswith(f"{el}_ppm"))]
            )
        )
        return Scene(
            name=cls.name,
            version=cls.version,
            grid=grid,
            covariates=covariates,
            band_names=(
                "aem_inphase",
                "fault_distance_m",
                *(f"lith_{c}" for c in codes),
                *geophysics,
            ),
            valid=valid,
            elements=tuple(Element(el, "mg/kg", "log10") for el in ELEMENTS),
            points=samples,
            licence=cls.licence,
            citation=cls.citation,
            description=(
                f"{cls.summary}; {dropped} samples off the valid mask (target area with "
                f"magnetic and gamma-ray cover) dropped; "
                f"{unknown} below-detection values with an unknown limit not measured. "
                f"Lithology legend: {legend}."
            ),
        )


#: Flag of a value below the detection limit in the ``<El>_511P_T`` columns.
BELOW_DETECTION = "<"


def till_values(till: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Concentrations and detection limits (N, 22) of the till table, in ELEMENTS order.

    A value flagged ``<`` whose value field holds its limit (> 0) is censored at that limit,
    its value half of it (:func:`~geochem_bench.core.samples.half_limit`). A ``<`` value with
    an unknown limit (0) and any other value <= 0 are not measured (NaN): see the module
    docstring for why no limit is inferred from other samples.
    """
    values = np.full((len(till), len(ELEMENTS)), np.nan)
    limits = np.full_like(values, np.nan)
    for e, el in enumerate(ELEMENTS):
        column = next(c for c in till.columns if c.startswith(f"{el}_ppm"))
        raw = till[column].to_numpy(dtype=np.float64)
        below = (till[f"{el}_511P_T"] == BELOW_DETECTION).to_numpy()
        measured = ~below & (raw > 0)
        values[measured, e] = raw[measured]
        recorded = below & (raw > 0)
        limits[recorded, e] = raw[recorded]
    return half_limit(values, limits), limits
