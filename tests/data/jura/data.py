"""Tiny seeded fake of ``jura.rda`` (R package gstat 1.0-19), with the quirks of the real one.

An R data file (XDR, format version 2, xz-compressed, like the upstream blob) holding the
seven objects of the real file: the factor-coded ``jura.pred`` / ``jura.val`` / ``jura.grid``
that the scene reads and the integer-coded ``prediction.dat`` / ``validation.dat`` /
``juragrid.dat`` / ``transect.dat`` that it must ignore. Quirks reproduced:

* local coordinates in **km** (``Xloc``, ``Yloc``), no CRS; the grid nodes lie on the 0.05 km
  lattice of the real ``jura.grid`` (X 0.3-5.1, Y 0.1-5.9) but cover only part of it;
* ``Rock`` and ``Landuse`` are R factors with the real level order (codes 1-5 and 1-4);
* two validation samples sit on cells ``jura.grid`` does not cover (gstat: points 22 and 100);
* sample row names are character (``"1"``, ``"2"``, ...), the grid's are compact integers;
* the transect holds NaNs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ROCKS = ("Argovian", "Kimmeridgian", "Sequanian", "Portlandian", "Quaternary")
LANDUSES = ("Forest", "Pasture", "Meadow", "Tillage")
ELEMENTS = ("Cd", "Co", "Cr", "Cu", "Ni", "Pb", "Zn")
N_PRED, N_VAL = 60, 20
#: Validation samples (1-based, like gstat's note) placed off the grid nodes.
OFF_GRID = (7, 20)


def _grid_nodes(rng: np.random.Generator):
    """Nodes of a slanted region of the real 0.05 km lattice, with rock and land use codes."""
    xs = np.round(np.arange(0.30, 5.10 + 1e-9, 0.05), 2)
    ys = np.round(np.arange(0.10, 5.90 + 1e-9, 0.05), 2)
    gx, gy = np.meshgrid(xs, ys)
    inside = (gy > 0.5 + 0.3 * gx) & (gy < 4.2 + 0.3 * gx) & (gx > 0.5) & (gx < 4.9)
    x, y = gx[inside], gy[inside]
    rock = 1 + np.clip((x // 1.0).astype(int), 0, 4)  # bands of rock across the area
    use = rng.integers(1, 5, x.size)
    return x, y, rock, use


def _write_rda(path: Path, objects: dict) -> None:
    """Write an R data file like R 3.1 did: XDR, format version 2, xz compression."""
    from rdata.conversion import convert_python_to_r_data
    from rdata.unparser import unparse_file

    r_data = convert_python_to_r_data(
        objects, format_version=2, r_version_serialized=0x30100, file_type="rda"
    )
    unparse_file(path, r_data, file_format="xdr", file_type="rda", compression="xz")


def generate(folder: Path, seed: int = 0, edit=None) -> None:
    """Write ``jura.rda`` to ``folder``; ``edit`` changes the samples first.

    ``edit(ids, x, y, values)`` (see ``tests/conftest.py``, ``SampleEdit``) gets the sample ids
    (1.. over prediction then validation samples, as the scene numbers them), coordinates in
    metres and concentrations per element, in place.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    gx, gy, grock, guse = _grid_nodes(rng)
    n = N_PRED + N_VAL
    pick = rng.choice(gx.size, n, replace=False)
    # samples near (not on) grid nodes, in km with three decimals like the real ones
    x = np.round(gx[pick] + rng.uniform(-0.02, 0.02, n), 3)
    y = np.round(gy[pick] + rng.uniform(-0.02, 0.02, n), 3)
    rock, use = grock[pick].copy(), guse[pick].copy()
    for k, i in enumerate(OFF_GRID):  # off the intended grid: below the slanted region
        j = N_PRED + i - 1
        x[j], y[j] = 1.0 + 2.0 * k, 0.2
        rock[j], use[j] = 5, 1 + k  # Quaternary, a land use of their own
    means = {"Cd": 1.3, "Co": 9.3, "Cr": 35.0, "Cu": 23.0, "Ni": 20.0, "Pb": 53.0, "Zn": 75.0}
    values = {el: np.round(rng.lognormal(np.log(m), 0.4, n), 3) for el, m in means.items()}
    if edit is not None:
        xm, ym = x * 1000.0, y * 1000.0
        edit(np.arange(1, n + 1, dtype=np.int64), xm, ym, values)
        x, y = np.round(xm / 1000.0, 6), np.round(ym / 1000.0, 6)  # back to km

    def samples(sel: slice, factors: bool, index: list[str]):
        table = {"Xloc": x[sel], "Yloc": y[sel]}
        if factors:
            table["Landuse"] = pd.Categorical.from_codes(use[sel] - 1, LANDUSES)
            table["Rock"] = pd.Categorical.from_codes(rock[sel] - 1, ROCKS)
        else:
            table["Landuse"] = use[sel].astype(np.int32)
            table["Rock"] = rock[sel].astype(np.int32)
        table |= {el: values[el][sel] for el in ELEMENTS}
        return pd.DataFrame(table, index=pd.Index(index, dtype=object))

    pred_names = [str(i) for i in range(1, N_PRED + 1)]
    val_names = [str(i) for i in range(1, N_VAL + 1)]
    pred_rows, val_rows = slice(0, N_PRED), slice(N_PRED, n)

    def grid(factors: bool):
        return pd.DataFrame(
            {
                "Xloc": gx,
                "Yloc": gy,
                "Landuse": pd.Categorical.from_codes(guse - 1, LANDUSES)
                if factors
                else guse.astype(np.int32),
                "Rock": pd.Categorical.from_codes(grock - 1, ROCKS)
                if factors
                else grock.astype(np.int32),
            },
            index=pd.RangeIndex(1, gx.size + 1),
        )

    t = np.round(np.arange(1.0, 2.0, 0.05), 2)
    transect = pd.DataFrame(
        {
            "X": t,
            "Rock.type": np.full(t.size, 3.0),
            "Block.Ni": np.round(rng.uniform(15, 25, t.size), 4),
            "Cd": np.where(
                np.arange(t.size) % 4 == 0, np.round(rng.uniform(0.5, 2, t.size), 2), np.nan
            ),
            "Ni": np.where(
                np.arange(t.size) % 4 == 0, np.round(rng.uniform(10, 30, t.size), 1), np.nan
            ),
        },
        index=pd.Index([str(i) for i in range(1, t.size + 1)], dtype=object),
    )
    _write_rda(
        folder / "jura.rda",
        {
            "jura.grid": grid(True),
            "jura.pred": samples(pred_rows, True, pred_names),
            "jura.val": samples(val_rows, True, val_names),
            "juragrid.dat": grid(False),
            "prediction.dat": samples(pred_rows, False, pred_names),
            "transect.dat": transect,
            "validation.dat": samples(val_rows, False, val_names),
        },
    )
