"""Sir Samuel radiometrics: real airborne K and eU on a 3 arc-second grid (Western Australia).

Raw data: the ``sirsam`` covariate clip of GeoscienceAustralia/uncover-ml (commit e8eeb35,
``tests/test_data/sirsam/covariates/``): single-band GeoTIFFs on one 241 x 187 grid of
3 arc-seconds (1/1200 degree), EPSG:4326, 121.36-121.52 E, 27.54-27.34 S. Targets: the
Radiometric Map of Australia's potassium (``k_15v5.tif``, K %) and equivalent uranium
(``U_15v1.tif``, eU ppm), a real, exhaustive measurement of the top ~30 cm of the ground.
Covariates: DEM focal mean (``dem_foc2``, m), topographic position index (``tpi_300``),
a gravity-derived grid (``gg_clip``), the Prescott climate index
(``Clim_Prescott_LindaGregory``) and an erosional/depositional class (``er_depg``). Quirks
handled:

* ``U_TH_15.tif`` (eU/eTh) is another channel of the same gamma-ray survey as the targets: it
  would leak them, so it is neither declared nor read.
* Every layer must lie on the grid of ``k_15v5.tif`` (same CRS, shape and transform): the
  build checks it and stops with an error naming the layer that does not.
* Nodata conventions differ between layers and each is masked with its own tag: the float32
  lowest value (-3.4028235e38) in most layers, -3.402823e38 (two float32 steps above it) in
  ``k_15v5``, -9999 in the climate index and 0 in the uint8 ``er_depg``. A value below -1e30
  that its layer's tag does not mark (a tag that does not match the holes) is an error.
* Every layer has the same 427 holes: the first column and the last row of the clip. The
  build crops the grid to the rows and columns with data (240 x 186 cells; the transform
  moves one cell east), so the coarse blocks of every scale start at the first cell with
  data. ``valid`` is the cells where every layer has data: all 44 640 of the crop.
* eU has a floor: 475 cells (1.06 %) hold exactly 0.005 ppm, the grid's minimum, in 44
  patches; the next value is 0.00503. Most likely upstream clipped values at or below it
  (airborne eU can be <= 0 after background and stripping corrections on weak counts); this
  is not documented. K and eU are scored in linear space (the card says why), where the floor
  and any value <= 0 are ordinary numbers: they are kept as they are, not turned into NaN
  (a log transform could not take a value <= 0 and would make the arbitrary floor two orders
  of magnitude below the median). The description counts both.
* ``er_depg`` has two classes, 1 and 2, whose meaning upstream does not document: they become
  one-hot bands ``er_depg_1`` and ``er_depg_2``, like the lithology of the other scenes. Any
  other code on a valid cell is an error.
* The cells are in degrees: about 82.4 m east-west by 92.3 m north-south at this latitude,
  so not square in metres. The grid is not reprojected: resampling would interpolate the real
  truth and break the exact block means of the grid protocol, which needs only the cell grid.
  Models that measure distances in map units (kriging, IDW) measure them in degrees here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.sources import Upstream
from geochem_bench.errors import InvalidInputError
from geochem_bench.scenes.base import RealScene

if TYPE_CHECKING:
    from geochem_bench.data.geotiff import Layer

#: The CRS every layer must have (the files' own, GDA94 and WGS 84 agree within ~2 m here).
CRS_EPSG = 4326
#: (symbol, unit, file) of the targets, in scene order; ``U`` is equivalent uranium (eU).
TARGETS = (("K", "%", "k_15v5.tif"), ("U", "ppm", "U_15v1.tif"))
#: (band name, file) of the continuous covariates, in band order.
COVARIATES = (
    ("dem_focal_m", "dem_foc2.tif"),
    ("tpi_300", "tpi_300.tif"),
    ("gravity_gg", "gg_clip.tif"),
    ("prescott_index", "Clim_Prescott_LindaGregory.tif"),
)
#: The categorical covariate and its codes, one-hot encoded after the continuous bands.
CLASSES_FILE = "er_depg.tif"
CLASS_CODES = (1, 2)
#: The eU value upstream's grid uses as a floor (ppm).
EU_FLOOR = 0.005
#: Float values below this are nodata markers whatever the tag says (float32 lowest ~ -3.4e38).
_NODATA_LIKE = -1e30

_GA_RADIOMETRICS = """@misc{ga_radiometric_map_australia,
  title = {Radiometric Map of {Australia}: potassium and equivalent uranium grids
           (files k\\_15v5 and U\\_15v1)},
  author = {{Geoscience Australia}},
  howpublished = {National radioelement grids, clipped to part of the {Sir Samuel}
                  1:250 000 sheet ({Western Australia}) in uncover-ml's test data},
  note = {{\\copyright} Commonwealth of Australia (Geoscience Australia), CC BY 4.0}
}"""

_UNCOVERML_SIRSAM = """@misc{uncoverml_sirsam,
  title = {uncover-ml: {Sir Samuel} covariate test data (tests/test\\_data/sirsam/covariates)},
  author = {{Geoscience Australia}},
  howpublished = {\\url{https://github.com/GeoscienceAustralia/uncover-ml}, commit
                  e8eeb35c875a7da2572bc1678b87d98d00b407e9},
  note = {Repository Apache-2.0; the data are Geoscience Australia's, CC BY 4.0}
}"""

_UPSTREAM = Upstream(
    "https://raw.githubusercontent.com/GeoscienceAustralia/uncover-ml/{commit}"
    "/tests/test_data/sirsam/covariates/{file}",
    "e8eeb35c875a7da2572bc1678b87d98d00b407e9",
    "sir_samuel/uncover_ml",
)


class SirSamuelRadiometrics(RealScene):
    """The Sir Samuel radiometrics scene (grid protocol against real airborne K and eU)."""

    name = "sir-samuel-radiometrics"
    version = "1"
    licence = "CC-BY-4.0 (Geoscience Australia data); packaging Apache-2.0 (uncover-ml)"
    citation = (
        "Geoscience Australia, Radiometric Map of Australia (K and eU grids) and DEM, TPI, "
        "gravity and climate covariates, CC BY 4.0; clip packaged in GeoscienceAustralia/"
        "uncover-ml (tests/test_data/sirsam)"
    )
    citations = (_GA_RADIOMETRICS, _UNCOVERML_SIRSAM)
    summary = (
        "Sir Samuel (WA): real airborne K, eU (exhaustive) guided by DEM, TPI, gravity, "
        "climate and an erosional/depositional class"
    )
    size = '240x186 px @ 3" (~82 x 92 m), 6 bands, exhaustive (real)'
    files = (
        _UPSTREAM.file(
            "k_15v5.tif",
            "31401f6edefe11b5ed9e0f33c8b3e8cf68192e84ffbb62aae3875fa2e728b50a",
            180871,
        ),
        _UPSTREAM.file(
            "U_15v1.tif",
            "6a9c9d2d942ebda5e94fdb199434798adb77c24a17ff7caf321e62e21414e68a",
            180870,
        ),
        _UPSTREAM.file(
            "dem_foc2.tif",
            "a88be4aa29ee8db77dc2b954d4bd8535630371b1a3817f570f344f4a424772f3",
            180870,
        ),
        _UPSTREAM.file(
            "tpi_300.tif",
            "75582bb6641599c0847c4d9f944011fbddfec03fd773d09cf25221dfd40fbff0",
            180870,
        ),
        _UPSTREAM.file(
            "gg_clip.tif",
            "dc94cba5659bcad6219eefba83e2a4d442c5ac63c5f4d8175944df1f8641870d",
            180870,
        ),
        _UPSTREAM.file(
            "Clim_Prescott_LindaGregory.tif",
            "6c8c3bc2fadab1d480ffe72ac8636ed8ab36d88751527dcbc9c99290e8ff5119",
            180852,
        ),
        _UPSTREAM.file(
            "er_depg.tif",
            "dd83a3a83735c419a7a5bbb80adeda7e0dc5622830b4b508e218c3caf4a512f9",
            45493,
        ),
    )
    tasks = tuple(
        TaskSpec("sir-samuel-radiometrics", ("K", "U"), s, "grid", label="all") for s in (4, 8, 16)
    )

    @classmethod
    def build(cls, raw_dir: Path) -> Scene:
        """Check that the layers share one grid, mask each by its nodata, crop, one-hot."""
        from affine import Affine

        from geochem_bench.data.geotiff import read_aligned_layers

        folder = raw_dir / _UPSTREAM.folder
        files = [f for *_, f in TARGETS] + [f for _, f in COVARIATES] + [CLASSES_FILE]
        fix = f"the raw file changed; run `{cls.fix_command()}`"
        read = read_aligned_layers([folder / name for name in files], fix)
        layers = {layer.name: layer.values for layer in read}
        has_data = {layer.name: _has_data(layer, fix) for layer in read}
        height, width = read[0].values.shape
        everywhere = np.logical_and.reduce(list(has_data.values()))
        if not everywhere.any():
            raise InvalidInputError(
                f"no cell of {folder} has data in every layer; the raw files changed. "
                f"Run `{cls.fix_command()}`"
            )
        # The clip has a nodata frame (first column, last row) shared by every layer: crop to
        # the cells with data, so that each scale's coarse blocks start on data.
        rows, cols = np.flatnonzero(everywhere.any(axis=1)), np.flatnonzero(everywhere.any(axis=0))
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        transform = read[0].transform @ Affine.translation(c0, r0)
        grid = GridSpec(r1 - r0, c1 - c0, transform, f"EPSG:{CRS_EPSG}")
        valid = everywhere[r0:r1, c0:c1]

        def crop(name: str) -> NDArray[np.float64]:
            return np.asarray(layers[name][r0:r1, c0:c1], dtype=np.float64)

        codes = crop(CLASSES_FILE)
        unknown = sorted(set(np.unique(codes[valid]).astype(int).tolist()) - set(CLASS_CODES))
        if unknown:
            raise InvalidInputError(
                f"{CLASSES_FILE} holds codes {unknown} besides the declared {list(CLASS_CODES)}; "
                f"the raw file changed. Run `{cls.fix_command()}`"
            )
        bands = [np.where(valid, crop(f), np.nan) for _, f in COVARIATES]
        bands += [np.where(valid, (codes == k).astype(np.float64), np.nan) for k in CLASS_CODES]
        truth = np.stack([np.where(valid, crop(f), np.nan) for *_, f in TARGETS])
        symbols = [s for s, *_ in TARGETS]
        at_floor = int((truth[symbols.index("U")][valid] == np.float32(EU_FLOOR)).sum())
        not_positive = {s: int((truth[i][valid] <= 0).sum()) for i, s in enumerate(symbols)}
        shares = {k: float((codes[valid] == k).mean()) for k in CLASS_CODES}
        return Scene(
            name=cls.name,
            version=cls.version,
            grid=grid,
            covariates=np.stack(bands).astype(np.float32),
            band_names=(*(b for b, _ in COVARIATES), *(f"er_depg_{k}" for k in CLASS_CODES)),
            valid=valid,
            # linear: K is a major element in %, eU has a floor and could hold values <= 0,
            # and both average linearly over a block (see the card)
            elements=tuple(Element(s, unit, "linear") for s, unit, _ in TARGETS),
            truth=truth.astype(np.float32),
            licence=cls.licence,
            citation=cls.citation,
            description=(
                f"{cls.summary}; K in %, eU (element U) in ppm, both scored in linear space; "
                f"{at_floor} cells at the eU floor of {EU_FLOOR} ppm; values <= 0 kept: "
                f"K {not_positive['K']}, U {not_positive['U']}. Grid cropped from "
                f"{height}x{width} to {grid.height}x{grid.width} "
                f"(the nodata frame every layer shares); cells of {grid.res[0] * 3600:.3g} "
                f"arc-seconds, EPSG:{CRS_EPSG}, not square in metres (see the card). er_depg "
                "codes 1 and 2 (meaning not documented upstream): "
                + ", ".join(f"er_depg_{k} {100 * shares[k]:.1f} % of cells" for k in CLASS_CODES)
                + "."
            ),
        )


def _has_data(layer: Layer, fix: str) -> NDArray[np.bool_]:
    """Where ``layer`` has data, once it is checked to be one band in the clip's CRS.

    Raises:
        InvalidInputError: another band count or CRS, or nodata-like values its nodata tag
            does not mark.
    """
    if layer.count != 1:
        raise InvalidInputError(f"{layer.name} has {layer.count} bands, expected 1; {fix}")
    epsg = layer.crs.to_epsg() if layer.crs is not None else None
    if epsg != CRS_EPSG:
        raise InvalidInputError(
            f"{layer.name} has CRS {layer.crs}, expected EPSG:{CRS_EPSG} like every layer "
            f"of the clip; {fix}"
        )
    values = layer.values
    has_data = values != values.dtype.type(layer.nodata)
    if values.dtype.kind == "f":
        has_data &= np.isfinite(values)
        stray = has_data & (values < _NODATA_LIKE)
        if stray.any():
            raise InvalidInputError(
                f"{layer.name}: {int(stray.sum())} cells hold {float(values[stray][0])!r}, a "
                f"nodata marker its nodata tag ({layer.nodata!r}) does not match; {fix}"
            )
    return has_data
