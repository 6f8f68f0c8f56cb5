"""Olinda (Recife, Brazil): real Landsat 7 ETM+ bands and DEM, simulated geochemistry.

Raw data: ``L7_ETMs.tif`` (six ETM+ bands 1-5 and 7, 28.5 m, EPSG:31985) and
``olinda_dem_utm25s.tif`` (~90 m) from R package stars (commit d4cedb5). Quirks handled:

* The DEM's CRS is a custom WKT without an EPSG code ("UTM Zone 25, Southern Hemisphere" on
  GRS80); it is read as EPSG:31985, which agrees within about 1 m, and resampled bilinearly
  onto the Landsat grid. The DEM stops ~43 m short of the image's southern edge: those cells
  are invalid.
* No nodata tag; DN 255 is saturation: a saturated pixel is invalid. Water (the Atlantic and
  rivers, NIR DN < 25) is invalid too: soil geochemistry is not defined there.

The geochemistry is **simulated** from the real bands and terrain with a declared, seeded
model (:data:`SIMULATION`): for each element, log10 concentration = mean + a linear response to
standardised remote-sensing features (brightness, NDVI, iron-oxide ratio red/blue, clay ratio
SWIR1/SWIR2, elevation) smoothed by a 1-cell Gaussian, + a spatially correlated residual
(exponential covariance, practical range 1500 m, inter-element correlation 0.5) + a nugget.
The residual carries 45 % of the log-variance, so the remote sensing explains part, not all,
of the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.random_fields import gaussian_random_field
from geochem_bench.data.sources import Upstream
from geochem_bench.scenes.base import RealScene

BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")
FEATURES = ("brightness", "ndvi", "iron_ratio", "clay_ratio", "elevation")


@dataclass(frozen=True)
class ElementModel:
    """How one element responds to the standardised features."""

    symbol: str
    unit: str
    log10_mean: float
    log10_std: float
    weights: tuple[float, ...]  # one per FEATURES entry


@dataclass(frozen=True)
class Simulation:
    """The declared geochemistry model of the Olinda scene."""

    seed: int
    residual_range_m: float
    residual_share: float
    residual_correlation: float
    nugget_log10: float
    elements: tuple[ElementModel, ...]


SIMULATION = Simulation(
    seed=20240501,
    residual_range_m=1500.0,
    residual_share=0.45,
    residual_correlation=0.5,
    nugget_log10=0.03,
    elements=(
        ElementModel("Fe", "%", float(np.log10(3.0)), 0.20, (0.2, -0.3, 0.8, 0.1, 0.2)),
        ElementModel("Cu", "mg/kg", float(np.log10(25.0)), 0.30, (-0.2, -0.5, 0.4, 0.5, 0.3)),
        ElementModel("Zn", "mg/kg", float(np.log10(60.0)), 0.25, (0.5, -0.2, 0.1, 0.3, -0.4)),
    ),
)


_LANDSAT7_OLINDA = """@misc{landsat7_olinda,
  title = {{Landsat-7 ETM+} scene of {Olinda}, {Brazil} (example data of the {R} package stars)},
  author = {{U.S. Geological Survey} and Pebesma, Edzer},
  howpublished = {\\url{https://github.com/r-spatial/stars}},
  note = {Landsat imagery courtesy of the U.S. Geological Survey}
}"""

_UPSTREAM = Upstream(
    "https://raw.githubusercontent.com/r-spatial/stars/{commit}/inst/tif/{file}",
    "d4cedb523970878fe5e06028a2d9ce89190c4ced",
    "olinda",
)


class Olinda(RealScene):
    """The Olinda scene (grid protocol, simulated truth on real remote sensing)."""

    name = "olinda"
    version = "1"
    licence = (
        "Landsat: public domain (USGS); packaging Apache-2.0 (R package stars); "
        "simulated geochemistry CC0-1.0"
    )
    citation = (
        "Landsat-7 ETM+ image courtesy of the U.S. Geological Survey; R package stars (E. Pebesma)"
    )
    citations = (_LANDSAT7_OLINDA,)
    summary = "Olinda (BR): real Landsat 7 ETM+ + DEM, simulated Fe, Cu, Zn"
    size = "352x349 px @ 28.5 m, 7 bands, exhaustive (simulated)"
    files = (
        _UPSTREAM.file(
            "L7_ETMs.tif",
            "3b722bf4470144b6691bf720bac08f47c99464acff4dd258252891c06312678e",
            798453,
        ),
        _UPSTREAM.file(
            "olinda_dem_utm25s.tif",
            "6954774429a04c827c8330943ee43a176a29d52be2f220100f352894c4b9f173",
            49922,
        ),
    )
    tasks = tuple(
        TaskSpec("olinda", ("Fe", "Cu", "Zn"), s, "grid", label="all") for s in (4, 8, 16)
    )

    @classmethod
    def build(cls, raw_dir: Path) -> Scene:
        """Read and co-register the rasters, then simulate the geochemistry."""
        import rasterio
        from rasterio.crs import CRS
        from rasterio.warp import Resampling, reproject

        folder = raw_dir / "olinda"
        with rasterio.open(folder / "L7_ETMs.tif") as src:
            dn = src.read().astype(np.float32)
            transform = src.transform
        grid = GridSpec(dn.shape[1], dn.shape[2], transform, "EPSG:31985")
        with rasterio.open(folder / "olinda_dem_utm25s.tif") as src:
            dem_src, dem_transform = src.read(1).astype(np.float32), src.transform
        dem = np.full(grid.shape, np.nan, dtype=np.float32)
        reproject(
            dem_src,
            dem,
            src_transform=dem_transform,
            src_crs=CRS.from_epsg(31985),  # the file's custom WKT, read as what it means
            dst_transform=transform,
            dst_crs=CRS.from_epsg(31985),
            src_nodata=None,
            dst_nodata=np.nan,
            resampling=Resampling.bilinear,
        )
        saturated = (dn >= 255).any(axis=0)
        water = dn[3] < 25
        valid = np.isfinite(dem) & ~saturated & ~water
        covariates = np.concatenate([dn, dem[None]]).astype(np.float32)
        covariates[:, ~valid] = np.nan
        truth = simulate_geochemistry(covariates, valid, grid.res[0])
        elements = tuple(Element(m.symbol, m.unit, "log10") for m in SIMULATION.elements)
        return Scene(
            name=cls.name,
            version=cls.version,
            grid=grid,
            covariates=covariates,
            band_names=(*BANDS, "elevation"),
            valid=valid,
            elements=elements,
            truth=truth,
            licence=cls.licence,
            citation=cls.citation,
            description=cls.summary
            + "; Landsat in DN (uint8 as float), DEM in m; geochemistry simulated (see card).",
            options={"simulation": "olinda-v1", "seed": SIMULATION.seed},
        )


def simulate_geochemistry(
    covariates: NDArray[np.float32], valid: NDArray[np.bool_], pixel_size: float
) -> NDArray[np.float32]:
    """The declared simulation of ``SIMULATION`` on the Olinda covariates."""
    from scipy import ndimage

    blue, green, red, nir, swir1, swir2, elevation = (
        np.nan_to_num(b.astype(np.float64)) for b in covariates
    )
    eps = 1.0
    features = np.stack(
        [
            (blue + green + red + nir + swir1 + swir2) / 6,
            (nir - red) / (nir + red + eps),
            red / (blue + eps),
            swir1 / (swir2 + eps),
            elevation,
        ]
    )
    for f in features:  # standardise over valid cells
        f -= f[valid].mean()
        f /= f[valid].std() or 1.0
        f[~valid] = 0.0
    sim = SIMULATION
    rng = np.random.default_rng(sim.seed)
    n = len(sim.elements)
    shape = valid.shape
    fields = np.stack(
        [gaussian_random_field(shape, pixel_size, sim.residual_range_m, rng) for _ in range(n)]
    ).astype(np.float64)
    rho = sim.residual_correlation
    mixing = np.linalg.cholesky(np.full((n, n), rho) + (1 - rho) * np.eye(n))
    residual = np.tensordot(mixing, fields, axes=1)
    truth = np.empty((n, *shape), dtype=np.float32)
    for i, model in enumerate(sim.elements):
        signal = ndimage.gaussian_filter(
            np.tensordot(np.asarray(model.weights), features, axes=1), 1.0
        )
        signal = (signal - signal[valid].mean()) / (signal[valid].std() or 1.0)
        nugget = rng.standard_normal(shape) * sim.nugget_log10
        mixed = np.sqrt(1 - sim.residual_share) * signal + np.sqrt(sim.residual_share) * residual[i]
        log_value = model.log10_mean + model.log10_std * mixed + nugget
        truth[i] = np.where(valid, np.power(10.0, log_value), np.nan)
    return truth
