"""Tiny seeded fake of the Sir Samuel raw files (landshark integration data), with their quirks.

Writes exactly the files the scene declares, in the scene's raw folder (``sir_samuel/landshark``):

* four single-band GeoTIFFs on one geographic grid of 15" x 14.988" cells (the upstream
  pixel size, not square in degrees), striped, uncompressed, with the upstream nodata tags:
  ``SirSamualAusMagV6_rtp_ll.tif`` and ``SirSamualAusGravity2011_ll.tif`` (float32, nodata
  -999999, tagged GDA94 with the upstream WKT, which has no top-level EPSG code),
  ``PM_Lithology_Unit_Type.tif`` (uint8 class codes, not contiguous, one dominant class) and
  ``Soil_ASC.tif`` (uint8 codes), both nodata 255 and tagged **EPSG:4326** (WGS 84) while
  sharing the GDA94 pair's grid. Unlike the real rasters, whose rectangle is full, a nodata
  triangle in the south-east corner exercises the valid mask;
* ``geochem_sites.{shp,shx,dbf,prj}``: points in GDA94 lon/lat with 5 decimals and the
  upstream ESRI ``.prj`` (no ``.cpg``), the upstream columns (``GSWANO`` as a float,
  ``DLat`` positive, ``Dlats`` negative, MGA 51 ``EASTING``/``NORTHING`` in whole metres,
  ``SAMPLETYPE`` codes 1-4 beside ``LITHNAME``: Sheetwash, Alluvium, Soil, Lacustrine
  sediment), the 39 ``<El>_ppm_imp`` columns and their log10 copies with DBF-truncated names
  (``<El>_ppm_i_1``, ``<El>_ppm_imp_`` for one-letter symbols). Below-detection values are
  **imputed** without a flag, as upstream: non-round values (6 significant digits) below the
  element's limit; a few reported values sit exactly at the limit. One sample lies in the
  nodata corner (the build drops it; the real file has none off the rasters).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ELEMENTS = (
    "Al", "As", "Ba", "Be", "Ca", "Ce", "Co", "Cr", "Cu", "F", "Fe", "Ga", "K", "La", "Li",
    "Mg", "Mn", "Mo", "Na", "Nb", "Ni", "P", "Pb", "Rb", "S", "Sb", "Sc", "Se", "Si", "Sn",
    "Sr", "Ta", "Th", "Ti", "U", "V", "Y", "Zn", "Zr",
)  # fmt: skip
#: (median mg/kg, log10 spread, decimals reported) of the fake elements, near the real ones.
CHEMISTRY = {
    "Al": (55000, 0.15, 2), "As": (4, 0.45, 1), "Ba": (400, 0.3, 0), "Be": (0.8, 0.2, 1),
    "Ca": (1500, 0.5, 2), "Ce": (35, 0.25, 0), "Co": (6, 0.4, 0), "Cr": (150, 0.45, 0),
    "Cu": (18, 0.37, 0), "F": (80, 0.3, 0), "Fe": (30000, 0.45, 2), "Ga": (12, 0.2, 0),
    "K": (15000, 0.3, 2), "La": (20, 0.25, 0), "Li": (8, 0.3, 0), "Mg": (1500, 0.45, 1),
    "Mn": (200, 0.4, 2), "Mo": (1.5, 0.3, 1), "Na": (3000, 0.5, 2), "Nb": (6, 0.2, 1),
    "Ni": (25, 0.36, 0), "P": (200, 0.3, 2), "Pb": (17, 0.22, 0), "Rb": (60, 0.3, 0),
    "S": (60, 0.3, 0), "Sb": (0.35, 0.38, 1), "Sc": (6, 0.4, 0), "Se": (0.4, 0.35, 1),
    "Si": (340000, 0.05, 0), "Sn": (1.3, 0.3, 1), "Sr": (80, 0.4, 0), "Ta": (0.5, 0.3, 1),
    "Th": (12, 0.2, 0), "Ti": (3000, 0.3, 2), "U": (1.8, 0.25, 1), "V": (60, 0.45, 0),
    "Y": (8, 0.25, 1), "Zn": (25, 0.28, 0), "Zr": (150, 0.2, 0),
}  # fmt: skip
#: Detection limits of the fake (the scene's declared ones, which the build applies).
LIMITS = {
    "As": 2.0, "Ca": 71.47, "Cr": 20.0, "F": 50.0, "Mg": 60.3, "Mn": 77.45, "Mo": 0.5,
    "Na": 74.19, "P": 43.64, "Pb": 2.0, "S": 10.0, "Sb": 0.2, "Sc": 2.0, "Se": 0.2, "Sn": 1.0,
    "Ta": 0.2,
}  # fmt: skip
#: Sites per medium (LITHNAME, SAMPLETYPE code).
MEDIA = {("Sheetwash", 1): 42, ("Alluvium", 2): 40, ("Lacustrine sediment", 3): 6, ("Soil", 4): 16}
#: Reported values set exactly at the limit (kept as measurements by the build).
AT_LIMIT = {"Sb": 4, "Mn": 5, "As": 2}

#: Upstream pixel size (degrees) and the fake grid.
DX, DY = 0.004166666666733818, -0.004163398692877558
WEST, NORTH = 120.40, -27.30
WIDTH, HEIGHT = 84, 76
GDA94_WKT = (
    'GEOGCS["GCS_GEOCENTRIC_DATUM_of_AUSTRALIA",DATUM["Geocentric_Datum_of_Australia_1994",'
    'SPHEROID["GRS 1980",6378137,298.257222101004,AUTHORITY["EPSG","7019"]],'
    'AUTHORITY["EPSG","6283"]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433,'
    'AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST]]'
)
ESRI_PRJ = (
    'GEOGCS["GCS_GDA_1994",DATUM["D_GDA_1994",SPHEROID["GRS_1980",6378137.0,298.257222101]],'
    'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]'
)


def _transform():
    from affine import Affine

    return Affine(DX, 0.0, WEST, 0.0, DY, NORTH)


def _corner() -> np.ndarray:
    """The nodata triangle in the south-east corner of the rasters (rows, cols)."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    return (HEIGHT - 1 - yy) + (WIDTH - 1 - xx) < 14


def _smooth(rng: np.random.Generator, sigma: float) -> np.ndarray:
    from scipy import ndimage

    field = ndimage.gaussian_filter(rng.normal(0.0, 1.0, (HEIGHT, WIDTH)), sigma)
    return field / field.std()


def _write_rasters(folder: Path, rng: np.random.Generator) -> None:
    import rasterio
    from rasterio.crs import CRS

    corner = _corner()
    mag = 250.0 * _smooth(rng, 3) - 20.0
    mag[20:24, 30:60] += 9000.0  # a banded iron formation: a narrow, strong anomaly
    grav = 60.0 * _smooth(rng, 8) - 120.0
    lith = np.ones((HEIGHT, WIDTH), dtype=np.uint8)  # one dominant unit, like class 1 upstream
    lith[_smooth(rng, 4) > 0.9] = 5
    lith[30:40, 10:25] = 10
    lith[55:60, 40:70] = 23
    soil = np.where(_smooth(rng, 6) > 0.6, 3, 7).astype(np.uint8)
    soil[60:, :20] = 11
    layers = {
        "SirSamualAusMagV6_rtp_ll.tif": (mag, "float32", -999999.0, CRS.from_wkt(GDA94_WKT)),
        "SirSamualAusGravity2011_ll.tif": (grav, "float32", -999999.0, CRS.from_wkt(GDA94_WKT)),
        "PM_Lithology_Unit_Type.tif": (lith, "uint8", 255, CRS.from_epsg(4326)),
        "Soil_ASC.tif": (soil, "uint8", 255, CRS.from_epsg(4326)),
    }
    for name, (data, dtype, nodata, crs) in layers.items():
        out = np.where(corner, nodata, data).astype(dtype)
        profile = {
            "driver": "GTiff",
            "height": HEIGHT,
            "width": WIDTH,
            "count": 1,
            "dtype": dtype,
            "crs": crs,
            "transform": _transform(),
            "nodata": nodata,
        }
        with rasterio.open(folder / name, "w", **profile) as dst:
            dst.write(out[None])
            dst.update_tags(DataType="Generic")


def _sites(rng: np.random.Generator):
    """Lon/lat of the sites (5 decimals, on the rasters' data) and one in the nodata corner."""
    from pyproj import Transformer

    n = sum(MEDIA.values())
    # a jittered lattice over the grid, like GSWA's ~1 site per 16 km2 but denser
    gx, gy = np.meshgrid(np.linspace(0.05, 0.92, 11), np.linspace(0.05, 0.92, 10))
    fx = gx.ravel()[: n - 1] + rng.uniform(-0.03, 0.03, n - 1)
    fy = gy.ravel()[: n - 1] + rng.uniform(-0.03, 0.03, n - 1)
    lon = np.r_[WEST + fx * WIDTH * DX, WEST + (WIDTH - 2) * DX]
    lat = np.r_[NORTH + fy * HEIGHT * DY, NORTH + (HEIGHT - 2) * DY]  # last: the nodata corner
    assert _corner()[HEIGHT - 2, WIDTH - 2]
    lon, lat = np.round(lon, 5), np.round(lat, 5)
    to_mga = Transformer.from_crs("EPSG:4283", "EPSG:28351", always_xy=True)
    x, y = to_mga.transform(lon, lat)
    return lon, lat, np.round(np.asarray(x), 3), np.round(np.asarray(y), 3)


def _media(rng: np.random.Generator, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Medium per site: the lacustrine ones in the south (a salt-lake chain), the rest shuffled."""
    n = lat.size
    names = np.empty(n, dtype=object)
    codes = np.zeros(n, dtype=np.float64)
    order = list(np.argsort(lat[:-1], kind="stable"))  # southernmost first; not the corner site
    lake = order[: MEDIA[("Lacustrine sediment", 3)]]
    rest = rng.permutation(order[len(lake) :])
    names[lake], codes[lake] = "Lacustrine sediment", 3.0
    start = 0
    for (name, code), count in MEDIA.items():
        if code == 3:
            continue
        take = rest[start : start + count] if code != 4 else rest[start:]
        names[take], codes[take] = name, float(code)
        start += count
    names[-1], codes[-1] = "Sheetwash", 1.0  # the site in the nodata corner
    return names, codes


def _concentrations(rng: np.random.Generator, n: int, alluvium: np.ndarray) -> dict:
    """Raw ``_imp`` values per element: reported at their precision, imputed below a limit."""
    values = {}
    for el in ELEMENTS:
        median, spread, decimals = CHEMISTRY[el]
        log = np.log10(median) + spread * rng.normal(0.0, 1.0, n) + 0.2 * alluvium
        value = np.round(10.0**log, decimals)
        step = 10.0**-decimals
        value = np.maximum(value, step)  # a reported value is never 0
        limit = LIMITS.get(el)
        if limit is not None:
            value[value < limit] = limit  # reported values never fall below the limit ...
            low = rng.choice(n, max(2, n // 6), replace=False)
            imputed = limit * rng.uniform(0.3, 0.95, low.size)
            # ... imputed ones do, with 6 significant digits and no flag
            value[low] = np.array([_non_round(v) for v in imputed])
            at = np.setdiff1d(np.arange(n), low)[: AT_LIMIT.get(el, 0)]
            value[at] = limit
        values[el] = value
    return values


def _non_round(value: float) -> float:
    """``value`` with 6 significant digits and more than two decimals, like upstream's imputed."""
    out = float(f"{value:.6g}")
    while abs(out * 100.0 - round(out * 100.0)) < 1e-6:  # e.g. 15.75: nudge it off the grid
        value *= 1.0 - 1e-5
        out = float(f"{value:.6g}")
    return out


def _log_name(el: str) -> str:
    """The DBF name of the log10 copy: ``<El>_ppm_imp_log`` truncated to 10 characters."""
    return f"{el}_ppm_imp_" if len(el) == 1 else f"{el}_ppm_i_1"


def generate(folder: Path, seed: int = 0, edit=None) -> None:
    """Write the fake raw files to ``folder`` (``sir_samuel/landshark``), edited by ``edit``.

    ``edit(ids, x, y, values)`` (see ``tests/conftest.py``, ``SampleEdit``) gets the sample ids
    (``GSWANO``, the scene's ids), MGA zone 51 coordinates (the scene's CRS, metres) and the
    ``_imp`` concentrations per element, in place; edited coordinates are written back as
    GDA94 lon/lat with 5 decimals, like the others.
    """
    import warnings

    import geopandas as gpd
    import pandas as pd
    from pyproj import Transformer
    from shapely.geometry import Point

    rng = np.random.default_rng(seed)
    out = folder
    out.mkdir(parents=True, exist_ok=True)
    _write_rasters(out, rng)

    lon, lat, x, y = _sites(rng)
    n = lon.size
    names, codes = _media(rng, lat)
    ids = (131001 + np.sort(rng.choice(np.arange(n + 40), n, replace=False))).astype(np.int64)
    values = _concentrations(rng, n, (codes == 2.0).astype(np.float64))
    if edit is not None:  # after every draw, so that the rest of the fake stays the same
        x0, y0 = x.copy(), y.copy()
        edit(ids, x, y, values)
        moved = (x != x0) | (y != y0)
        to_gda = Transformer.from_crs("EPSG:28351", "EPSG:4283", always_xy=True)
        mlon, mlat = to_gda.transform(x[moved], y[moved])
        lon[moved], lat[moved] = np.round(mlon, 5), np.round(mlat, 5)
    table: dict[str, object] = {
        "DataSet": ["WACHEM"] * n,
        "SampleID": [f"{i}_C1M3SD3" for i in ids],
        "GSWANO": ids.astype(np.float64),
        "Extraction": pd.to_datetime(["2014-06-02"] * n),
        "Batch_No": [f"samreg{1 + k % 6}" for k in range(n)],
        "QMAPID": ["SG51_13"] * n,
        "DLat": -lat,  # positive: the latitude's magnitude
        "Dlats": lat,
        "DLong": lon,
        "EASTING": np.rint(x).astype(np.float64),
        "NORTHING": np.rint(y).astype(np.float64),
        "RELIABILIT": ["Within:100"] * n,
        "SAMPLETYPE": codes,
        "LITHNAME": list(names),
        "SITENO": (395914.0 + np.arange(n)).astype(np.float64),
        "SITEID": [f"REGSRS{i}" for i in ids],
        "ORIGNAME": ["Regolith Geochemical Mapping"] * n,
    }
    table |= {f"{el}_ppm_imp": values[el] for el in ELEMENTS}
    table |= {_log_name(el): np.round(np.log10(values[el]), 6) for el in ELEMENTS}
    sites = gpd.GeoDataFrame(
        table, geometry=[Point(a, b) for a, b in zip(lon, lat)], crs="EPSG:4283"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL notes about field widths
        sites.to_file(out / "geochem_sites.shp", driver="ESRI Shapefile")
    (out / "geochem_sites.prj").write_text(ESRI_PRJ)  # upstream's ESRI WKT, not GDAL's
    (out / "geochem_sites.cpg").unlink(missing_ok=True)  # upstream ships none
