"""Lapland radiometrics: GTK airborne gamma-ray K, eTh and eU over the Kolari-Pajala IOCG belt.

A real exhaustive truth for the grid protocol: the gamma-ray spectrometry of GTK's low-altitude
airborne survey measures the top ~30 cm of the ground on a full grid, so Wald's protocol
(degrade by s, restore, compare) runs on measured, not simulated, geochemistry. Raw data: the
EIS project's IOCG test area in eis_toolkit (GTK open data, CC BY 4.0), the same commit and
files as ``lapland-iocg`` (:mod:`geochem_bench.scenes._lapland`). Targets: K (%), eTh and eU
(ppm; "equivalent" thorium and uranium, from the 208Tl and 214Bi lines), on the level-1 grid of
their pyramids (681 x 821 cells of ~100 m). Covariates: the 50 m AEM in-phase aggregated to that
grid, the magnetic anomaly, one-hot lithology and the distance to faults. Quirks handled:

* **Pyramids only.** The gamma-ray and magnetic base GeoTIFFs (50 m) are missing upstream;
  only their ArcGIS pyramids (``.tif.ovr``) and metadata (``.tif.xml``) are there. The
  ``.ovr`` opens as a plain TIFF of three images (681 x 821, 341 x 411, 171 x 206; float32,
  deflate, 128-pixel tiles) with **no georeferencing**: rasterio reports an identity transform,
  and the CRS it shows comes from the ``.tif.xml`` beside it, not from the file. Level 1 is
  read and placed on the base extent that the ``.tif.xml`` states (``nativeExtBox``; base
  1361 x 1642 cells of 50 m), as GDAL places any overview: cells of 68050 / 681 = 99.927 m by
  82100 / 821 = 100 m (:mod:`geochem_bench.data.arcgis`). EPSG:3067 is assigned.
* **Pyramid values are subsamples.** On the AEM grid, whose base and pyramid both exist,
  level-1 cell (i, j) is exactly base cell (2i, round(j x 1361 / 681)) for all 559 101 cells:
  ArcGIS's NEAREST resampling (the AEM's ``.aux.xml`` says so). The gamma-ray and magnetic
  pyramids were built by the same ArcGIS export and keep their base's spread (standard
  deviation of level 1 within 0.1 % of the base statistics in their ``.aux.xml``; a 2 x 2 mean
  would lower the AEM's by 1.7 %): they are nearest subsamples too, so the truth is measured
  values, not ArcGIS averages. Each value sits at the centre of a 50 m base cell 25-50 m
  north-west of the centre of the ~100 m cell it is filed under; every layer read from a
  pyramid shares that displacement, so it cancels between truth and magnetics.
* **Two grids.** The gamma-ray grids sit 6.04 m west and 4.44 m north of the magnetic/AEM
  grid (their ``.tif.xml`` and ``.tfw``). The scene's grid is the gamma-ray level-1 grid, so the
  truth is never resampled. The magnetic level-1 grid has the same shape; its cells are paired
  cell for cell with the truth's (nearest neighbour, which for a shift under half a cell is
  the identity): a 6 % / 4 % sub-cell shift, smaller than the 25-50 m by which the pyramid
  itself places every value, whereas interpolating it would blend four measured values into
  an invented one. A shift of a quarter cell or more refuses to build.
* **AEM aggregated.** The 50 m AEM in-phase (uint32; ArcGIS wrote both negative in-phase
  values and the outside-polygon nodata as 0, with no nodata tag) is nodata outside the
  target-area polygon and kept as 0 ("<= 0") inside; its area-weighted mean over each ~100 m
  cell (cells outside the polygon left out) is rounded to 6 significant digits, so that the
  bytes do not depend on the CPU's BLAS.
* **Nodata.** -999999 (gamma-ray) and -1e32 (magnetic), both tagged. The valid mask is where
  every layer has data: the three gamma-ray grids, the magnetic grid, and the target-area
  polygon at the cell centre (the AEM's nodata).
* **Values <= 0 are data.** 5.0 % (K), 4.4 % (eTh) and 5.9 % (eU) of the valid cells are
  negative (none is exactly 0): gamma-ray channels are count rates minus background and
  Compton stripping, so near-zero concentrations come out negative with counting noise. They
  are kept as measured and scored in **linear** space; log10 would need those cells dropped or
  floored (not at random: low counts over water and peat) and would turn the noise of
  near-zero values into the largest errors (log10 of the positive values is skewed -1.6 to
  -2.1).
* **No target in the covariates.** The total-count channel integrates the whole spectrum, the
  three targets' windows included (close to a weighted sum of them), and is never read; no
  gamma-ray channel is a covariate of another.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geochem_bench.core.elements import Element
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.regrid import mean_onto, nearest_onto
from geochem_bench.data.reproducible import stable_float32
from geochem_bench.errors import InvalidInputError
from geochem_bench.scenes._lapland import (
    AEM_FILE,
    FOLDER,
    GAMMA,
    MAG,
    SHAPE_FILES,
    fault_distance,
    lithology,
    read_aem,
    read_pyramid,
    target_area,
)
from geochem_bench.scenes.base import RealScene

_HYVONEN2005GAMMA = """@incollection{hyvonen2005gamma,
  title = {Airborne gamma-ray surveys in {Finland}},
  author = {Hyv{\\"o}nen, Eija and Turunen, Pertti and Vanhanen, Erkki and Arkimaa, Hilkka and
            Sutinen, Raimo},
  booktitle = {Aerogeophysics in {Finland} 1972--2004: Methods, System Characteristics and
               Applications},
  editor = {Airo, Meri-Liisa},
  series = {Geological Survey of Finland, Special Paper},
  number = {39},
  pages = {119--134},
  publisher = {Geological Survey of Finland},
  address = {Espoo},
  year = {2005}
}"""

#: The targets, in scene order: the gamma-ray channel of each and its element.
TARGETS = (
    (GAMMA[0], Element("K", "%", "linear")),
    (GAMMA[1], Element("Th", "ppm", "linear")),
    (GAMMA[2], Element("U", "ppm", "linear")),
)
#: Largest accepted shift between the magnetic and gamma-ray level-1 grids, in cells: the
#: magnetics are paired cell for cell with the truth, which holds for a sub-cell shift only.
MAX_SHIFT_CELLS = 0.25


class LaplandRadiometrics(RealScene):
    """The Lapland radiometrics scene (grid protocol against measured K, eTh, eU)."""

    name = "lapland-radiometrics"
    version = "1"
    licence = "CC-BY-4.0 (Geological Survey of Finland open data)"
    citation = (
        "Contains data from the Geological Survey of Finland (GTK), CC BY 4.0: GTK airborne "
        "geophysics (gamma-ray spectrometry, magnetics, AEM; Hyvonen et al. 2005, GTK Special "
        "Paper 39), Bedrock of Finland 1:1M (DigiKP); test area packaging by the EIS project / "
        "eis_toolkit (GispoCoding)"
    )
    citations = (_HYVONEN2005GAMMA, "gtk_open_data")
    summary = (
        "Central Lapland IOCG belt (FI): measured airborne gamma-ray K, eTh, eU (~100 m); "
        "AEM, magnetics, lithology, faults"
    )
    size = "821x681 px @ ~100 m, 26 bands, exhaustive (measured)"
    files = (
        AEM_FILE,
        *SHAPE_FILES,
        *MAG.files,
        *(f for layer in GAMMA for f in layer.files),
    )
    tasks = tuple(
        TaskSpec("lapland-radiometrics", ("K", "Th", "U"), s, "grid", label="all")
        for s in (4, 8, 16)
    )

    @classmethod
    def build(cls, raw_dir: Path) -> Scene:
        """Read the gamma-ray pyramids as the truth; put the covariates on their grid."""
        folder = raw_dir / FOLDER
        channels = [read_pyramid(folder, layer) for layer, _ in TARGETS]
        grid = channels[0][1]
        for (layer, _), (_, other) in zip(TARGETS, channels, strict=True):
            if other != grid:
                raise InvalidInputError(
                    f"{layer.stem}.tif.xml places its pyramid on {other}, the K grid is on "
                    f"{grid}; the gamma-ray channels must share one grid"
                )
        mag, mag_grid = read_pyramid(folder, MAG)
        shift_x = (mag_grid.transform.c - grid.transform.c) / grid.res[0]
        shift_y = (mag_grid.transform.f - grid.transform.f) / grid.res[1]
        if mag_grid.shape != grid.shape or max(abs(shift_x), abs(shift_y)) >= MAX_SHIFT_CELLS:
            raise InvalidInputError(
                f"the magnetic pyramid ({mag_grid.shape}, origin {mag_grid.transform.c:.3f}, "
                f"{mag_grid.transform.f:.3f}) is shifted by ({shift_x:.3f}, {shift_y:.3f}) "
                f"cells from the gamma-ray grid ({grid.shape}): pairing them cell for cell "
                f"needs the same shape and a shift under {MAX_SHIFT_CELLS} cell; the raw "
                "files changed"
            )
        mag_on_grid = nearest_onto(mag, mag_grid, grid)
        aem, aem_grid = read_aem(folder)
        # outside the polygon the stored 0 is nodata; inside it means "<= 0" and is a value
        aem_values = np.where(target_area(folder, aem_grid), aem.astype(np.float64), np.nan)
        aem_on_grid = stable_float32(mean_onto(aem_values, aem_grid, grid))
        truth = np.stack([values for values, _ in channels])
        valid = (
            target_area(folder, grid)
            & np.isfinite(truth).all(axis=0)
            & np.isfinite(mag_on_grid)
            & np.isfinite(aem_on_grid)
        )
        lith, codes, legend = lithology(folder, grid)
        covariates = np.concatenate(
            [
                np.stack([aem_on_grid, mag_on_grid, fault_distance(folder, grid)]),
                lith,
            ]
        ).astype(np.float32)
        covariates[:, ~valid] = np.nan
        stored = truth.astype(np.float32)  # float32 in the files: the cast is exact
        stored[:, ~valid] = np.nan
        negative = ", ".join(
            f"{element.symbol} {(stored[e][valid] < 0).mean():.1%}"
            for e, (_, element) in enumerate(TARGETS)
        )
        return Scene(
            name=cls.name,
            version=cls.version,
            grid=grid,
            covariates=covariates,
            band_names=(
                "aem_inphase",
                MAG.band,
                "fault_distance_m",
                *(f"lith_{c}" for c in codes),
            ),
            valid=valid,
            elements=tuple(element for _, element in TARGETS),
            truth=stored,
            licence=cls.licence,
            citation=cls.citation,
            description=(
                f"{cls.summary}; K in %, eTh and eU in ppm (symbols Th, U), scored in linear "
                f"space, negative values kept ({negative} of valid cells); magnetic grid paired "
                f"cell for cell, shifted ({shift_x:+.3f}, {shift_y:+.3f}) cells. "
                f"Lithology legend: {legend}."
            ),
        )
