"""Downloadable scenes, declared TorchGeo-style.

Raw files with pinned URLs and sha256 are class attributes, ``build`` turns the raw files into
a scene deterministically, and ``load`` is the one loader used by everyone.
"""

from __future__ import annotations

import json
import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.sources import RawFile, default_root, fetch
from geochem_bench.data.store import check_manifest, is_built, read_scene, write_scene
from geochem_bench.errors import SceneNotFoundError
from geochem_bench.resources import dataset_card
from geochem_bench.tasks.protocols import split_name, task_split


class SceneDeclaration(ABC):
    """Everything the package knows about one scene, declared in one module.

    A scene module defines one subclass with these class attributes; the catalogue
    (:mod:`geochem_bench.scenes.registry`), ``geochem-bench cite``, the TorchGeo dataset class
    and its datamodule are all derived from it, and its dataset card ships as
    ``geochem_bench/resources/datasets/<name>/README.md``. See ``docs/adding-a-scene.md``.

    Attributes:
        name: scene name used in task ids (``"meuse"``).
        version: version of the build recipe; a built folder of another version is rebuilt.
        licence: licence of the data (SPDX id where one exists).
        citation: one human-readable line: whom the data come from.
        citations: BibTeX entries of the data and the papers that define it, or keys of
            entries declared elsewhere (another scene, :mod:`geochem_bench.board.citations`).
        summary: one line for ``geochem-bench list``.
        size: grid, bands and samples, known without loading.
        tasks: the tasks defined on the scene.
        needs_download: whether :meth:`load` reads raw files that must be downloaded.
        in_suite: whether its tasks belong to the official suite.
        bit_reproducible: whether a build gives byte-identical arrays on every machine. The
            board then requires a result's dataset sha256 to equal the pinned one (see
            :mod:`geochem_bench.board.pins`); otherwise it compares reference error sums within
            a tolerance instead.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    licence: ClassVar[str]
    citation: ClassVar[str]
    citations: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[str]
    size: ClassVar[str]
    tasks: ClassVar[tuple[TaskSpec, ...]]
    needs_download: ClassVar[bool] = True
    in_suite: ClassVar[bool] = True
    bit_reproducible: ClassVar[bool] = True

    @classmethod
    @abstractmethod
    def load(cls, **options: Any) -> Scene:
        """Load (or generate) the scene."""


class RealScene(SceneDeclaration):
    """A scene built from downloaded public data.

    Besides the :class:`SceneDeclaration` attributes, subclasses declare ``files`` (raw files
    with URLs pinned to a commit and their sha256, usually through
    :class:`~geochem_bench.data.sources.Upstream`) and implement :meth:`build`. :meth:`load`
    is the only way a scene is read, by the harness and by the dataset classes alike.
    """

    files: ClassVar[tuple[RawFile, ...]]

    @classmethod
    @abstractmethod
    def build(cls, raw_dir: Path) -> Scene:
        """Build the scene from the raw files under ``raw_dir`` (deterministic)."""

    @classmethod
    def scene_dir(cls, root: str | Path | None = None) -> Path:
        """Where the built scene lives: ``<root>/<name>``."""
        return Path(root or default_root()) / cls.name

    @classmethod
    def load(  # type: ignore[override]  # the download options of every real scene
        cls,
        root: str | Path | None = None,
        download: bool = False,
        checksum: bool = False,
        mirror: str | None = None,
        progress: bool = True,
    ) -> Scene:
        """Load the built scene, building it (and downloading raw files) when needed.

        Args:
            root: data root (default ``$GEOCHEM_BENCH_DATA`` or ``~/.cache/geochem-bench``).
                Raw files go to ``<root>/raw/``, the build to ``<root>/<name>/``.
            download: fetch missing raw files from upstream (or ``mirror``).
            checksum: verify the raw files and the built files against their sha256.
            mirror: folder or base URL replacing the upstream hosts.
            progress: show download progress.

        Raises:
            SceneNotFoundError: files are missing and ``download`` is False.
            ChecksumError: a raw file does not match its sha256.
        """
        root = Path(root or default_root())
        out = cls.scene_dir(root)
        if is_built(out) and _built_version(out) == cls.version:
            if checksum:
                check_manifest(out)
            return read_scene(out)
        raw_dir = root / "raw"
        missing = [f.path for f in cls.files if not (raw_dir / f.path).is_file()]
        if missing and not download:
            raise SceneNotFoundError(
                f"scene {cls.name!r} is not built in {root} and raw files are missing "
                f"({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}); "
                "use download=True "
                f"(CLI: geochem-bench download {cls.name}), or point root/$GEOCHEM_BENCH_DATA at "
                "a folder that has it"
            )
        for raw in cls.files:
            fetch(
                raw,
                raw_dir,
                mirror=mirror,
                checksum=checksum or raw.path in missing,
                progress=progress,
            )
        scene = cls.build(raw_dir)
        for task in cls.tasks:  # ship the spatial-block folds as split files
            if task.protocol != "grid" and task.split is None:
                scene.splits[split_name(task)] = task_split(scene, task)
        write_scene(scene, out)
        card = dataset_card(cls.name)
        if card is not None:  # the Hugging Face card travels with the build
            shutil.copyfile(card, out / "README.md")
        return read_scene(out)


def _built_version(out: Path) -> str | None:
    try:
        return str(json.loads((out / "scene.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None
