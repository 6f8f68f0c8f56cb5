"""Synthetic scene generation time.

Run: pytest benchmarks/test_bench_synthetic.py --benchmark-enable
"""

from __future__ import annotations

import pytest

from geochem_bench.scenes.synthetic import SyntheticConfig, generate_synthetic


@pytest.mark.benchmark(group="synthetic generation")
@pytest.mark.parametrize("size", [256, 2048])
def test_generate(benchmark, size):
    scene = benchmark.pedantic(
        generate_synthetic, args=(SyntheticConfig(height=size, width=size),), rounds=3, iterations=1
    )
    assert scene.truth.shape == (6, size, size)
