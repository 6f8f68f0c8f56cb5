"""Sir Samuel (Yilgarn Craton, WA): GSWA regolith geochemistry over national geophysics.

Raw data: the integration-test data of CSIRO Data61's landshark (commit 01d28c4): 1026
regolith sites of GSWA's Regolith Geochemical Mapping of the Sir Samuel 1:250 000 sheet
(SG51-13; WACHEM extract of 2014-06-02) with 39 elements in mg/kg, and four 15 arc-second
grids: total magnetic intensity reduced to the pole (AusMag V6, nT), Bouguer gravity (2011,
um/s^2), a lithology-unit class map and an Australian Soil Classification map. Quirks handled:

* The rasters are geographic: magnetics and gravity are tagged EPSG:4283 (GDA94), lithology
  and soil EPSG:4326 (WGS 84), on the same grid (identical transforms, checked). The two
  datums differ by under 2 m here, far below a 400 m cell, so all four are read as GDA94:
  reprojecting the WGS 84 pair would make PROJ pick a datum transformation (and its result
  depend on the PROJ install) only to move them by a fraction of a metre.
* Cells are 15" x 14.988" (0.0041667 x 0.0041634 deg), 410-414 m wide and 461 m tall on the
  ground, so distances in degrees would be off by 12 % between x and y. Everything is
  reprojected to MGA zone 51 (EPSG:28351; the ``EASTING``/``NORTHING`` of the table are MGA 51
  too) on a 500 m grid whose origin is snapped to multiples of 5 km, one coarse cell of the
  s10 tasks, so coarse cells and spatial blocks lie on round coordinates. Magnetics and
  gravity are resampled with GDAL's area-weighted ``average`` (a 500 m cell is larger than a
  source cell, so it takes the mean of the source cells it covers rather than interpolating at
  its centre); the class maps by ``nearest`` (a class code cannot be averaged), then one-hot
  encoded, one band per class present. Neither class map ships a legend: bands are named by
  code (``lith_<code>``, ``soil_asc_<code>``).
* Nodata: -999999 (float rasters), 255 (class maps); the pinned rasters have no nodata cell
  inside their rectangle. The valid mask is where every reprojected layer has data, from the
  rasters alone (never grown by the sample cells: that would show where held-out samples lie);
  a sample off it has no covariates and is dropped (the description gives the count).
* Sample locations: the point geometry (GDA94 lon/lat, 5 decimals) projected to MGA 51 with
  PROJ and rounded to 1 mm. The table's ``EASTING``/``NORTHING`` agree within 3.6 m (integer
  metres from rounded degrees) and are not used. Sample ids are GSWA's ``GSWANO``.
* Sample medium (``LITHNAME``): sheetwash 420, alluvium 398, soil 156, lacustrine sediment
  52. The 52 lacustrine sites (salt-lake sediments) are dropped: their chemistry is of
  another kind (log10 Mg 1.2 above the other media's mean) and 52 sites cannot teach a model
  an offset it is never told the medium of. The medium is not given to models; it defines
  the cross-media split (train on sheetwash + soil, score at alluvium).
* Below-detection values were **imputed upstream** (``_imp`` columns) without a flag: they
  are non-round values (6 significant digits) scattered below the element's detection limit,
  not set to one floor. Each limit was found once, by the maintainer, from the pinned table:
  the smallest value at the reported precision (<= 2 decimals), with every non-round value
  below it and no round value below it, in each of the six laboratory batches too
  (:data:`DETECTION_LIMITS`; re-checked on the real file by ``tests/test_sir_samuel.py``). A
  value below its element's declared limit is censored at that limit; a value equal to it is
  a reported measurement (e.g. Sb 0.2 at 271 of the 1026 sites) and is kept. The limits are
  constants, never inferred from the samples at build time: a held-out value would then shape
  the training samples' limits.
* The ``<El>_ppm_i_1`` (two-letter symbols) and ``<El>_ppm_imp_`` (one-letter symbols) columns
  are log10 copies with DBF-truncated names: the build reads the exact ``<El>_ppm_imp`` names
  only (``F_ppm_imp`` is a prefix of ``F_ppm_imp_``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from numpy.typing import NDArray

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.samples import Samples, half_limit
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.reproducible import stable_float32
from geochem_bench.data.sources import Upstream
from geochem_bench.errors import InvalidInputError
from geochem_bench.scenes.base import RealScene
from geochem_bench.tasks.splits import SampleSplit

#: The 39 elements of the table (``<El>_ppm_imp``, mg/kg), in its column order.
ELEMENTS = (
    "Al", "As", "Ba", "Be", "Ca", "Ce", "Co", "Cr", "Cu", "F", "Fe", "Ga", "K", "La", "Li",
    "Mg", "Mn", "Mo", "Na", "Nb", "Ni", "P", "Pb", "Rb", "S", "Sb", "Sc", "Se", "Si", "Sn",
    "Sr", "Ta", "Th", "Ti", "U", "V", "Y", "Zn", "Zr",
)  # fmt: skip

#: Detection limit (mg/kg) of every element with imputed below-detection values: the smallest
#: value at the reported precision in the pinned table, with each of the element's non-round
#: (imputed) values below it. It is also the smallest reported value of each of the six
#: laboratory batches (samreg1-6) for 11 of the 16; Cr, Mg, Mo, Pb and S reach it in only
#: some batches (e.g. Cr 20 in samreg5, 29-31 elsewhere), and in every batch their imputed
#: values lie below it. Ca, Mg, Mn, Na and P are 0.01 wt% of their oxide (CaO x 0.7147, MgO x
#: 0.6030, MnO x 0.7745, Na2O x 0.7419, P2O5 x 0.4364). Values below it over the 1026 sites:
#: As 223, F 282, Sn 381, Se 229, Sc 132, Sb 129, Ta 53, Mn 42, Mo 13, S 10, Cr 8, Pb 7, Ca 5,
#: P 3, Mg 2, Na 1. Cr's limit is the least certain: the largest imputed value is 17.48, the
#: smallest reported one 20 (2 sites), so the true limit lies in (17.48, 20]; 20 is
#: conservative (a prediction up to 20 counts as exact at those 8 sites). The other 23
#: elements have no imputed value.
DETECTION_LIMITS: dict[str, float] = {
    "As": 2.0, "Ca": 71.47, "Cr": 20.0, "F": 50.0, "Mg": 60.3, "Mn": 77.45, "Mo": 0.5,
    "Na": 74.19, "P": 43.64, "Pb": 2.0, "S": 10.0, "Sb": 0.2, "Sc": 2.0, "Se": 0.2, "Sn": 1.0,
    "Ta": 0.2,
}  # fmt: skip

#: Target elements of the scene's tasks (see the card for why these five).
TARGETS = ("Ni", "Cr", "Cu", "As", "Pb")
#: The ten major elements of a major-oxide analysis (reported as mg/kg of the element; their
#: values fall on steps of 0.01 wt% of the oxide, Ti's at 81 % of the sites): known at every
#: site, held-out ones included, in the heterotopic transfer tasks.
MAJORS = ("Si", "Ti", "Al", "Fe", "Mn", "Mg", "Ca", "Na", "K", "P")

#: Sample media (``LITHNAME``) and what the build does with them.
SHEETWASH, ALLUVIUM, SOIL, LACUSTRINE = "Sheetwash", "Alluvium", "Soil", "Lacustrine sediment"
MEDIA = (SHEETWASH, ALLUVIUM, SOIL, LACUSTRINE)
#: Name of the shipped split of the cross-media task.
CROSS_MEDIA = "cross-media"

#: Fine grid: MGA zone 51, 500 m cells, origin on multiples of 5 km (one coarse cell at s10).
CRS = "EPSG:28351"
CELL = 500.0
ALIGN = 5000.0
#: CRS every raster and the samples are read in (see the module docstring).
SOURCE_CRS = "EPSG:4283"
_SCALE = 10

#: (file, band name or class prefix, continuous?) of the rasters, in band order.
_LAYERS = (
    ("SirSamualAusMagV6_rtp_ll.tif", "mag_rtp_nT", True),
    ("SirSamualAusGravity2011_ll.tif", "bouguer_gravity_um_s2", True),
    ("PM_Lithology_Unit_Type.tif", "lith", False),
    ("Soil_ASC.tif", "soil_asc", False),
)

_GSWA2014 = """@misc{gswa2014sirsamuel,
  title = {Regolith geochemistry of the {Sir Samuel} 1:250 000 sheet ({SG51-13}),
           {Regolith Geochemical Mapping}},
  author = {{Geological Survey of Western Australia}},
  year = {2014},
  note = {WACHEM extract of 2014-06-02; CC BY 4.0}
}"""

_GA_MAGNETICS = """@misc{ga_ausmag_v6,
  title = {Magnetic Anomaly Map of {Australia} ({AusMag} V6), total magnetic intensity reduced
           to the pole},
  author = {{Geoscience Australia}},
  note = {Sir Samuel clip at 15 arc-seconds as packaged in landshark; CC BY 4.0}
}"""

_GA_GRAVITY = """@misc{ga_gravity2011,
  title = {Bouguer gravity grid of {Australia} from the {Australian National Gravity
           Database}},
  author = {{Geoscience Australia}},
  year = {2011},
  note = {Sir Samuel clip at 15 arc-seconds as packaged in landshark; CC BY 4.0}
}"""

_LANDSHARK = """@misc{landshark,
  title = {landshark, integration test data: {Sir Samuel} regolith geochemistry and
           covariates},
  author = {{CSIRO Data61}},
  howpublished = {\\url{https://github.com/data61/landshark}},
  note = {Apache-2.0; commit 01d28c47be4b688f4705acbf5dd64f7d790574fd}
}"""

_COMMIT = "01d28c47be4b688f4705acbf5dd64f7d790574fd"
_RASTERS = Upstream(
    "https://raw.githubusercontent.com/data61/landshark/{commit}/integration/data/nonmissing/{file}",
    _COMMIT,
    "sir_samuel/landshark",
)
_SITES = Upstream(
    "https://raw.githubusercontent.com/data61/landshark/{commit}/integration/data/targets/{file}",
    _COMMIT,
    "sir_samuel/landshark",
)


class SirSamuel(RealScene):
    """The Sir Samuel scene (points, heterotopic transfer and a cross-media split)."""

    name = "sir-samuel"
    version = "1"
    licence = "CC-BY-4.0 (GSWA and Geoscience Australia data); Apache-2.0 (landshark packaging)"
    citation = (
        "Geological Survey of Western Australia, Regolith Geochemical Mapping, Sir Samuel "
        "1:250 000 sheet SG51-13 (WACHEM extract, 2014); Geoscience Australia magnetic "
        "(AusMag V6, RTP) and gravity (2011) grids; packaging by CSIRO Data61 (landshark)"
    )
    citations = (_GSWA2014, _GA_MAGNETICS, _GA_GRAVITY, _LANDSHARK)
    summary = (
        "Sir Samuel regolith (Yilgarn, WA): Ni, Cr, Cu, As, Pb of 39 elements; magnetics, "
        "gravity, lithology, soil"
    )
    size = "250x330 px @ 500 m (MGA 51), 25 bands, 974 samples"
    files = (
        _RASTERS.file(
            "PM_Lithology_Unit_Type.tif",
            "9ee5b58dcd49a2c3e046902f96853e28b9c1e584c21d81ffd237b276d2511bdc",
            95936,
        ),
        _RASTERS.file(
            "SirSamualAusGravity2011_ll.tif",
            "c2e3c56290374a3f48dc164d527897b564e63b80a0459017302eecf0de89dea4",
            382448,
        ),
        _RASTERS.file(
            "SirSamualAusMagV6_rtp_ll.tif",
            "f5f78c537252ffea18db8698151c7db9cd36cfb7686d6a95690d6ebeffd5c848",
            382448,
        ),
        _RASTERS.file(
            "Soil_ASC.tif",
            "dbb3f38f90a3d1ca60c378d9cf7db7f495a12803b307630b0ce3d15c9896844b",
            95936,
        ),
        _SITES.file(
            "geochem_sites.dbf",
            "7d73a3aecd1f85a784c45d1f2ac7a08125f8d169075185a1ec8ca8db33bee9d4",
            3508916,
        ),
        _SITES.file(
            "geochem_sites.prj",
            "bc5b0145c9d454b8e35e2cc47793a3bae2efb5b2cfc74a252e16b4cd35e63d57",
            145,
        ),
        _SITES.file(
            "geochem_sites.shp",
            "a5fc06bc9c41191fc4294ff73aa113ce94237ba0788e1e0a75023de7cbd30326",
            28828,
        ),
        _SITES.file(
            "geochem_sites.shx",
            "0b15b7c6022cb695d55c807d3ef9bc30155c3c7a36ed2a4286a8a491e6c8aad4",
            8308,
        ),
    )
    tasks = (
        *(
            TaskSpec("sir-samuel", (el,), _SCALE, "points", n_spatial_folds=5, block_cells=2)
            for el in TARGETS
        ),
        *(
            TaskSpec(
                "sir-samuel",
                (target,),
                _SCALE,
                "transfer",
                n_spatial_folds=5,
                block_cells=2,
                target_fraction=0.25,
                covariables=MAJORS,
            )
            for target in ("Ni", "As")
        ),
        TaskSpec(
            "sir-samuel",
            TARGETS,
            _SCALE,
            "points",
            n_spatial_folds=1,
            split=CROSS_MEDIA,
            label=CROSS_MEDIA,
        ),
    )

    @classmethod
    def build(cls, raw_dir: Path) -> Scene:
        """Reproject the rasters to MGA 51, clean the sites, ship the cross-media split."""
        folder = raw_dir / "sir_samuel" / "landshark"
        grid, continuous, classes = _rasters(folder)
        valid: NDArray[np.bool_] = np.asarray(np.isfinite(continuous).all(axis=0))
        for codes in classes.values():
            valid &= codes != _CLASS_NODATA
        bands: list[NDArray[np.float64]] = list(continuous)
        names = [name for _, name, is_continuous in _LAYERS if is_continuous]
        for prefix, codes in classes.items():
            for code in np.unique(codes[valid]):  # the classes present on the grid, in order
                bands.append((codes == code).astype(np.float64))
                names.append(f"{prefix}_{int(code)}")
        covariates = stable_float32(np.where(valid, np.stack(bands), np.nan))

        sites = _read_sites(folder)
        x, y = _project(sites)
        media = sites["LITHNAME"].to_numpy().astype(str)
        unknown = sorted(str(m) for m in set(media) - set(MEDIA))
        if unknown:
            raise InvalidInputError(
                f"geochem_sites.dbf: unknown sample media {unknown} in LITHNAME (expected "
                f"{list(MEDIA)}); the raw file changed: check SOURCES and the pinned sha256"
            )
        raw, limits = site_values(sites)
        ids = _ids(sites)
        rows, cols = grid.cell_of(x, y)
        inside = rows >= 0
        on_mask = inside.copy()
        on_mask[inside] = valid[rows[inside], cols[inside]]
        kept = on_mask & (media != LACUSTRINE)
        samples = Samples(
            ids=ids[kept],
            x=x[kept],
            y=y[kept],
            values=half_limit(raw[kept], limits[kept]),
            elements=ELEMENTS,
            limits=limits[kept],
        )
        held_out = ids[kept & (media == ALLUVIUM)]
        split = SampleSplit.fixed(
            samples.ids,
            held_out,
            "train on the sheetwash and soil sites, score at the alluvium sites (LITHNAME)",
        )
        censored = ", ".join(
            f"{el} {n}" for el, n in zip(ELEMENTS, samples.censored.sum(axis=0)) if n
        )
        counts = ", ".join(f"{m.lower()} {int((media[kept] == m).sum())}" for m in MEDIA[:3])
        legend = "; ".join(
            f"{prefix}_<code>: {'lithology unit type' if prefix == 'lith' else 'ASC soil'} "
            "class code (no legend upstream)"
            for prefix in classes
        )
        return Scene(
            name=cls.name,
            version=cls.version,
            grid=grid,
            covariates=covariates,
            band_names=tuple(names),
            valid=valid,
            elements=tuple(Element(el, "mg/kg", "log10") for el in ELEMENTS),
            points=samples,
            licence=cls.licence,
            citation=cls.citation,
            description=(
                f"{cls.summary}. {len(samples)} regolith sites ({counts}); "
                f"{int((media == LACUSTRINE).sum())} lacustrine sites dropped; "
                f"{int((~on_mask & (media != LACUSTRINE)).sum())} samples off the rasters "
                f"dropped; below-detection values (imputed upstream) censored at the declared "
                f"limits: {censored or 'none'}. {legend}."
            ),
            splits={CROSS_MEDIA: split},
        )


#: Nodata of the class maps after reprojection (their own nodata code).
_CLASS_NODATA = 255


def _rasters(
    folder: Path,
) -> tuple[GridSpec, NDArray[np.float64], dict[str, NDArray[np.uint8]]]:
    """The MGA 51 grid, the continuous bands (NaN = nodata) and the class maps (255 = nodata)."""
    from rasterio.warp import Resampling, reproject, transform_bounds

    from geochem_bench.data.geotiff import read_aligned_layers

    fix = "the raw files changed: download them again (geochem-bench download sir-samuel --force)"
    sources = read_aligned_layers([folder / stem for stem, _, _ in _LAYERS], fix, precision=1e-12)
    transform0 = sources[0].transform
    height, width = sources[0].values.shape
    west, north = transform0.c, transform0.f
    east, south = west + width * transform0.a, north + height * transform0.e
    left, bottom, right, top = transform_bounds(
        SOURCE_CRS, CRS, west, south, east, north, densify_pts=21
    )
    # Snapped outwards to whole coarse cells: the grid and its s10 coarse grid both cover the
    # rasters, on round MGA coordinates, whatever the last bits PROJ gives for the corners.
    left, bottom = math.floor(left / ALIGN) * ALIGN, math.floor(bottom / ALIGN) * ALIGN
    right, top = math.ceil(right / ALIGN) * ALIGN, math.ceil(top / ALIGN) * ALIGN
    grid = GridSpec(
        round((top - bottom) / CELL),
        round((right - left) / CELL),
        Affine(CELL, 0.0, left, 0.0, -CELL, top),
        CRS,
    )

    def warp(source: NDArray[Any], fill: float, method: Resampling, transform: Any) -> Any:
        """``source`` (nodata marked by ``fill``) onto the MGA grid, with ``method``."""
        out = np.full(grid.shape, fill, dtype=source.dtype)
        reproject(
            source,
            out,
            src_transform=transform,
            src_crs=SOURCE_CRS,
            src_nodata=fill,
            dst_transform=grid.transform,
            dst_crs=CRS,
            dst_nodata=fill,
            resampling=method,
        )
        return out

    continuous = []
    classes: dict[str, NDArray[np.uint8]] = {}
    for layer, (_, name, is_continuous) in zip(sources, _LAYERS):
        band, nodata = layer.values, layer.nodata
        if is_continuous:  # area-weighted mean of the finer geographic cells
            values = np.where(band == nodata, np.nan, band.astype(np.float64))
            continuous.append(warp(values, np.nan, Resampling.average, layer.transform))
        else:  # class codes are categories: nearest, never averaged
            codes = np.where(band == nodata, _CLASS_NODATA, band).astype(np.uint8)
            classes[name] = warp(codes, _CLASS_NODATA, Resampling.nearest, layer.transform)
    return grid, np.stack(continuous), classes


def _read_sites(folder: Path) -> Any:
    import pyogrio

    sites = pyogrio.read_dataframe(folder / "geochem_sites.shp")
    if sites.crs is None or sites.crs.to_epsg() != 4283:
        raise InvalidInputError(
            f"geochem_sites.prj should describe GDA94 (EPSG:4283), got {sites.crs}; the raw "
            "file changed: download it again (geochem-bench download sir-samuel --force)"
        )
    if (sites.geometry.geom_type != "Point").any():
        raise InvalidInputError("geochem_sites.shp must hold points; the raw file changed")
    return sites


def _project(sites: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """MGA 51 coordinates of the sites, rounded to 1 mm (stable across PROJ builds)."""
    from pyproj import Transformer

    transformer = Transformer.from_crs(SOURCE_CRS, CRS, always_xy=True)
    x, y = transformer.transform(
        sites.geometry.x.to_numpy(dtype=np.float64), sites.geometry.y.to_numpy(dtype=np.float64)
    )
    mx = np.round(np.asarray(x, dtype=np.float64), 3).astype(np.float64)
    my = np.round(np.asarray(y, dtype=np.float64), 3).astype(np.float64)
    return mx, my


def _ids(sites: Any) -> NDArray[np.int64]:
    number = sites["GSWANO"].to_numpy(dtype=np.float64)
    if not (np.isfinite(number).all() and (number == np.round(number)).all()):
        raise InvalidInputError("geochem_sites.dbf: GSWANO must be whole sample numbers")
    ids = number.astype(np.int64)
    if len(np.unique(ids)) != len(ids):
        raise InvalidInputError("geochem_sites.dbf: GSWANO repeats a sample number")
    return ids


def site_values(sites: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Concentrations (N, 39) in ELEMENTS order and their detection limits (NaN: measured).

    A value below its element's declared limit (:data:`DETECTION_LIMITS`) was imputed upstream
    and is censored at that limit; any other value is a measurement.

    Raises:
        InvalidInputError: an ``<El>_ppm_imp`` column is missing, or a value is not a finite
            positive concentration.
    """
    missing = [f"{el}_ppm_imp" for el in ELEMENTS if f"{el}_ppm_imp" not in sites.columns]
    if missing:
        raise InvalidInputError(
            f"geochem_sites.dbf lacks the columns {missing}; the raw file changed: download it "
            "again (geochem-bench download sir-samuel --force)"
        )
    # Exact names: F_ppm_imp_ (the log10 copy of F) starts with F_ppm_imp.
    raw = np.column_stack([sites[f"{el}_ppm_imp"].to_numpy(dtype=np.float64) for el in ELEMENTS])
    bad = ~(np.isfinite(raw) & (raw > 0))
    if bad.any():
        row, col = (int(v[0]) for v in np.nonzero(bad))
        raise InvalidInputError(
            f"geochem_sites.dbf: {ELEMENTS[col]}_ppm_imp of row {row + 1} is {raw[row, col]}, "
            f"not a positive concentration ({int(bad.sum())} such values); the raw file changed"
        )
    limits = np.full_like(raw, np.nan)
    for el, limit in DETECTION_LIMITS.items():
        e = ELEMENTS.index(el)
        below = raw[:, e] < limit
        limits[below, e] = limit
    return raw, limits
