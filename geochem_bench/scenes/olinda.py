"""Olinda (Recife, Brazil): real Landsat 7 ETM+ bands and DEM, simulated geochemistry.

Raw data: ``L7_ETMs.tif`` (six ETM+ bands 1-5 and 7, 28.5 m, EPSG:31985) and
``olinda_dem_utm25s.tif`` (~90 m) from R package stars (commit d4cedb5). Quirks handled:

* The DEM's CRS is a custom WKT without an EPSG code ("UTM Zone 25, Southern Hemisphere" on
  GRS80); it is read as EPSG:31985, which agrees within about 1 m, and resampled bilinearly
  onto the Landsat grid. The DEM stops ~43 m short of the image's southern edge: those cells
  are invalid.
* No nodata tag; DN 255 is saturation: a saturated pixel is invalid. Water (the Atlantic and
  rivers, NIR DN < 25) is invalid too: soil geochemistry is not defined there.

The geochemistry is **simulated** from the real bands and terrain, in numbered realisations
(official tasks: ``Olinda.test_realisations``; public ``Olinda.dev_realisations`` for tuning;
see ``docs/realisations.md``). Each realisation first draws its parameters from the declared
prior :data:`SIMULATION`, then the fields: for each element, log10 concentration = mean +
std x (sqrt(1 - share) x a linear response to standardised remote-sensing features
(brightness, NDVI, iron-oxide ratio red/blue, clay ratio SWIR1/SWIR2, elevation) smoothed by a
Gaussian of ``sigma`` cells, standardised + sqrt(share) x a spatially correlated residual
(exponential covariance, inter-element correlation ``rho``)) + a nugget. The prior:

* feature weights: each ~ Normal(the element's declared centre, 0.3);
* smoothing ``sigma`` of the remote-sensing response: ~ Uniform(0, 2) cells, per element;
* residual ``share`` of the log-variance: ~ Uniform(0.3, 0.6), per element;
* residual practical range: ~ Uniform(1000, 3000) m; ``rho`` ~ Uniform(0.2, 0.7);
* nugget 0.03 log10; means and standard deviations fixed per element.

So the remote sensing explains part, not all, of each field, by a different amount and through
a different response in each realisation: no single hand-matched generator wins every one.
(Version 1 had one realisation with sigma 1 and share 0.45, and a 10-line linear trend
smoothed with that sigma scored +0.27 skill at x8.) The arrays are computed in float64 and
stored rounded to 6 significant digits, the same bytes on every CPU
(:mod:`geochem_bench.data.reproducible`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.random_fields import gaussian_random_field
from geochem_bench.data.reproducible import stable_float32
from geochem_bench.data.sources import Upstream
from geochem_bench.scenes.base import RealScene

BANDS = ("blue", "green", "red", "nir", "swir1", "swir2")
FEATURES = ("brightness", "ndvi", "iron_ratio", "clay_ratio", "elevation")
#: Realisations the official tasks run on: 3 keep an official run affordable on a 2-core CPU.
TEST_REALISATIONS = (0, 1, 2)
#: Public realisations for tuning (docs/realisations.md).
DEV_REALISATIONS = tuple(range(100, 110))
#: Version of the simulation, recorded in a scene's options.
SIMULATION_VERSION = "olinda-v2"


@dataclass(frozen=True)
class ElementPrior:
    """How one element responds to the standardised features, before a realisation's draw.

    Attributes:
        symbol: element symbol.
        unit: unit of the concentrations.
        log10_mean: mean of log10 concentration.
        log10_std: standard deviation of log10 concentration (nugget aside).
        weights: centre of the weight of each :data:`FEATURES` entry.
    """

    symbol: str
    unit: str
    log10_mean: float
    log10_std: float
    weights: tuple[float, ...]


@dataclass(frozen=True)
class SimulationPrior:
    """The declared prior of the Olinda geochemistry: what every realisation is drawn from.

    Attributes:
        seed: entropy of every realisation's random streams (with the realisation number).
        weight_sd: standard deviation of each feature weight around its centre.
        sigma_cells: range of the uniform smoothing sigma (cells) of the response, per element.
        residual_share: range of the uniform residual share of the log-variance, per element.
        residual_range_m: range of the uniform practical range (m) of the residual.
        residual_correlation: range of the uniform inter-element correlation of the residual.
        nugget_log10: standard deviation of the nugget (log10 units).
        elements: the elements, in scene order.
    """

    seed: int
    weight_sd: float
    sigma_cells: tuple[float, float]
    residual_share: tuple[float, float]
    residual_range_m: tuple[float, float]
    residual_correlation: tuple[float, float]
    nugget_log10: float
    elements: tuple[ElementPrior, ...]


@dataclass(frozen=True)
class ElementModel:
    """One element's response in one realisation.

    Attributes:
        symbol: element symbol.
        unit: unit of the concentrations.
        log10_mean: mean of log10 concentration.
        log10_std: standard deviation of log10 concentration (nugget aside).
        weights: weight of each :data:`FEATURES` entry.
        sigma_cells: smoothing sigma (cells) of the response.
        residual_share: share of the log-variance carried by the residual.
    """

    symbol: str
    unit: str
    log10_mean: float
    log10_std: float
    weights: tuple[float, ...]
    sigma_cells: float
    residual_share: float


@dataclass(frozen=True)
class Simulation:
    """The parameters of one realisation of the Olinda geochemistry (:func:`draw_simulation`)."""

    realisation: int
    residual_range_m: float
    residual_correlation: float
    nugget_log10: float
    elements: tuple[ElementModel, ...]


SIMULATION = SimulationPrior(
    seed=20240501,
    weight_sd=0.3,
    sigma_cells=(0.0, 2.0),
    residual_share=(0.3, 0.6),
    residual_range_m=(1000.0, 3000.0),
    residual_correlation=(0.2, 0.7),
    nugget_log10=0.03,
    elements=(
        ElementPrior("Fe", "%", float(np.log10(3.0)), 0.20, (0.2, -0.3, 0.8, 0.1, 0.2)),
        ElementPrior("Cu", "mg/kg", float(np.log10(25.0)), 0.30, (-0.2, -0.5, 0.4, 0.5, 0.3)),
        ElementPrior("Zn", "mg/kg", float(np.log10(60.0)), 0.25, (0.5, -0.2, 0.1, 0.3, -0.4)),
    ),
)


def _stream(realisation: int, part: int) -> np.random.Generator:
    # one stream for the parameters and one for the fields of each realisation, so drawing
    # the parameters never shifts the fields' random numbers
    return np.random.default_rng(
        np.random.SeedSequence(entropy=SIMULATION.seed, spawn_key=(realisation, part))
    )


def draw_simulation(realisation: int) -> Simulation:
    """The parameters of realisation ``realisation``, drawn from the prior :data:`SIMULATION`."""
    prior = SIMULATION
    rng = _stream(realisation, 0)
    residual_range = float(rng.uniform(*prior.residual_range_m))
    correlation = float(rng.uniform(*prior.residual_correlation))
    elements = []
    for element in prior.elements:
        weights = rng.normal(element.weights, prior.weight_sd)
        elements.append(
            ElementModel(
                symbol=element.symbol,
                unit=element.unit,
                log10_mean=element.log10_mean,
                log10_std=element.log10_std,
                weights=tuple(float(w) for w in weights),
                sigma_cells=float(rng.uniform(*prior.sigma_cells)),
                residual_share=float(rng.uniform(*prior.residual_share)),
            )
        )
    return Simulation(
        realisation=realisation,
        residual_range_m=residual_range,
        residual_correlation=correlation,
        nugget_log10=prior.nugget_log10,
        elements=tuple(elements),
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
    version = "2"
    licence = (
        "Landsat: public domain (USGS); packaging Apache-2.0 (R package stars); "
        "simulated geochemistry CC0-1.0"
    )
    citation = (
        "Landsat-7 ETM+ image courtesy of the U.S. Geological Survey; R package stars (E. Pebesma)"
    )
    citations = (_LANDSAT7_OLINDA,)
    summary = "Olinda (BR): real Landsat 7 ETM+ + DEM, simulated Fe, Cu, Zn (realisations)"
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
    test_realisations = TEST_REALISATIONS
    dev_realisations = DEV_REALISATIONS
    tasks = tuple(
        TaskSpec(
            "olinda",
            ("Fe", "Cu", "Zn"),
            s,
            "grid",
            label="all",
            realisations=TEST_REALISATIONS,
            version="2",
        )
        for s in (4, 8, 16)
    )

    @classmethod
    def build(cls, raw_dir: Path) -> Scene:
        """Read and co-register the rasters; the geochemistry is :meth:`realise`'s."""
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
        elements = tuple(Element(m.symbol, m.unit, "log10") for m in SIMULATION.elements)
        return Scene(
            name=cls.name,
            version=cls.version,
            grid=grid,
            covariates=covariates,
            band_names=(*BANDS, "elevation"),
            valid=valid,
            elements=elements,
            licence=cls.licence,
            citation=cls.citation,
            description=cls.summary
            + "; Landsat in DN (uint8 as float), DEM in m; geochemistry simulated (see card).",
        )

    @classmethod
    def realise(cls, scene: Scene, realisation: int) -> Scene:
        """``scene`` with realisation ``realisation`` of the simulated geochemistry."""
        truth = simulate_geochemistry(
            scene.covariates, scene.valid, scene.grid.res[0], draw_simulation(realisation)
        )
        return dataclasses.replace(
            scene,
            truth=truth,
            options={"simulation": SIMULATION_VERSION, "realisation": realisation},
            realisation=realisation,
            _fingerprint=None,
        )


def simulate_geochemistry(
    covariates: NDArray[np.float32],
    valid: NDArray[np.bool_],
    pixel_size: float,
    simulation: Simulation,
) -> NDArray[np.float32]:
    """One realisation of the simulated geochemistry on the Olinda covariates.

    Args:
        covariates: the scene's bands (six Landsat bands and elevation), NaN off ``valid``.
        valid: cells where the geochemistry is defined.
        pixel_size: cell size (m).
        simulation: the realisation's parameters (:func:`draw_simulation`).

    Returns:
        float32 (E, H, W) in natural units, NaN off ``valid``, rounded to 6 significant digits.
    """
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
    sim = simulation
    rng = _stream(sim.realisation, 1)
    n = len(sim.elements)
    shape = valid.shape
    fields = np.stack(
        [gaussian_random_field(shape, pixel_size, sim.residual_range_m, rng) for _ in range(n)]
    )
    rho = sim.residual_correlation
    mixing = np.linalg.cholesky(np.full((n, n), rho) + (1 - rho) * np.eye(n))
    residual = np.tensordot(mixing, fields, axes=1)
    truth = np.empty((n, *shape), dtype=np.float32)
    for i, model in enumerate(sim.elements):
        response = np.tensordot(np.asarray(model.weights), features, axes=1)
        signal = ndimage.gaussian_filter(response, model.sigma_cells)
        signal = (signal - signal[valid].mean()) / (signal[valid].std() or 1.0)
        nugget = rng.standard_normal(shape) * sim.nugget_log10
        share = model.residual_share
        mixed = np.sqrt(1 - share) * signal + np.sqrt(share) * residual[i]
        log_value = model.log10_mean + model.log10_std * mixed + nugget
        truth[i] = stable_float32(np.where(valid, np.power(10.0, log_value), np.nan))
    return truth
