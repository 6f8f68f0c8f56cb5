"""Ordinary kriging: our moving neighbourhood vs PyKrige's default global solve.

900 observations (a regional survey), 20 000 prediction cells. Run:
pytest benchmarks/test_bench_kriging.py --benchmark-enable --benchmark-group-by=group
"""

from __future__ import annotations

import numpy as np
import pytest

from geochem_bench.models.kriging import fit_ordinary_kriging, krige_points


@pytest.fixture(scope="module")
def survey():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 60_000, 900), rng.uniform(0, 80_000, 900)
    z = np.sin(x / 8000) + np.cos(y / 9000) + rng.normal(0, 0.2, 900)
    ok = fit_ordinary_kriging(x, y, z, "spherical")
    return ok, rng.uniform(0, 60_000, 20_000), rng.uniform(0, 80_000, 20_000)


@pytest.mark.benchmark(group="ordinary kriging, 900 data, 20k cells")
def test_local_32_neighbours(benchmark, survey):
    ok, qx, qy = survey
    benchmark.pedantic(krige_points, args=(ok, qx, qy, 32), rounds=3, iterations=1)


@pytest.mark.benchmark(group="ordinary kriging, 900 data, 20k cells")
def test_pykrige_default_global(benchmark, survey):
    ok, qx, qy = survey
    benchmark.pedantic(ok.execute, args=("points", qx, qy), rounds=3, iterations=1)
