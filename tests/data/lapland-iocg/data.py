"""Tiny seeded fake of the Lapland IOCG raw files (eis_toolkit test area), with their quirks.

Writes exactly the files the scene declares, in the upstream layout:

* ``AEM/IOCG_AEM_1.tif``: the 50 m AEM in-phase grid as ArcGIS's ``CopyRaster`` to **uint32**
  left it: values rounded, negative in-phase values *and* the outside-polygon nodata (-1e32)
  both written as **0**, **no nodata tag**; LZW, 128 x 128 tiles; the EUREF_FIN_TM35FIN WKT
  with AUTHORITY EPSG 3067 (which rasterio matches to EPSG 25835);
* ``shps/EIS_IOCG_target_area.*``: one polygon whose attributes belong to the parent Lapland
  region (``Area_km2`` 336805, ``NAMEFIN`` Lappi), not to the clip;
* ``shps/IOCG_CLB_Lith_Asstn_1M.*``: lithological associations with DigiKP integer codes
  (``ROCK_NAME``, not contiguous) and labels (``ROCK_NAME_``), Polygons and a MultiPolygon,
  not covering the south of the area (cells with no rock association);
* ``shps/IOCG_CLB_Structures_1M.*``: fault lines;
* every shapefile with the ESRI ``.prj`` of upstream and a ``UTF-8`` ``.cpg``;
* ``Mag/IOCG_Mag_grysc_DGRF65_anom_.tif.{ovr,xml}`` and
  ``Rad/IOCG_Gm_Rd_{K_,Th_eq_,U_eq_}.tif.{ovr,xml}``: the magnetic and gamma-ray grids as
  upstream has them, **pyramids only**.
  A 50 m base field is drawn on each base grid (the base width is odd, 201 cells, like the
  real 1361, so level 1 has non-square cells: 201 x 50 / 101 = 99.5 m) with nodata outside
  the polygon (-1e32 Mag, -999999 Rad); its level 1 is the ArcGIS NEAREST subsample (base cell
  ``(2i, round(j * 201 / 101))``), written as a plain TIFF with **no georeferencing** (no
  GeoTIFF tags), the nodata tag, deflate, 128-pixel tiles and two internal overviews; the
  ``.tif.xml`` ESRI metadata holds the base extent (``nativeExtBox``), the base dimensions and
  the CRS (``refSysInfo``, which GDAL reads for the ``.ovr`` beside it). The gamma-ray base
  grid sits **6.04 m west and 4.44 m north** of the magnetic/AEM grid, as upstream. Values are
  quantised to binary fractions so that deflate keeps the fakes small; about 5 % of the
  gamma-ray values are negative. (Not reproduced: the real sidecars mark even their first
  image as reduced-resolution, NewSubfileType 1, which GDAL ignores.)
* ``IOCG_CLB_Till_Geochem_reg_511p.gpkg`` (layer ``iocg_clb_till_geochem_reg_511p``, EPSG:3067):
  till samples with the DBF-truncated field names (``Al_ppm_511``, ``K_ppm_511P``) and a flag
  ``<El>_511P_T`` per element: below-detection values stored as **0.0** with flag ``<`` (the
  limit unknown), one ``<`` value holding its limit (GTK's convention when the limit is
  known), zeros without a flag, the undocumented ``!`` flag; ``OBJECTID`` unique but not
  sequential, ``Observatio`` not unique, ``Year`` a two-digit string, ``Analysis_d`` shared by
  the samples of one laboratory run; a few samples outside the target polygon (inside the
  grid), which the build drops (the real file has none there; it loses one sample at the
  polygon's edge, where the magnetic pyramid is nodata).

Everything but the till survey is written by :func:`generate_geophysics`, which
``tests/data/lapland-radiometrics/data.py`` calls too: the two scenes share these raw files,
so their fakes must be the same bytes, as the real files are.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

ELEMENTS = (
    "Al", "Ba", "Ca", "Co", "Cr", "Cu", "Fe", "K", "La", "Li", "Mg",
    "Mn", "Ni", "P", "Sc", "Sr", "Th", "Ti", "V", "Y", "Zn", "Zr",
)  # fmt: skip
#: Median concentrations (mg/kg) of the fake till.
MEDIANS = {
    "Al": 12000, "Ba": 25, "Ca": 5000, "Co": 8, "Cr": 40, "Cu": 25, "Fe": 20000, "K": 600,
    "La": 11, "Li": 8, "Mg": 6000, "Mn": 200, "Ni": 20, "P": 500, "Sc": 4, "Sr": 8, "Th": 5,
    "Ti": 1000, "V": 40, "Y": 6, "Zn": 30, "Zr": 4,
}  # fmt: skip
#: Censoring per element: (below detection, flag "<", value 0.0), (zeros without flag).
CENSORED = {"Zr": (12, 3), "Th": (4, 2), "K": (2, 0), "Co": (1, 0), "Cr": (0, 1), "Ni": (0, 1)}
#: Below-detection values that hold their limit (flag "<", value = the limit, mg/kg).
LIMIT_RECORDED = {"Co": 0.5}
#: Days between laboratory runs: samples analysed within one such span share a date.
RUN_DAYS = 400
CHECK_MARKED = {"Zr": 5, "Th": 9, "Li": 3, "K": 2}  # the undocumented "!" flag
HEIGHT, WIDTH, CELL = 240, 201, 50.0  # odd width, like the real 1361
LEFT, TOP = 345975.0, 7540125.0
RIGHT, BOTTOM = LEFT + WIDTH * CELL, TOP - HEIGHT * CELL
#: The gamma-ray grids' origin minus the magnetic/AEM grids' (the real .tif.xml extents).
RAD_SHIFT = (345968.964579 - 345975.0, 7540129.440822 - 7540125.0)
MAG_NODATA = np.float32(-1e32)
RAD_NODATA = -999999.0
#: The pyramid layers: raw stem, nodata, base-grid shift, quantum of the values.
PYRAMIDS = {
    "Mag/IOCG_Mag_grysc_DGRF65_anom_": (MAG_NODATA, (0.0, 0.0), 0.25),
    "Rad/IOCG_Gm_Rd_K_": (RAD_NODATA, RAD_SHIFT, 1 / 256),
    "Rad/IOCG_Gm_Rd_Th_eq_": (RAD_NODATA, RAD_SHIFT, 1 / 64),
    "Rad/IOCG_Gm_Rd_U_eq_": (RAD_NODATA, RAD_SHIFT, 1 / 128),
}
ROCKS = {  # DigiKP ROCK_NAME code: label
    211114: "Gabbroic rock",
    21342: "Quartzite",
    21124221: "Basaltic komatite",
    213491: "Biotite paragneiss",
}
TIFF_WKT = (
    'PROJCS["EUREF_FIN_TM35FIN",GEOGCS["EUREF-FIN",DATUM["European_Terrestrial_Reference_System_'
    '1989",SPHEROID["GRS 1980",6378137,298.257222101,AUTHORITY["EPSG","7019"]],AUTHORITY["EPSG",'
    '"6258"]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_'
    'meridian",27],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER['
    '"false_northing",0],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["No'
    'rthing",NORTH],AUTHORITY["EPSG","3067"]]'
)
ESRI_PRJ = (
    'PROJCS["EUREF_FIN_TM35FIN",GEOGCS["GCS_EUREF_FIN",DATUM["D_ETRS_1989",SPHEROID["GRS_1980",'
    '6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],'
    'PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_'
    'Northing",0.0],PARAMETER["Central_Meridian",27.0],PARAMETER["Scale_Factor",0.9996],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)


def _transform(shift: tuple[float, float] = (0.0, 0.0)):
    from affine import Affine

    return Affine(CELL, 0.0, LEFT + shift[0], 0.0, -CELL, TOP + shift[1])


def _xy(fx: float, fy: float) -> tuple[float, float]:
    """Map coordinates of a point given as fractions of the grid (0, 0 = south-west)."""
    return LEFT + fx * (RIGHT - LEFT), BOTTOM + fy * (TOP - BOTTOM)


def target_area():
    """The target-area polygon: an irregular heptagon over ~80 % of the grid."""
    from shapely.geometry import Polygon

    corners = [
        (0.02, 0.1),
        (0.45, 0.0),
        (0.98, 0.08),
        (1.0, 0.7),
        (0.8, 1.0),
        (0.2, 0.98),
        (0.0, 0.6),
    ]
    return Polygon([_xy(*c) for c in corners])


def _geotiff_tags() -> dict[int, tuple[int, int, bytes]]:
    """The GeoTIFF keys ArcGIS wrote (tag: (TIFF type, count, little-endian payload)).

    ProjectedCSTypeGeoKey 3067 with a *user-defined* geographic CRS on datum 6258 (ETRS89) and
    ESRI citations: GDAL reads that back as the EUREF_FIN_TM35FIN WKT with AUTHORITY EPSG 3067
    that rasterio's ``to_epsg()`` reports as 25835. Plus a GDAL_NODATA of -1e32, meaningless
    for uint32 (rasterio reports no nodata). GDAL cannot be asked to write these keys.
    """
    import struct

    pcs = "PCS Name = EUREF_FIN_TM35FIN|"
    gcs = "GCS Name = GCS_EUREF_FIN|Datum = D_ETRS_1989|Ellipsoid = GRS_1980|Primem = Greenwich||"
    pe = f"ESRI PE String = {ESRI_PRJ}|"
    ascii_params = pcs + gcs + pe
    keys = [
        (1024, 0, 1, 1),  # model type: projected
        (1025, 0, 1, 1),  # raster type: pixel is area
        (1026, 34737, len(pcs), 0),
        (2048, 0, 1, 32767),  # geographic CRS: user-defined ...
        (2049, 34737, len(gcs), len(pcs)),
        (2050, 0, 1, 6258),  # ... on datum ETRS89
        (2051, 0, 1, 8901),
        (2054, 0, 1, 9102),
        (2055, 34736, 1, 0),
        (2056, 0, 1, 7019),
        (2057, 34736, 1, 1),
        (2059, 34736, 1, 2),
        (2061, 34736, 1, 3),
        (3072, 0, 1, 3067),  # projected CRS: EPSG 3067
        (3073, 34737, len(pe), len(pcs) + len(gcs)),
        (3076, 0, 1, 9001),
    ]
    directory = [1, 1, 0, len(keys), *(v for key in keys for v in key), 0, 0, 0, 0]
    doubles = (0.0174532925199433, 6378137.0, 298.257222101, 0.0)
    nodata = b"-1.0000000331813535e+032\0"
    return {
        34735: (3, len(directory), struct.pack(f"<{len(directory)}H", *directory)),
        34736: (12, len(doubles), struct.pack("<4d", *doubles)),
        34737: (2, len(ascii_params) + 1, ascii_params.encode() + b"\0"),
        42113: (2, len(nodata), nodata),
    }


def _retag(path: Path, tags: dict[int, tuple[int, int, bytes]]) -> None:
    """Replace or add tags of a little-endian classic TIFF with one IFD (rewritten at the end)."""
    import struct

    data = bytearray(path.read_bytes())
    assert data[:4] == b"II*\0", "expected a little-endian classic TIFF"
    ifd = struct.unpack_from("<I", data, 4)[0]
    count = struct.unpack_from("<H", data, ifd)[0]
    entries = {}
    for i in range(count):
        tag, kind, n, value = struct.unpack_from("<HHI4s", data, ifd + 2 + 12 * i)
        entries[tag] = (kind, n, value)
    next_ifd = struct.unpack_from("<I", data, ifd + 2 + 12 * count)[0]
    assert next_ifd == 0, "expected a single image"
    for tag, (kind, n, payload) in tags.items():
        if len(payload) <= 4:
            entries[tag] = (kind, n, payload.ljust(4, b"\0"))
        else:
            data += b"\0" * (len(data) % 2)
            entries[tag] = (kind, n, struct.pack("<I", len(data)))
            data += payload
    data += b"\0" * (len(data) % 2)
    struct.pack_into("<I", data, 4, len(data))
    data += struct.pack("<H", len(entries))
    for tag in sorted(entries):
        data += struct.pack("<HHI4s", tag, *entries[tag])
    data += struct.pack("<I", 0)
    path.write_bytes(bytes(data))


def _write_shapefile(folder: Path, stem: str, frame) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL notes about truncated/laundered field widths
        frame.to_file(
            folder / f"{stem}.shp",
            driver="ESRI Shapefile",
            encoding="UTF-8",
            # the DBF header holds a date, today's by default: a fixed one keeps the bytes of
            # two generators (this scene's and lapland-radiometrics') the same on any day
            DBF_DATE_LAST_UPDATE="2022-06-22",
        )
    (folder / f"{stem}.prj").write_text(ESRI_PRJ)  # upstream's ESRI WKT, not GDAL's
    (folder / f"{stem}.cpg").write_text("UTF-8")


def _aem(rng: np.random.Generator, area) -> np.ndarray:
    """The float in-phase grid, nodata outside the polygon, copied to uint32 like ArcGIS."""
    from rasterio import features
    from scipy import ndimage

    field = ndimage.gaussian_filter(rng.normal(0, 1, (HEIGHT, WIDTH)), 6)
    field = 300 * field / field.std() + 150  # ppm of the primary field; some cells negative
    inside = features.rasterize(
        [(area, 1)], out_shape=(HEIGHT, WIDTH), transform=_transform()
    ).astype(bool)
    field[~inside] = -1e32  # the float grid's nodata
    out = np.rint(field)
    out[out < 0] = 0  # CopyRaster to 32-bit unsigned: negatives and nodata both become 0
    return out.astype(np.uint32)


def _inside(area, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    from rasterio import features

    return features.rasterize(
        [(area, 1)], out_shape=(HEIGHT, WIDTH), transform=_transform(shift)
    ).astype(bool)


def base_field(rng: np.random.Generator, stem: str, area) -> np.ndarray:
    """The 50 m base grid of a pyramid layer (missing upstream), nodata outside the polygon."""
    from scipy import ndimage

    nodata, shift, quantum = PYRAMIDS[stem]
    smooth = ndimage.gaussian_filter(rng.normal(0, 1, (HEIGHT, WIDTH)), 5)
    smooth /= smooth.std()
    noise = rng.normal(0, 1, (HEIGHT, WIDTH))
    if stem.startswith("Mag/"):  # nT: a smooth anomaly field with two strong highs
        rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
        highs = sum(
            3000 * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 40)
            for r, c in rng.integers(20, 180, (2, 2))
        )
        values = 50 + 400 * smooth + 80 * noise + highs
    elif stem.endswith("_K_"):  # %
        values = 1.2 + 0.6 * smooth + 0.3 * noise
    elif stem.endswith("_Th_eq_"):  # ppm, right-skewed
        values = 10 ** (0.5 + 0.3 * smooth) + 1.0 * noise
    else:  # eU, ppm, right-skewed
        values = 10 ** (-0.1 + 0.3 * smooth) + 0.45 * noise
    values = np.round(values / quantum) * quantum  # binary fractions: deflate keeps it small
    values[~_inside(area, shift)] = nodata
    return values.astype(np.float32)


def level1(base: np.ndarray) -> np.ndarray:
    """ArcGIS's NEAREST pyramid level 1: base cell ``(2i, round(j * W / w))`` (as measured on
    the real AEM, whose base and pyramid both exist)."""
    h, w = -(-base.shape[0] // 2), -(-base.shape[1] // 2)
    rows = np.minimum(np.rint(np.arange(h) * base.shape[0] / h), base.shape[0] - 1)
    cols = np.minimum(np.rint(np.arange(w) * base.shape[1] / w), base.shape[1] - 1)
    return base[np.ix_(rows.astype(int), cols.astype(int))]


def _write_pyramid(path: Path, base: np.ndarray, nodata: float) -> None:
    """A bare ArcGIS pyramid sidecar: level 1 and two internal overviews, no georeferencing."""
    import warnings

    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import NotGeoreferencedWarning

    data = level1(base)
    profile = {
        "driver": "GTiff",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": "float32",
        "nodata": float(nodata),
        "compress": "deflate",
        "tiled": True,
        "blockxsize": 128,
        "blockysize": 128,
    }  # no crs, no transform: the sidecar has no GeoTIFF tags
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data[None])
            dst.build_overviews([2, 4], Resampling.nearest)


def _esri_xml(stem: str, nodata: float, shift: tuple[float, float]) -> str:
    """The ArcGIS metadata ``<raster>.tif.xml``: base extent and size, CRS, nodata, lineage."""
    from html import escape

    west, north = LEFT + shift[0], TOP + shift[1]
    east, south = west + WIDTH * CELL, north - HEIGHT * CELL
    name = stem.split("/")[-1] + ".tif"
    wkt = ESRI_PRJ[:-1] + ',AUTHORITY["EPSG",3067]]'
    pe = (
        "<ProjectedCoordinateSystem xsi:type='typens:ProjectedCoordinateSystem' "
        "xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' "
        "xmlns:typens='http://www.esri.com/schemas/ArcGIS/10.6'>"
        f"<WKT>{escape(wkt)}</WKT><WKID>102139</WKID><LatestWKID>3067</LatestWKID>"
        "</ProjectedCoordinateSystem>"
    )
    nodata_text = "-1e+32" if nodata == MAG_NODATA else f"{nodata:g}"
    corners = "".join(
        f'<cornerPts><pos Sync="TRUE">{x:.6f} {y:.6f}</pos></cornerPts>'
        for x, y in ((west, south), (west, north), (east, north), (east, south))
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<metadata xml:lang="en"><Esri>'
        "<CreaDate>20220622</CreaDate><CreaTime>09323700</CreaTime>"
        "<ArcGISFormat>1.0</ArcGISFormat><SyncOnce>FALSE</SyncOnce><DataProperties><itemProps>"
        f'<itemName Sync="TRUE">{name}</itemName><nativeExtBox>'
        f'<westBL Sync="TRUE">{west:.6f}</westBL><eastBL Sync="TRUE">{east:.6f}</eastBL>'
        f'<southBL Sync="TRUE">{south:.6f}</southBL><northBL Sync="TRUE">{north:.6f}</northBL>'
        '<exTypeCode Sync="TRUE">1</exTypeCode></nativeExtBox></itemProps><coordRef>'
        '<type Sync="TRUE">Projected</type><projcsn Sync="TRUE">EUREF_FIN_TM35FIN</projcsn>'
        f'<peXml Sync="TRUE">{escape(pe, quote=False)}</peXml></coordRef><RasterProperties>'
        '<General><PixelDepth Sync="TRUE">32</PixelDepth><CompressionType Sync="TRUE">LZW'
        '</CompressionType><NumBands Sync="TRUE">1</NumBands><Format Sync="TRUE">TIFF</Format>'
        '<HasPyramids Sync="TRUE">TRUE</HasPyramids><PixelType Sync="TRUE">floating point'
        f'</PixelType><NoDataValue Sync="TRUE">{nodata_text}</NoDataValue></General>'
        '</RasterProperties><lineage><Process Date="20220622" Time="092934">Clip '
        f"GRIDS\\{name} EIS_IOCG_target_area ClippingGeometry NO_MAINTAIN_EXTENT</Process>"
        "</lineage></DataProperties></Esri>"
        # GDAL takes the pyramid's CRS from here (the .ovr has none of its own)
        '<refSysInfo><RefSystem><refSysID><identCode code="3067" Sync="TRUE"></identCode>'
        '<idCodeSpace Sync="TRUE">EPSG</idCodeSpace></refSysID></RefSystem></refSysInfo>'
        '<spatRepInfo><Georect><numDims Sync="TRUE">2'
        f"</numDims>{corners}"
        f'<axisDimension type="002"><dimSize Sync="TRUE">{WIDTH}</dimSize><dimResol>'
        f'<value Sync="TRUE" uom="m">{CELL:.6f}</value></dimResol></axisDimension>'
        f'<axisDimension type="001"><dimSize Sync="TRUE">{HEIGHT}</dimSize><dimResol>'
        f'<value Sync="TRUE" uom="m">{CELL:.6f}</value></dimResol></axisDimension>'
        "</Georect></spatRepInfo></metadata>"
    )


def _lithology(area):
    from shapely.geometry import MultiPolygon, Polygon, box

    north = box(*_xy(0.0, 0.25), *_xy(1.0, 1.0)).intersection(area.buffer(400))
    xmin, ymin, xmax, ymax = north.bounds
    cuts = np.linspace(xmin, xmax, 4)
    parts = [north.intersection(box(a, ymin, b, ymax)) for a, b in itertools.pairwise(cuts)]
    # a fourth association in two separate pieces, cut from the first and the last strip
    lens_a = Polygon([_xy(0.1, 0.8), _xy(0.25, 0.8), _xy(0.25, 0.9), _xy(0.1, 0.9)])
    lens_b = Polygon([_xy(0.75, 0.4), _xy(0.9, 0.4), _xy(0.9, 0.5), _xy(0.75, 0.5)])
    parts[0], parts[2] = parts[0].difference(lens_a), parts[2].difference(lens_b)
    return [*parts, MultiPolygon([lens_a, lens_b])]


def _till(rng: np.random.Generator, area, edit=None):
    import pandas as pd
    from shapely.geometry import Point

    # a jittered ~1.2 km lattice, like GTK's one sample per 4 km2 but denser
    gx, gy = np.meshgrid(np.arange(0.05, 1.0, 0.11), np.arange(0.04, 1.0, 0.09))
    fx = np.clip(gx.ravel() + rng.uniform(-0.03, 0.03, gx.size), 0.005, 0.995)
    fy = np.clip(gy.ravel() + rng.uniform(-0.03, 0.03, gy.size), 0.005, 0.995)
    x = np.round(LEFT + fx * (RIGHT - LEFT), 4)
    y = np.round(BOTTOM + fy * (TOP - BOTTOM), 4)
    n = x.size
    table: dict[str, object] = {
        "OBJECTID": np.sort(rng.choice(np.arange(1000, 9000), n, replace=False)).astype(np.int64),
        "Year": rng.choice(["77", "79", "81", "82", "91"], n),
        "Observatio": rng.integers(49100, 49100 + n // 2, n).astype(str),  # not unique
        "Northing": np.rint(y).astype(np.int64),
        "Easting": np.rint(x).astype(np.int64),
        "Northing_k": np.rint(y + 3145).astype(np.int64),
        "Easting_kk": np.rint(x + 3000134).astype(np.int64),
        "Map_sheet_": np.full(n, "2741"),
        "Map_sheet1": rng.integers(10, 13, n).astype(str),
        "Material": np.full(n, "till"),
        "Soil_horiz": np.full(n, "C"),
        "Sampler": np.where(rng.random(n) < 0.05, "Auger drilling", "percussion drilling/Cobra"),
        "Parallel_s": np.full(n, None, dtype=object),
        "Combined_s": np.full(n, "Y"),
        "Fraction": np.full(n, "sieved, <0.06 mm (fine)"),
        "Second_ana": np.full(n, None, dtype=object),
        "Analysis_d": pd.to_datetime("1986-06-12")
        + pd.to_timedelta(rng.integers(0, 2300, n) // RUN_DAYS * RUN_DAYS, unit="D"),
    }
    order = rng.permutation(n)
    used = 0
    for el in ELEMENTS:
        value = np.round(rng.lognormal(np.log(MEDIANS[el]), 0.5, n), 2)
        flag = np.full(n, None, dtype=object)
        below, zeros = CENSORED.get(el, (0, 0))
        marked = CHECK_MARKED.get(el, 0)
        recorded = int(el in LIMIT_RECORDED)
        picks = order[used % n :][: below + zeros + marked + recorded]
        used += below + zeros + marked + recorded
        value[picks[: below + zeros]] = 0.0  # "<" with an unknown limit, then unflagged zeros
        flag[picks[:below]] = "<"
        flag[picks[below + zeros : below + zeros + marked]] = "!"
        if recorded:  # "<" holding its limit
            value[picks[-1]] = LIMIT_RECORDED[el]
            flag[picks[-1]] = "<"
        table[f"{el}_ppm_511P"[:10]] = value
        table[f"{el}_511P_T"] = flag
    if edit is not None:  # after every draw, so that the rest of the fake stays the same
        columns = {el: f"{el}_ppm_511P"[:10] for el in ELEMENTS}
        values = {el: np.array(table[col], dtype=np.float64) for el, col in columns.items()}
        x, y = x.copy(), y.copy()
        edit(table["OBJECTID"], x, y, values)  # OBJECTID: the scene's sample ids
        table |= {col: values[el] for el, col in columns.items()}
        table |= {"Northing": np.rint(y).astype(np.int64), "Easting": np.rint(x).astype(np.int64)}
    return pd.DataFrame(table), [Point(a, b) for a, b in zip(x, y)]


def generate(folder: Path, seed: int = 0, edit=None) -> None:
    """Write the fake raw files to ``folder``; ``edit`` changes the till survey first.

    ``edit(ids, x, y, values)`` (see ``tests/conftest.py``, ``SampleEdit``) gets the sample ids
    (``OBJECTID``), coordinates (EPSG:3067) and concentrations per element, in place.
    """
    import geopandas as gpd

    rng = np.random.default_rng(seed)
    generate_geophysics(folder, rng)
    table, points = _till(rng, target_area(), edit)
    till = gpd.GeoDataFrame(table, geometry=points, crs="EPSG:3067")
    path = folder / "IOCG_CLB_Till_Geochem_reg_511p.gpkg"
    path.unlink(missing_ok=True)
    till.to_file(path, driver="GPKG", layer="iocg_clb_till_geochem_reg_511p")


def generate_geophysics(folder: Path, rng: np.random.Generator) -> None:
    """Every raw file but the till survey: the AEM, the Mag and gamma-ray pyramids (not the
    total count, which neither scene reads) and the shapefiles; ``rng`` fresh from the seed."""
    import geopandas as gpd
    import rasterio
    from rasterio.crs import CRS
    from shapely.geometry import LineString

    (folder / "AEM").mkdir(parents=True, exist_ok=True)
    shps = folder / "shps"
    shps.mkdir(exist_ok=True)
    area = target_area()

    profile = {
        "driver": "GTiff",
        "height": HEIGHT,
        "width": WIDTH,
        "count": 1,
        "dtype": "uint32",
        "crs": CRS.from_wkt(TIFF_WKT),  # keys replaced below
        "transform": _transform(),
        "compress": "lzw",
        "tiled": True,
        "blockxsize": 128,
        "blockysize": 128,
    }  # no nodata on purpose
    aem = folder / "AEM" / "IOCG_AEM_1.tif"
    with rasterio.open(aem, "w", **profile) as dst:
        dst.write(_aem(rng, area)[None])
        dst.update_tags(DataType="Generic")
    _retag(aem, _geotiff_tags())

    for stem, (nodata, shift, _) in PYRAMIDS.items():
        (folder / stem).parent.mkdir(exist_ok=True)
        _write_pyramid(folder / f"{stem}.tif.ovr", base_field(rng, stem, area), nodata)
        (folder / f"{stem}.tif.xml").write_text(_esri_xml(stem, nodata, shift))

    crs = "EPSG:3067"
    parent = {  # the parent Lapland region's attributes, left over on the clip
        "OBJECTID": [1],
        "FID_Suomi_": [1],
        "Perim_km": [9544.649344],
        "Area_km2": [336805.166217],
        "FID_Maakun": [12],
        "GML_ID": [1601010054.0],
        "NATCODE": ["19"],
        "NAMEFIN": ["Lappi"],
        "NAMESWE": ["Lappland"],
        "SHAPE_Leng": [2191990.73894],
        "Shape_Le_1": [2229585.11673],
        "Shape_Area": [98856955001.6],
        "POLY_AREA": [98856.955002],
    }
    _write_shapefile(
        shps, "EIS_IOCG_target_area", gpd.GeoDataFrame(parent, geometry=[area], crs=crs)
    )

    codes = list(ROCKS)
    pieces = _lithology(area)
    lith = gpd.GeoDataFrame(
        {
            "OBJECTID": np.arange(3985, 3985 + len(pieces), dtype=np.int64),
            "EON": np.full(len(pieces), 2, dtype=np.int64),
            "EON_": ["Proterozoic"] * len(pieces),
            "ROCK_CLASS": np.array([2113, 2134, 2112, 2134], dtype=np.int64),
            "ROCK_CLA_1": [
                "Hypabyssal rock",
                "Metamorphic rock",
                "Volcanic rock",
                "Metamorphic rock",
            ],
            "ROCK_NAME": np.array(codes, dtype=np.int64),
            "ROCK_NAME_": [ROCKS[c] for c in codes],
            "SHAPE_Area": [p.area for p in pieces],
        },
        geometry=pieces,
        crs=crs,
    )
    _write_shapefile(shps, "IOCG_CLB_Lith_Asstn_1M", lith)

    lines = [
        LineString([_xy(0.1, 0.2), _xy(0.5, 0.55), _xy(0.9, 0.95)]),
        LineString([_xy(0.6, 0.05), _xy(0.65, 0.9)]),
        LineString([_xy(0.05, 0.7), _xy(0.4, 0.75)]),
    ]
    faults = gpd.GeoDataFrame(
        {
            "OBJECTID": np.array([45, 82, 115], dtype=np.int64),
            "STRUCTURAL": np.array([2211, 2211, 2231], dtype=np.int64),
            "STRUCTUR_1": ["Unspecified major fault zone"] * 2 + ["Thrust fault"],
            "BASIS": np.array([5, 1, 4], dtype=np.int64),
            "BASIS_": ["interpreted from magnetic map", "digitized from 1:100 000 map", "observed"],
            "NAME": ["Äkäsjoki shear zone", "Enontekiö shear zone", None],
            "SHAPE_Leng": [g.length for g in lines],
        },
        geometry=lines,
        crs=crs,
    )
    _write_shapefile(shps, "IOCG_CLB_Structures_1M", faults)
