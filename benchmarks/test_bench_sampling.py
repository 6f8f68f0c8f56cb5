"""Patch sampling throughput on the same GeoTIFF: our dataset vs TorchGeo vs raw rasterio.

The Lapland scene (1642 x 1361 cells, 25 covariate bands, float32) is built from the raw data
(``$GEOCHEM_BENCH_RAW`` or ``../shared/raw``; marked ``real_data``, skipped when it is absent);
each round draws 500 random 80 x 80 patches:

- ``geochem-bench LaplandIOCGDataset``: the task fold is assembled once in memory (covariates,
  lowres grid, upsampled lowres, valid mask, rasterised samples), then patches are crops;
- ``torchgeo RasterDataset + RandomGeoSampler``: the covariate GeoTIFF read per patch through
  TorchGeo's spatial index (the image only);
- ``rasterio windowed reads``: the floor for reading patches from disk (the image only).

Run: pytest benchmarks/test_bench_sampling.py --benchmark-enable --benchmark-group-by=group
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.real_data

PATCH = 80
DRAWS = 500
GROUP = f"{DRAWS} random {PATCH}x{PATCH} patches, 25 bands"


@pytest.fixture(scope="module")
def lapland_root(tmp_path_factory, raw_dir):
    from geochem_bench.scenes.registry import load_scene

    root = tmp_path_factory.mktemp("data")
    load_scene("lapland-iocg", root=root, download=True, mirror=str(raw_dir))
    return root


@pytest.mark.benchmark(group=GROUP)
def test_geochem_bench_dataset(benchmark, lapland_root):
    from geochem_bench.torch.datasets import LaplandIOCGDataset

    dataset = LaplandIOCGDataset(
        root=lapland_root, task="lapland-iocg/cu/s40/points", patch_size=PATCH
    )
    rng = np.random.default_rng(0)

    def draw() -> None:
        for i in rng.integers(0, len(dataset), DRAWS):
            dataset[int(i)]

    benchmark.pedantic(draw, rounds=3, iterations=1)


@pytest.mark.benchmark(group=GROUP)
def test_torchgeo_raster_dataset(benchmark, lapland_root):
    import torch
    from torchgeo.datasets import RasterDataset
    from torchgeo.samplers import RandomGeoSampler

    dataset = RasterDataset(paths=[str(lapland_root / "lapland-iocg" / "covariates.tif")])
    sampler = RandomGeoSampler(
        dataset, size=PATCH, length=DRAWS, generator=torch.Generator().manual_seed(0)
    )

    def draw() -> None:
        for query in sampler:
            dataset[query]

    benchmark.pedantic(draw, rounds=3, iterations=1)


@pytest.mark.benchmark(group=GROUP)
def test_rasterio_windowed_reads(benchmark, lapland_root):
    import rasterio
    from rasterio.windows import Window

    path = lapland_root / "lapland-iocg" / "covariates.tif"
    rng = np.random.default_rng(0)

    def draw() -> None:
        with rasterio.open(path) as src:
            for _ in range(DRAWS):
                row = int(rng.integers(0, src.height - PATCH))
                col = int(rng.integers(0, src.width - PATCH))
                src.read(window=Window(col, row, PATCH, PATCH))

    benchmark.pedantic(draw, rounds=3, iterations=1)
