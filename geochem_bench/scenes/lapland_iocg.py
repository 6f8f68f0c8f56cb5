"""Lapland IOCG: GTK regional till geochemistry over the Kolari-Pajala IOCG belt (Finland).

Raw data: the EIS project's test area in eis_toolkit (GTK open data, CC BY 4.0): 1112 basal
till samples (method 511P, aqua regia, ICP-AES) with 22 elements, the 50 m airborne EM
in-phase grid, the 1:1M bedrock lithology and fault structures, and the target-area polygon.
Quirks handled:

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
* The valid mask is the target-area polygon alone, never grown by the sample cells: a mask
  with every sample's cell in it would show the model where the held-out samples lie (the
  covariates are masked with it too). A sample on a cell off the polygon has no AEM there
  (nodata) and could not be scored, so it is dropped; none of the 1112 of the pinned file is
  (the description gives the count).
* GTK levelled the concentrations between map sheets; the embedded metadata warns the data
  are "not useful at local scale", which is why the coarse grid is ~2 km.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.samples import Samples, half_limit
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.sources import Upstream
from geochem_bench.errors import InvalidInputError
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

_UPSTREAM_1 = Upstream(
    "https://raw.githubusercontent.com/GispoCoding/eis_toolkit/{commit}/tests/data/Primary_data/{file}",
    "8210a1cb5bafae894900d8d1dbffeceff9bc6e10",
    "lapland_iocg",
)

_UPSTREAM_2 = Upstream(
    "https://raw.githubusercontent.com/GispoCoding/eis_toolkit/{commit}/tests/data/remote/{file}",
    "a445a513851683dca21a99c06e797961add50176",
    "lapland_iocg",
)


class LaplandIOCG(RealScene):
    """The Lapland IOCG scene (points and cross-element transfer at ~2 km)."""

    name = "lapland-iocg"
    version = "2"  # 2: below-detection values with a recorded limit censored at it
    licence = "CC-BY-4.0 (Geological Survey of Finland open data)"
    citation = (
        "Contains data from the Geological Survey of Finland (GTK), CC BY 4.0: regional till "
        "geochemistry (Salminen (ed.) 1995, GTK Report of Investigation 130), Bedrock of "
        "Finland 1:1M (DigiKP), GTK airborne geophysics; test area packaging by the EIS "
        "project / eis_toolkit (GispoCoding)"
    )
    citations = (_SALMINEN1995TILL, _GTK_OPEN_DATA)
    summary = (
        "Central Lapland IOCG belt (FI): 1112 till samples x 22 elements; AEM, lithology, faults"
    )
    size = "1642x1361 px @ 50 m, 25 bands, 1112 samples"
    files = (
        _UPSTREAM_1.file(
            "AEM/IOCG_AEM_1.tif",
            "cfb3b9b93f7039eb6ff2a2bd6a54b3b76ede12cc7cfe3cff2af6e80ae92a1d6d",
            2113588,
        ),
        _UPSTREAM_2.file(
            "IOCG_CLB_Till_Geochem_reg_511p.gpkg",
            "dc3cfdf98412149e2a35c8ac832b177da145573e85ded575f4d0f048497b756c",
            520192,
        ),
        _UPSTREAM_1.file(
            "shps/IOCG_CLB_Lith_Asstn_1M.shp",
            "03a03ed1d69e27d08030aace45660e0921f894bdeca24446c5fe4a729283dbec",
            95256,
        ),
        _UPSTREAM_1.file(
            "shps/IOCG_CLB_Lith_Asstn_1M.shx",
            "1f30b305ad8a76e7a5a1f2213354d7208d0c4f47105ef3af46be71b1cfa12b28",
            748,
        ),
        _UPSTREAM_1.file(
            "shps/IOCG_CLB_Lith_Asstn_1M.dbf",
            "c113efeee60387743048e309dad0c1d5590848a11ae4685befef21e19374235e",
            185327,
        ),
        _UPSTREAM_1.file(
            "shps/IOCG_CLB_Lith_Asstn_1M.prj",
            "fe66dc36faee8166e1e3451ce47936b4437c7ae7e5acf2e05a8ef5bd52dd904d",
            399,
        ),
        _UPSTREAM_1.file(
            "shps/IOCG_CLB_Lith_Asstn_1M.cpg",
            "3ad3031f5503a4404af825262ee8232cc04d4ea6683d42c5dd0a2f2a27ac9824",
            5,
        ),
        _UPSTREAM_1.file(
            "shps/IOCG_CLB_Structures_1M.shp",
            "3cfbc5dbb50476b5c6b71fae1329c1b9650b2cbe2ace416bb2fd460140d5bf34",
            22540,
        ),
        _UPSTREAM_1.file(
            "shps/IOCG_CLB_Structures_1M.shx",
            "dea326c19a9fe758ad35009cfed49a49f3eac9d80bab21972ccad590410f5fb6",
            780,
        ),
        _UPSTREAM_1.file(
            "shps/IOCG_CLB_Structures_1M.dbf",
            "8af4d064fc20d2b06eee3bfd1c87434ed2262ef040947294e8c3a355774ad5b2",
            17258,
        ),
        _UPSTREAM_1.file(
            "shps/IOCG_CLB_Structures_1M.prj",
            "fe66dc36faee8166e1e3451ce47936b4437c7ae7e5acf2e05a8ef5bd52dd904d",
            399,
        ),
        _UPSTREAM_1.file(
            "shps/IOCG_CLB_Structures_1M.cpg",
            "3ad3031f5503a4404af825262ee8232cc04d4ea6683d42c5dd0a2f2a27ac9824",
            5,
        ),
        _UPSTREAM_1.file(
            "shps/EIS_IOCG_target_area.shp",
            "3dc7de5f614ad80aae19eeaa11d34152e12254d3080aeaabb9f684e09dfae3fb",
            16028,
        ),
        _UPSTREAM_1.file(
            "shps/EIS_IOCG_target_area.shx",
            "93f33edf2be54622fc2ba00ca3908afbdf8283d6f6bee3d846689505ad954d10",
            108,
        ),
        _UPSTREAM_1.file(
            "shps/EIS_IOCG_target_area.dbf",
            "8d36fa647df56f050c14b8ebcd3f4778953972fccb7d675e5723da8b38b9ccce",
            714,
        ),
        _UPSTREAM_1.file(
            "shps/EIS_IOCG_target_area.prj",
            "fe66dc36faee8166e1e3451ce47936b4437c7ae7e5acf2e05a8ef5bd52dd904d",
            399,
        ),
        _UPSTREAM_1.file(
            "shps/EIS_IOCG_target_area.cpg",
            "3ad3031f5503a4404af825262ee8232cc04d4ea6683d42c5dd0a2f2a27ac9824",
            5,
        ),
    )
    tasks = (
        *(
            TaskSpec("lapland-iocg", (el,), 40, "points", n_spatial_folds=5, block_cells=2)
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
            )
            for target in ("Cr", "Ni")
        ),
    )

    @classmethod
    def build(cls, raw_dir: Path) -> Scene:
        """Grid the AEM, rasterise lithology and structures, clean the till table."""
        import pyogrio
        import rasterio
        from rasterio import features
        from scipy import ndimage

        folder = raw_dir / "lapland_iocg"
        with rasterio.open(folder / "AEM" / "IOCG_AEM_1.tif") as src:
            aem = src.read(1).astype(np.float32)
            transform = src.transform
        grid = GridSpec(aem.shape[0], aem.shape[1], transform, "EPSG:3067")
        shps = folder / "shps"
        area = pyogrio.read_dataframe(shps / "EIS_IOCG_target_area.shp")
        inside = features.rasterize(
            ((g, 1) for g in area.geometry),
            out_shape=grid.shape,
            transform=transform,
            dtype="uint8",
        ).astype(bool)

        lith = pyogrio.read_dataframe(shps / "IOCG_CLB_Lith_Asstn_1M.shp")
        codes = sorted(int(c) for c in lith["ROCK_NAME"].unique())
        index = features.rasterize(
            ((g, codes.index(int(c)) + 1) for g, c in zip(lith.geometry, lith["ROCK_NAME"])),
            out_shape=grid.shape,
            transform=transform,
            dtype="int32",
        )
        faults = pyogrio.read_dataframe(shps / "IOCG_CLB_Structures_1M.shp")
        on_fault = features.rasterize(
            ((g, 1) for g in faults.geometry),
            out_shape=grid.shape,
            transform=transform,
            dtype="uint8",
            all_touched=True,
        ).astype(bool)
        fault_distance = (ndimage.distance_transform_edt(~on_fault) * grid.res[0]).astype(
            np.float32
        )

        till = pyogrio.read_dataframe(folder / "IOCG_CLB_Till_Geochem_reg_511p.gpkg")
        x = till.geometry.x.to_numpy(dtype=np.float64)
        y = till.geometry.y.to_numpy(dtype=np.float64)
        if len(np.unique(np.column_stack([x, y]), axis=0)) != len(x):
            raise InvalidInputError("duplicated till sample locations; the raw file changed")
        values, limits = till_values(till)
        rows, cols = grid.cell_of(x, y)
        if (rows < 0).any():
            raise InvalidInputError("a till sample lies outside the AEM grid; the raw file changed")
        # Where the rasters have data, whatever the samples: a mask grown by the sample cells
        # would reveal the held-out locations through `valid` and the masked covariates.
        valid = inside
        bands = [np.where(valid, aem, np.nan), np.where(valid, fault_distance, np.nan)]
        for k in range(len(codes)):
            bands.append(np.where(valid, (index == k + 1).astype(np.float32), np.nan))
        on_area = valid[rows, cols]  # off it: no AEM, no prediction required, not scorable
        samples = Samples(
            ids=till["OBJECTID"].to_numpy().astype(np.int64)[on_area],
            x=x[on_area],
            y=y[on_area],
            values=values[on_area],
            elements=ELEMENTS,
            limits=limits[on_area],
        )
        dropped = int((~on_area).sum())
        unknown = int(
            sum(
                ((till[f"{el}_511P_T"] == BELOW_DETECTION) & (till[c] <= 0))[on_area].sum()
                for el in ELEMENTS
                for c in [next(c for c in till.columns if c.startswith(f"{el}_ppm"))]
            )
        )
        labels = dict(zip(lith["ROCK_NAME"].astype(int), lith["ROCK_NAME_"]))
        legend = "; ".join(f"lith_{c} = {labels[c]}" for c in codes)
        return Scene(
            name=cls.name,
            version=cls.version,
            grid=grid,
            covariates=np.stack(bands).astype(np.float32),
            band_names=("aem_inphase", "fault_distance_m", *(f"lith_{c}" for c in codes)),
            valid=valid,
            elements=tuple(Element(el, "mg/kg", "log10") for el in ELEMENTS),
            points=samples,
            licence=cls.licence,
            citation=cls.citation,
            description=(
                f"{cls.summary}; {dropped} samples off the target area dropped; "
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
