"""Tiny seeded fake of ``walker.rda`` (R package gstat 1.0-19), with the quirks of the real one.

An R data file (XDR, format version 2, xz-compressed, like the upstream blob) holding two sp
S4 objects, serialised as R does (S4 objects whose slots are attributes, classes tagged with
package ``sp``):

* ``walker.exh``, a SpatialGridDataFrame: a GridTopology (``cellcentre.offset`` (1, 1),
  ``cellsize`` (1, 1), named ``cells.dim`` (X, Y)) and a data.frame of ``U``, ``V`` whose rows
  run from the **top-left** cell, X fastest and Y **decreasing** (sp's storage order), with
  compact row names; V and U hold zeros, no NaN;
* ``walker``, a SpatialPointsDataFrame: a coords matrix with dimnames (NULL, (X, Y)), a bbox,
  an NA proj4string, and a data.frame ``Id, V, U, T`` (all doubles) in which U is NA at
  some samples, V is rounded to 0.1 and one sample's V is the value of the cell below it (an
  inconsistency between the two upstream objects that the scene keeps).

The grid is not square (NX != NY), so a transposed or flipped rebuild does not line up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NX, NY = 60, 80  # cells along X (columns) and Y (rows); 1 m cells centred on 1..NX, 1..NY
N_SAMPLES = 50
#: Id of the sample whose V is read one cell south of it (like upstream's (8, 69) vs (8, 68)).
INCONSISTENT_ID = 7


def exhaustive(seed: int = 0):
    """The exhaustive table as the independent CSV export has it: ``X, Y, V, U`` per cell.

    Rows follow sp's order (top-left first, X fastest, Y decreasing).
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = np.arange(1.0, NX + 1)
    y = np.arange(NY, 0.0, -1)  # row 0 is the top (largest Y)
    gx, gy = np.meshgrid(x, y)
    v = 4.0 * gy + 1.5 * gx + rng.normal(0, 20, gx.shape)  # rises to the north-east
    v = np.round(np.clip(v, 0, None), 2)
    v[gy < 8] = 0.0  # a band of zeros in the south, as in the real field
    u = np.round(np.clip(0.8 * v + rng.normal(0, 15, gx.shape), 0, None), 3)
    return pd.DataFrame({"X": gx.ravel(), "Y": gy.ravel(), "V": v.ravel(), "U": u.ravel()})


class _RObj:
    """An R value with extra attributes (names, dimnames, class with package, ...)."""

    def __init__(self, value, **attributes) -> None:
        self.value, self.attributes = value, attributes


class _S4:
    """An S4 object of package ``sp``: its slots are serialised as attributes."""

    def __init__(self, cls: str, **slots) -> None:
        self.cls, self.slots = cls, slots


def _converters():
    import pandas as pd
    from rdata.conversion.to_r import DEFAULT_CLASS_MAP, build_r_object
    from rdata.parser import RObjectType

    def r_obj(data: _RObj, conv):
        inner = conv.convert_to_r_object(data.value)
        attrs = conv.convert_to_r_attributes(data.attributes)
        is_object = "class" in data.attributes
        return build_r_object(
            inner.info.type, value=inner.value, is_object=is_object, attributes=attrs
        )

    def s4(data: _S4, conv):
        cls = _RObj(np.array([data.cls]), package=np.array(["sp"]))
        attrs = conv.convert_to_r_attributes({**data.slots, "class": cls})
        # gp bit 4 is R's S4 object bit
        return build_r_object(RObjectType.S4, is_object=True, attributes=attrs, gp=16)

    classes = dict(DEFAULT_CLASS_MAP)
    classes[_RObj] = r_obj
    classes[_S4] = s4
    assert pd.DataFrame in classes
    return classes


def _write_rda(path: Path, objects: dict) -> None:
    """Write an R data file like R 3.1 did: XDR, format version 2, xz compression.

    rdata converts S4 objects but its unparser does not write them; R serialises an S4SXP as
    its header and its attributes (the slots), which is all this adds.
    """
    import lzma

    from rdata.conversion import convert_python_to_r_data
    from rdata.parser import RObjectType
    from rdata.unparser import UnparserXDR
    from rdata.unparser._unparser import pack_r_object_info

    class Unparser(UnparserXDR):
        def unparse_r_object(self, obj) -> None:
            if obj.info.type is RObjectType.S4:
                self.unparse_int(pack_r_object_info(obj.info))
                self.unparse_r_object(obj.attributes)
            else:
                super().unparse_r_object(obj)

    r_data = convert_python_to_r_data(
        objects,
        format_version=2,
        r_version_serialized=0x30100,
        file_type="rda",
        constructor_dict=_converters(),
    )
    with lzma.open(path, "wb") as fh:
        fh.write(b"RDX2\n")
        Unparser(fh).unparse_r_data(r_data)


def _bbox(low: tuple[float, float], high: tuple[float, float]) -> _RObj:
    """An sp bbox: a 2 x 2 matrix, rows X and Y, columns min and max."""
    return _RObj(
        np.array([low[0], low[1], high[0], high[1]], dtype=np.float64),
        dim=np.array([2, 2], dtype=np.int32),
        dimnames=[np.array(["X", "Y"]), np.array(["min", "max"])],
    )


def _crs() -> _S4:
    return _S4("CRS", projargs=np.array([None], dtype=object))


def generate(folder: Path, seed: int = 0) -> None:
    import pandas as pd

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    table = exhaustive(seed)
    xy = np.array(["X", "Y"])
    grid = _S4(
        "GridTopology",
        **{
            "cellcentre.offset": _RObj(np.array([1.0, 1.0]), names=xy),
            "cellsize": _RObj(np.array([1.0, 1.0]), names=xy),
            "cells.dim": _RObj(np.array([NX, NY], dtype=np.int32), names=xy),
        },
    )
    exh = _S4(
        "SpatialGridDataFrame",
        data=pd.DataFrame(
            {"U": table.U.to_numpy(), "V": table.V.to_numpy()},
            index=pd.RangeIndex(1, len(table) + 1),
        ),
        grid=grid,
        **{"grid.index": np.array([], dtype=np.int32)},
        bbox=_bbox((0.5, 0.5), (NX + 0.5, NY + 0.5)),
        proj4string=_crs(),
    )

    # samples clustered in high-V areas (preferential sampling), one per cell
    v = table.V.to_numpy()
    weight = (v + 1.0) ** 2
    cells = rng.choice(len(table), N_SAMPLES, replace=False, p=weight / weight.sum())
    sx, sy = table.X.to_numpy()[cells], table.Y.to_numpy()[cells]
    sv = np.round(v[cells], 1)
    ids = np.arange(1.0, N_SAMPLES + 1)
    k = INCONSISTENT_ID - 1
    south = sy[k] - 1 if sy[k] > 1 else sy[k] + 1  # the neighbouring cell (north on the edge)
    neighbour = np.flatnonzero((table.X.to_numpy() == sx[k]) & (table.Y.to_numpy() == south))[0]
    sv[k] = np.round(v[neighbour], 1)
    if sv[k] == np.round(v[cells[k]], 1):
        sv[k] += 0.1  # make sure the inconsistency shows
    su = np.round(table.U.to_numpy()[cells], 1)
    su[rng.random(N_SAMPLES) < 0.4] = np.nan  # U not measured at many samples
    t = np.where(rng.random(N_SAMPLES) < 0.1, 1.0, 2.0)
    coords = np.column_stack([sx, sy])
    walker = _S4(
        "SpatialPointsDataFrame",
        data=pd.DataFrame(
            {"Id": ids, "V": sv, "U": su, "T": t}, index=pd.RangeIndex(1, N_SAMPLES + 1)
        ),
        **{"coords.nrs": np.array([2, 3], dtype=np.int32)},
        coords=_RObj(
            coords.ravel(order="F"),
            dim=np.array([N_SAMPLES, 2], dtype=np.int32),
            dimnames=[None, xy],
        ),
        bbox=_bbox((sx.min(), sy.min()), (sx.max(), sy.max())),
        proj4string=_crs(),
    )
    _write_rda(folder / "walker.rda", {"walker": walker, "walker.exh": exh})
