from __future__ import annotations

import pytest

from geochem_bench.scenes.synthetic import SyntheticConfig, generate_synthetic


@pytest.fixture(scope="session")
def scene_4096():
    return generate_synthetic(SyntheticConfig(height=4096, width=4096))
