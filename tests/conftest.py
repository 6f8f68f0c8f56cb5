from __future__ import annotations

import numpy as np
import pytest

from geochem_bench.registry import get_task, load_scene
from geochem_bench.scene import Scene


@pytest.fixture(scope="session")
def scene() -> Scene:
    """The canonical synthetic scene (256x256, seed 0): fast to generate, shared read-only."""
    s = load_scene("synthetic")
    for array in (s.covariates, s.valid, s.truth):
        array.setflags(write=False)  # a test that mutates the shared scene fails loudly
    return s


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(params=["synthetic/cu/s16/points", "synthetic/cu/s16/transfer"])
def point_task(request: pytest.FixtureRequest):
    return get_task(request.param)
