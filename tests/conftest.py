from __future__ import annotations

import numpy as np
import pytest

from geochem_bench.core.scene import Scene
from geochem_bench.scenes.registry import get_task, load_scene


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


# --- real and fake raw data ----------------------------------------------------------------

import functools  # noqa: E402
import http.server  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

from geochem_bench.data.sources import RawFile, sha256_of  # noqa: E402

#: The real raw data (never committed): $GEOCHEM_BENCH_RAW, else ../shared/raw beside the repo.
RAW_DIR = Path(
    os.environ.get("GEOCHEM_BENCH_RAW", Path(__file__).resolve().parents[2] / "shared" / "raw")
)
DATA = Path(__file__).with_name("data")


def require_raw() -> Path:
    if not (RAW_DIR / "SOURCES.json").is_file():
        raise FileNotFoundError(
            f"the real raw data is not at {RAW_DIR}; "
            "set GEOCHEM_BENCH_RAW to the folder with SOURCES.json"
        )
    return RAW_DIR


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve_folder(folder: Path):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="session")
def raw_server():
    """A local HTTP server on 127.0.0.1 serving the real raw data, like an upstream mirror."""
    server, url = serve_folder(require_raw())
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def built_root(tmp_path_factory, raw_server):
    """All real scenes downloaded from the local server and built once for the session."""
    from geochem_bench.scenes import REAL_SCENES

    root = tmp_path_factory.mktemp("data")
    for cls in REAL_SCENES:
        cls.load(root=root, download=True, mirror=raw_server, progress=False)
    return root


def load_generator(scene: str):
    spec = importlib.util.spec_from_file_location(f"fake_{scene}", DATA / scene / "data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate


def fake_files(mirror: Path, scene_folder: str) -> tuple[RawFile, ...]:
    """RawFile declarations for generated fake files (their sha256, an unreachable URL)."""
    return tuple(
        RawFile(
            f"{scene_folder}/{p.name}",
            f"https://example.invalid/{scene_folder}/{p.name}",
            sha256_of(p),
            p.stat().st_size,
        )
        for p in sorted((mirror / scene_folder).iterdir())
    )
