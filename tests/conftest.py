from __future__ import annotations

import json

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

import dataclasses  # noqa: E402
import functools  # noqa: E402
import http.server  # noqa: E402
import importlib.util  # noqa: E402
import os  # noqa: E402
import posixpath  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402

from numpy.typing import NDArray  # noqa: E402

from geochem_bench.data.sources import RawFile, sha256_of  # noqa: E402

#: The real raw data (never committed): $GEOCHEM_BENCH_RAW, else ../shared/raw beside the repo.
RAW_DIR = Path(
    os.environ.get("GEOCHEM_BENCH_RAW", Path(__file__).resolve().parents[2] / "shared" / "raw")
)
#: Why a ``real_data`` test is skipped: the one reason, the same for every such test.
RAW_MISSING = (
    f"real raw data absent: no SOURCES.json in {RAW_DIR} "
    "(set GEOCHEM_BENCH_RAW to the raw data folder to run the real_data tests)"
)
#: Seeded fake-data generators, one folder per scene, named like the scene (TorchGeo pattern).
DATA = Path(__file__).with_name("data")
#: Fixtures that read the real raw data: a test that uses one is a ``real_data`` test.
REAL_DATA_FIXTURES = frozenset({"raw_dir", "raw_server", "built_root"})


def raw_present() -> bool:
    return (RAW_DIR / "SOURCES.json").is_file()


def require_raw() -> Path:
    """The real raw data folder; skips (with :data:`RAW_MISSING`) when it is absent.

    Tests that reach it must carry the ``real_data`` marker (or use a fixture of
    :data:`REAL_DATA_FIXTURES`), so that ``-m "not real_data"`` deselects them.
    """
    if not raw_present():
        pytest.skip(RAW_MISSING)
    return RAW_DIR


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that needs the real raw data ``real_data``; skip them when it is absent."""
    present = raw_present()
    for item in items:
        if REAL_DATA_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_data)
        if not present and item.get_closest_marker("real_data") is not None:
            item.add_marker(pytest.mark.skip(reason=RAW_MISSING))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve_folder(folder: Path):
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture()
def hf_offline(monkeypatch):
    """Hugging Face offline mode for one test, without leaking into later tests.

    ``huggingface_hub`` and ``datasets`` read HF_HUB_OFFLINE when first imported, so setting
    the variable alone would either do nothing (already imported) or stick for the rest of
    the session (imported under it). Both are imported first, then the variables and the
    constants read from them are patched, and restored after the test.
    """
    import huggingface_hub.constants

    import datasets

    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(var, "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    return datasets


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    """The real raw data folder (the test is skipped when it is absent)."""
    return require_raw()


@pytest.fixture(scope="session")
def raw_server(raw_dir):
    """A local HTTP server on 127.0.0.1 serving the real raw data, like an upstream mirror."""
    server, url = serve_folder(raw_dir)
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


def load_fake_module(scene: str) -> ModuleType:
    """The fake-data generator module ``tests/data/<scene>/data.py``."""
    path = DATA / scene / "data.py"
    if not path.is_file():
        raise FileNotFoundError(f"scene {scene!r} has no fake-data generator {path}")
    spec = importlib.util.spec_from_file_location(f"fake_{scene.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_generator(scene: str):
    return load_fake_module(scene).generate


def fake_files(mirror: Path, scene_folder: str) -> tuple[RawFile, ...]:
    """RawFile declarations for generated fake files (their sha256, an unreachable URL)."""
    return tuple(
        RawFile(
            p.relative_to(mirror).as_posix(),
            f"https://example.invalid/{p.relative_to(mirror).as_posix()}",
            sha256_of(p),
            p.stat().st_size,
        )
        for p in sorted((mirror / scene_folder).rglob("*"))
        if p.is_file()
    )


def raw_folder(cls) -> str:
    """The folder of a scene's raw files in the raw data layout (``walker_lake``).

    The deepest folder holding all of them (``sir_samuel/uncover_ml``): two scenes may read
    different subfolders of one source folder, and each scene's fakes must own theirs.
    """
    folder = posixpath.commonpath([posixpath.dirname(f.path) for f in cls.files])
    assert folder, f"{cls.name}: raw files in several top-level folders"
    return folder


#: Edits a fake survey before it is written: ``edit(ids, x, y, values)`` changes in place the
#: sample coordinates ``x``, ``y`` (N,) (the scene's CRS, metres) and ``values`` (element
#: symbol -> (N,) concentrations as written raw), rows identified by ``ids`` (N,), the sample
#: ids the scene gives them. The generators of scenes with samples take one as ``edit``.
SampleEdit = Callable[
    [NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], dict[str, NDArray[np.float64]]],
    None,
]


def generate_fakes(
    cls, mirror: Path, seed: int = 0, edit: SampleEdit | None = None
) -> tuple[RawFile, ...]:
    """Generate a scene's fake raw files under ``mirror`` (raw data layout).

    Args:
        cls: the scene class.
        mirror: folder of the raw data layout the fakes are written to.
        seed: the generator's seed.
        edit: a change to the fake survey (see :data:`SampleEdit`), made before it is written.

    Returns:
        The scene's own ``files`` declarations (paths, URLs) with the sha256 and sizes of the
        fakes, to be swapped in for the real ones.

    Raises:
        AssertionError: the generator did not write exactly the declared files.
    """
    import shutil
    import tempfile

    folder = raw_folder(cls)
    options = {} if edit is None else {"edit": edit}  # scenes without samples take none
    # Generated apart, then copied in: two scenes may share a raw folder (the Lapland scenes
    # do), and each generator must write exactly its scene's files.
    with tempfile.TemporaryDirectory() as scratch:
        load_generator(cls.name)(Path(scratch) / folder, seed=seed, **options)
        made = {
            p.relative_to(scratch).as_posix(): p
            for p in (Path(scratch) / folder).rglob("*")
            if p.is_file()
        }
        declared = [f.path for f in cls.files]
        missing, extra = sorted(set(declared) - set(made)), sorted(set(made) - set(declared))
        assert not missing and not extra, (
            f"tests/data/{cls.name}/data.py must write exactly the files {cls.__name__}.files "
            f"declares; missing {missing}, not declared {extra}"
        )
        for path, source in made.items():
            dest = mirror / path
            if dest.is_file():  # another scene's file: one raw folder holds one copy of it
                assert dest.read_bytes() == source.read_bytes(), (
                    f"{path}: the fakes of {cls.name} and of another scene sharing the raw "
                    f"folder {folder!r} differ; a shared raw file must be the same bytes for "
                    "both, as the real one is (write it with the same generator and seed)"
                )
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, dest)
        return tuple(
            dataclasses.replace(f, sha256=sha256_of(made[f.path]), size=made[f.path].stat().st_size)
            for f in cls.files
        )


class FakeData:
    """Fake raw data of every real scene, generated, served and built on demand, once each.

    The fakes are written in the raw data layout under ``mirror`` and served over HTTP on
    127.0.0.1 like an upstream mirror; each scene is downloaded from there and built under
    ``root`` with its ``files`` declarations swapped for the fakes' sha256 only while it
    builds (the real declarations stay in place for the ``real_data`` tests).
    """

    def __init__(self, base: Path) -> None:
        self.mirror, self.root = base / "mirror", base / "root"
        self.mirror.mkdir(parents=True)
        self._files: dict[str, tuple[RawFile, ...]] = {}
        self._edited: dict[str, Scene] = {}
        self._server = None
        self._url = ""

    @staticmethod
    def scene_class(name: str):
        from geochem_bench.scenes import REAL_SCENES

        return {cls.name: cls for cls in REAL_SCENES}[name]

    def files(self, name: str) -> tuple[RawFile, ...]:
        """The fake declarations of a scene (its fakes are generated on first use)."""
        if name not in self._files:
            self._files[name] = generate_fakes(self.scene_class(name), self.mirror)
        return self._files[name]

    @property
    def url(self) -> str:
        if self._server is None:
            self._server, self._url = serve_folder(self.mirror)
        return self._url

    def build(self, name: str, root: Path | None = None, realisation: int | None = None):
        """Download the fakes of scene ``name`` from the server and build it (once per root;
        a simulated scene: its ``realisation``, by default the first test one)."""
        cls = self.scene_class(name)
        files = self.files(name)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(cls, "files", files)
            return cls.load(
                root=root or self.root,
                download=True,
                mirror=self.url,
                progress=False,
                realisation=realisation,
            )

    def build_edited(self, name: str, edit: SampleEdit, key: str):
        """Scene ``name`` built from its fakes with the survey changed by ``edit``.

        The edited fakes are generated (same seed) and built through the same ``load`` as
        :meth:`build`, from a folder mirror of their own, once per ``key`` (which must name the
        edit: builds are reused by key).
        """
        if key not in self._edited:
            cls = self.scene_class(name)
            base = self.mirror.parent / "edited" / key
            files = generate_fakes(cls, base / "mirror", edit=edit)
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(cls, "files", files)
                self._edited[key] = cls.load(
                    root=base / "root", download=True, mirror=str(base / "mirror"), progress=False
                )
        return self._edited[key]

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()


@pytest.fixture(scope="session")
def fake_data(tmp_path_factory):
    """The fake raw data of every real scene (see :class:`FakeData`)."""
    fakes = FakeData(tmp_path_factory.mktemp("fake"))
    yield fakes
    fakes.close()


def assert_every_fold_builds(scene_of, tasks) -> None:
    """Every fold of ``tasks`` builds, and no held-out sample is among the fold's inputs.

    ``scene_of(realisation)``: the scene of a realisation (None: a fixed scene's only one).
    """
    from geochem_bench.tasks.protocols import build_fold

    for task in tasks:
        for fold in task.folds:
            scene = scene_of(task.unit(fold)[0])
            inputs, held_out = build_fold(scene, task, fold)
            assert inputs.lowres.shape[0] == len(task.elements)
            if task.protocol == "grid":
                assert held_out.truth is not None
            else:
                assert len(held_out.sample_ids) > 0
                assert not np.isin(
                    held_out.sample_ids,
                    inputs.points.ids[np.isfinite(inputs.points.column(task.elements[0]))],
                ).any()


def add_canaries(out: Path) -> None:
    """Mark fold 0 of every task as canary-checked and clean (as `evaluate --canary` does)."""
    for path in out.rglob("fold-0.json"):
        record = json.loads(path.read_text())
        record["canary"] = {"changed": False, "max_abs_diff": 0.0, "tolerance": 1e-5}
        path.write_text(json.dumps(record))


#: The committed official baseline records (``leaderboard/results``).
OFFICIAL_RESULTS = Path(__file__).resolve().parents[1] / "leaderboard" / "results"


def release_suite(*names: str) -> list[str]:
    """The suite tasks that every named official submission has records of, at their current
    version: the suite the board tests that use these records as fixtures score on.

    A release adds tasks (or new versions of tasks) before every baseline is rerun on them;
    a test of the board's mechanics (ranks, refused files, verification) should not fail for
    that, so it scores the submissions it uses on the tasks their committed records cover.
    The committed board itself is checked against the whole suite
    (``test_committed_board_matches_a_fresh_rendering``).
    """
    from geochem_bench.scenes.registry import suite_tasks

    def version_of(name: str, task_id: str) -> str | None:
        found = sorted((OFFICIAL_RESULTS / name).glob(f"*/{task_id}/fold-0.json"))
        return json.loads(found[0].read_text())["task"]["version"] if found else None

    return [
        task.id
        for task in suite_tasks()
        if all(version_of(name, task.id) == task.version for name in names)
    ]


@pytest.fixture(scope="module")
def restore_scene_registry():
    """Surveys a module registers are forgotten after it: other modules see the built-ins."""
    from geochem_bench.scenes import registry

    saved = dict(registry._SCENES)
    yield
    registry._SCENES.clear()
    registry._SCENES.update(saved)
