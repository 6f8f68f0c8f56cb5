"""Tiny seeded fake of the raw files of ``lapland-radiometrics``: Lapland's geophysics.

The scene reads the same raw files as ``lapland-iocg`` (one eis_toolkit commit, one folder
``lapland_iocg``), all but the till survey: the uint32 AEM with 0 for nodata and for negative
in-phase values, the magnetic and K, eTh, eU pyramids (``.tif.ovr`` without georeferencing,
``.tif.xml`` with the base extent; the gamma-ray grids 6.04 m west and 4.44 m north of the
magnetic one; nodata -1e32 and -999999; level 1 a NEAREST subsample of a 50 m base of odd
width; some negative gamma-ray values) and the lithology, fault and target-area shapefiles.
Their quirks are described in ``tests/data/lapland-iocg/data.py``, whose
``generate_geophysics`` writes them here: the two scenes' fakes must be the same bytes where
they share a file, as the real files are.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

_SHARED = Path(__file__).resolve().parents[1] / "lapland-iocg" / "data.py"


def lapland_fake():
    """The ``lapland-iocg`` fake-data module (the generator of the shared files)."""
    spec = importlib.util.spec_from_file_location("fake_lapland_iocg_shared", _SHARED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate(folder: Path, seed: int = 0) -> None:
    """Write the fake raw files of the scene to ``folder`` (the ``lapland_iocg`` layout)."""
    lapland_fake().generate_geophysics(folder, np.random.default_rng(seed))
