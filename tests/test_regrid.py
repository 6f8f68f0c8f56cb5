"""Reading ArcGIS pyramids without their base raster, and moving bands between grids."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from affine import Affine

from geochem_bench.core.grid import GridSpec
from geochem_bench.data.arcgis import (
    BaseRaster,
    nearest_pyramid_source,
    read_base_raster,
    read_pyramid_level,
)
from geochem_bench.data.regrid import mean_onto, nearest_onto
from geochem_bench.errors import InvalidInputError

XML = """<?xml version="1.0" encoding="UTF-8"?>
<metadata><Esri><DataProperties><itemProps><nativeExtBox>
<westBL>{west}</westBL><eastBL>{east}</eastBL><southBL>{south}</southBL><northBL>{north}</northBL>
</nativeExtBox></itemProps></DataProperties></Esri>
<spatRepInfo><Georect>
<axisDimension type="002"><dimSize>{width}</dimSize><dimResol><value uom="m">50</value></dimResol>
</axisDimension>
<axisDimension type="001"><dimSize>{height}</dimSize><dimResol><value uom="m">50</value></dimResol>
</axisDimension></Georect></spatRepInfo></metadata>"""


def _xml(tmp_path, **changes):
    values = {"west": 1000.0, "east": 1150.0, "south": 2000.0, "north": 2200.0}
    values |= {"width": 3, "height": 4} | changes
    path = tmp_path / "r.tif.xml"
    path.write_text(XML.format(**values))
    return path


def test_base_raster_from_esri_metadata_and_its_level_grids(tmp_path):
    base = read_base_raster(_xml(tmp_path))
    assert base == BaseRaster(1000.0, 1150.0, 2000.0, 2200.0, 3, 4)
    assert base.level_shape(1) == (2, 2) and base.level_shape(2) == (1, 1)
    grid = base.level_grid(1, "EPSG:3067")
    # the base extent in ceil(n / 2) cells: 75 m wide (3 base columns of 50 m), 100 m tall
    assert grid.transform == Affine(75.0, 0, 1000.0, 0, -100.0, 2200.0)
    assert grid.bounds == (1000.0, 2000.0, 1150.0, 2200.0)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"east": 1200.0}, r"east - west = 200\.0 is not 3 cells of 50\.0"),
        ({"height": 5}, r"north - south = 200\.0 is not 5 cells of 50\.0"),
    ],
)
def test_metadata_that_contradicts_itself_is_refused(tmp_path, changes, match):
    with pytest.raises(InvalidInputError, match=match):
        read_base_raster(_xml(tmp_path, **changes))


def test_metadata_without_an_extent_is_refused(tmp_path):
    path = tmp_path / "r.tif.xml"
    path.write_text("<metadata><Esri/></metadata>")
    with pytest.raises(InvalidInputError, match="has no Esri/DataProperties/itemProps/"):
        read_base_raster(path)
    path.write_text("<metadata>")
    with pytest.raises(InvalidInputError, match="cannot read the ESRI metadata"):
        read_base_raster(path)


def _sidecar(path, data, nodata, **profile):
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import NotGeoreferencedWarning

    options = {"driver": "GTiff", "count": 1, "dtype": "float32", "nodata": nodata}
    options |= {"height": data.shape[0], "width": data.shape[1]} | profile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **options) as dst:
            dst.write(data[None])
            dst.build_overviews([2], Resampling.nearest)


def test_pyramid_levels_read_with_nodata_as_nan(tmp_path):
    base = BaseRaster(0.0, 150.0, 0.0, 200.0, 3, 4)  # level 1: 2 x 2, level 2: 1 x 1
    data = np.array([[1.5, -999999.0], [-0.25, 4.0]], dtype=np.float32)
    _sidecar(tmp_path / "r.tif.ovr", data, -999999.0)
    level = read_pyramid_level(tmp_path / "r.tif.ovr", base)
    np.testing.assert_array_equal(level, [[1.5, np.nan], [-0.25, 4.0]])
    assert read_pyramid_level(tmp_path / "r.tif.ovr", base, level=2).shape == (1, 1)
    with pytest.raises(InvalidInputError, match="has no pyramid level 3"):
        read_pyramid_level(tmp_path / "r.tif.ovr", base, level=3)
    other = BaseRaster(0.0, 250.0, 0.0, 200.0, 5, 4)  # would need 3 columns at level 1
    with pytest.raises(InvalidInputError, match=r"level 1 is 2 x 2, the base raster \(4 x 5\)"):
        read_pyramid_level(tmp_path / "r.tif.ovr", other)


def test_a_georeferenced_file_is_not_read_as_a_bare_pyramid(tmp_path):
    data = np.ones((2, 2), dtype=np.float32)
    _sidecar(tmp_path / "g.tif", data, None, transform=Affine(75, 0, 0, 0, -100, 200))
    with pytest.raises(InvalidInputError, match="has a geotransform of its own"):
        read_pyramid_level(tmp_path / "g.tif", BaseRaster(0.0, 150.0, 0.0, 200.0, 3, 4))


def test_nearest_pyramid_source_on_even_and_odd_axes():
    np.testing.assert_array_equal(nearest_pyramid_source(8, 4), [0, 2, 4, 6])
    # odd: round(j * 7 / 4) = 0, 2 (1.75), 4 (3.5, half to even), 5 (5.25)
    np.testing.assert_array_equal(nearest_pyramid_source(7, 4), [0, 2, 4, 5])
    # the real AEM's columns: 2j up to j = 340, then 2j - 1 (measured on its 681 columns)
    cols = nearest_pyramid_source(1361, 681)
    assert (cols[:341] == 2 * np.arange(341)).all()
    assert (cols[341:] == 2 * np.arange(341, 681) - 1).all()


def _grid(left, top, cell_x, cell_y, height, width):
    return GridSpec(height, width, Affine(cell_x, 0, left, 0, -cell_y, top), "EPSG:3067")


def test_nearest_onto_pairs_cells_under_a_sub_cell_shift_and_leaves_nan_off_the_source():
    src = _grid(6.0, 96.0, 10.0, 10.0, 3, 4)
    values = np.arange(12.0).reshape(3, 4)
    values[1, 2] = np.nan
    same = nearest_onto(values, src, _grid(0.0, 100.0, 10.0, 10.0, 3, 4))
    # shifted 6 m east and 4 m south: cell centres still fall in the same cells except the
    # first column, whose centre (5 m) lies west of the source
    np.testing.assert_array_equal(same[:, 1:], values[:, :3])
    assert np.isnan(same[:, 0]).all() and np.isnan(same[1, 3])
    fine = nearest_onto(values, src, _grid(6.0, 96.0, 5.0, 5.0, 6, 8))
    np.testing.assert_array_equal(fine, np.repeat(np.repeat(values, 2, axis=0), 2, axis=1))
    with pytest.raises(InvalidInputError, match="does not match its grid"):
        nearest_onto(values[:2], src, src)


def test_mean_onto_weights_by_overlap_and_skips_nan():
    src = _grid(0.0, 40.0, 10.0, 10.0, 4, 4)
    values = np.arange(16.0).reshape(4, 4)
    blocks = mean_onto(values, src, _grid(0.0, 40.0, 20.0, 20.0, 2, 2))
    np.testing.assert_allclose(blocks, values.reshape(2, 2, 2, 2).mean(axis=(1, 3)))
    holed = values.copy()
    holed[0, 0] = np.nan
    assert mean_onto(holed, src, _grid(0.0, 40.0, 20.0, 20.0, 2, 2))[0, 0] == pytest.approx(
        (1 + 4 + 5) / 3
    )
    # a cell 15 m wide from x = 5: half of column 0, all of column 1 (weights 5 and 10)
    one = mean_onto(values, src, _grid(5.0, 40.0, 15.0, 10.0, 1, 1))
    assert one[0, 0] == pytest.approx((0 * 5 + 1 * 10) / 15)
    # off the source, or over NaN only: NaN
    assert np.isnan(mean_onto(values, src, _grid(100.0, 40.0, 10.0, 10.0, 1, 1))).all()
    with pytest.raises(InvalidInputError, match="different CRS"):
        mean_onto(values, src, GridSpec(1, 1, Affine(10, 0, 0, 0, -10, 40), None))
