from __future__ import annotations

import os
from pathlib import Path

import pytest

from geochem_bench.scenes.synthetic import SyntheticConfig, generate_synthetic

#: The real raw data: $GEOCHEM_BENCH_RAW, else ../shared/raw beside the repo (as in tests/).
RAW_DIR = Path(
    os.environ.get("GEOCHEM_BENCH_RAW", Path(__file__).resolve().parents[2] / "shared" / "raw")
)
RAW_MISSING = (
    f"real raw data absent: no SOURCES.json in {RAW_DIR} "
    "(set GEOCHEM_BENCH_RAW to the raw data folder to run the real_data benchmarks)"
)


def raw_present() -> bool:
    return (RAW_DIR / "SOURCES.json").is_file()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the ``real_data`` benchmarks, with one reason, when the raw data is absent."""
    if raw_present():
        return
    for item in items:
        if item.get_closest_marker("real_data") is not None:
            item.add_marker(pytest.mark.skip(reason=RAW_MISSING))


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    """The real raw data folder (skipped when it is absent; mark the benchmark ``real_data``)."""
    if not raw_present():
        pytest.skip(RAW_MISSING)
    return RAW_DIR


@pytest.fixture(scope="session")
def scene_4096():
    return generate_synthetic(SyntheticConfig(height=4096, width=4096))
