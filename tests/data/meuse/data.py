"""Tiny seeded fake of the Meuse raw files, with the same quirks as the real ones.

No CRS tags, a malformed .prj, nodata -99999 / -1, DEM in cm, holes in twi inside the mask,
image bands over the full rectangle, a point shapefile with the sp field names. One sample
lies off the study area (the real file has none): the build drops it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LAYERS = {
    "landimg2": ("int32", -1),
    "landimg3": ("int32", -1),
    "landimg4": ("int32", -1),
    "dem": ("float32", -99999),
    "slope": ("float32", -99999),
    "twi": ("float32", -99999),
    "mrvbf": ("float32", -99999),
    "rsp": ("float32", -99999),
    "chnl_dist": ("float32", -99999),
    "dist": ("float32", -1),
    "ffreq": ("int32", -1),
    "soil": ("int32", -1),
}
HEIGHT, WIDTH, CELL = 60, 40, 40.0
LEFT, TOP = 178440.0, 333760.0


#: Element columns of ``meuse.shp`` and the scene's symbols for them.
SYMBOLS = {"cadmium": "Cd", "copper": "Cu", "lead": "Pb", "zinc": "Zn"}


def generate(folder: Path, seed: int = 0, edit=None) -> None:
    """Write the fake raw files to ``folder``; ``edit`` changes the samples first.

    ``edit(ids, x, y, values)`` (see ``tests/conftest.py``, ``SampleEdit``) gets the sample ids
    (row order from 1, as the scene numbers them), coordinates (m) and concentrations per
    element, in place.
    """
    import geopandas as gpd
    import rasterio
    from affine import Affine
    from shapely.geometry import Point

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    mask = (xx - 0.3 * yy) > -2  # a slanted study area
    mask &= (xx - 0.3 * yy) < 28
    transform = Affine(CELL, 0, LEFT, 0, -CELL, TOP)
    for name, (dtype, nodata) in LAYERS.items():
        if name.startswith("landimg"):
            data = rng.integers(0, 256, (HEIGHT, WIDTH))
        elif dtype == "int32":
            data = np.where(mask, rng.integers(1, 4, (HEIGHT, WIDTH)), nodata)
        else:
            scale = 4000.0 if name == "dem" else 1.0  # the DEM is in cm
            data = np.where(mask, scale * (1 + rng.random((HEIGHT, WIDTH))), nodata)
            if name == "twi":
                data[5, 5:8] = np.where(mask[5, 5:8], nodata, data[5, 5:8])  # holes inside the mask
        profile = {
            "driver": "GTiff",
            "height": HEIGHT,
            "width": WIDTH,
            "count": 1,
            "dtype": dtype,
            "transform": transform,
            "nodata": nodata,
        }
        with rasterio.open(folder / f"{name}.tif", "w", **profile) as dst:
            dst.write(data.astype(dtype)[None])
    rows, cols = np.nonzero(mask)
    pick = rng.choice(rows.size, 40, replace=False)
    # the 40 samples on the study area, then one off it (its north-east corner cell)
    x = LEFT + (np.r_[cols[pick], WIDTH - 1] + 0.5) * CELL
    y = TOP - (np.r_[rows[pick], 0] + 0.5) * CELL
    assert not mask[0, WIDTH - 1]
    columns = {
        "cadmium": np.r_[np.round(rng.lognormal(0.5, 0.8, 40), 1), 2.5],
        "copper": np.r_[np.round(rng.lognormal(3.5, 0.4, 40), 0), 40.0],
        "lead": np.r_[np.round(rng.lognormal(5.0, 0.5, 40), 0), 150.0],
        "zinc": np.r_[np.round(rng.lognormal(6.0, 0.6, 40), 0), 500.0],
    }
    if edit is not None:
        values = {SYMBOLS[c]: v for c, v in columns.items()}
        edit(np.arange(1, x.size + 1, dtype=np.int64), x, y, values)
        columns = {c: values[SYMBOLS[c]] for c in columns}
    table = gpd.GeoDataFrame(columns, geometry=[Point(a, b) for a, b in zip(x, y)])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no CRS on purpose: the real file has none usable
        table.to_file(folder / "meuse.shp")
    # An ESRI WKT that PROJ misreads as a polar stereographic, like the upstream one.
    (folder / "meuse.prj").write_text(
        'PROJCS["Stereographic_North_Pole",GEOGCS["GCS_Bessel_1841",DATUM["D_Bessel_1841",'
        'SPHEROID["Bessel_1841",6377397.155,299.1528128]],PRIMEM["Greenwich",0],'
        'UNIT["Degree",0.0174532925199433]],PROJECTION["Stereographic_North_Pole"],'
        'PARAMETER["False_Easting",155000],PARAMETER["False_Northing",463000],'
        'PARAMETER["Central_Meridian",5.38763888888889],'
        'PARAMETER["Standard_Parallel_1",52.1561605555556],UNIT["Meter",1]]'
    )
    for extra in ("meuse.cpg",):
        (folder / extra).unlink(missing_ok=True)
