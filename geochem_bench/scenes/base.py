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

from geochem_bench.core.names import path_within
from geochem_bench.core.scene import Scene, resolve_realisation
from geochem_bench.core.task import TaskSpec
from geochem_bench.data.sources import RawFile, default_root, fetch, verify
from geochem_bench.data.store import built_folder, is_built, read_scene, write_scene
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
        test_realisations: a simulated scene's numbered realisations that the official tasks
            run on (empty: the scene has one fixed realisation). :meth:`load` builds the first
            one unless told ``realisation=``.
        dev_realisations: a simulated scene's public realisations for tuning (see
            ``docs/realisations.md``); any other number >= 0 loads too, for experiments.
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
    test_realisations: ClassVar[tuple[int, ...]] = ()
    dev_realisations: ClassVar[tuple[int, ...]] = ()

    @classmethod
    @abstractmethod
    def load(cls, **options: Any) -> Scene:
        """Load (or generate) the scene."""

    @classmethod
    def resolve_realisation(cls, realisation: int | None) -> int | None:
        """The realisation :meth:`load` builds when asked for ``realisation`` (checked).

        Raises:
            InvalidInputError: see :func:`~geochem_bench.core.scene.resolve_realisation`.
        """
        return resolve_realisation(cls.name, cls.test_realisations, realisation)


class RealScene(SceneDeclaration):
    """A scene built from downloaded public data.

    Besides the :class:`SceneDeclaration` attributes, subclasses declare ``files`` (raw files
    with URLs pinned to a commit and their sha256, usually through
    :class:`~geochem_bench.data.sources.Upstream`) and implement :meth:`build`. :meth:`load`
    is the only way a scene is read, by the harness and by the dataset classes alike.

    A scene whose geochemistry is simulated on real remote sensing declares
    ``test_realisations`` and implements :meth:`realise`, which draws realisation ``r`` of the
    simulation on the built real data; each realisation is built in its own folder
    (:meth:`scene_dir`).
    """

    files: ClassVar[tuple[RawFile, ...]]

    @classmethod
    @abstractmethod
    def build(cls, raw_dir: Path) -> Scene:
        """Build the scene from the raw files under ``raw_dir`` (deterministic)."""

    @classmethod
    def realise(cls, scene: Scene, realisation: int) -> Scene:
        """Realisation ``realisation`` of the simulated part, on the scene :meth:`build` made.

        Only scenes with ``test_realisations`` implement it.
        """
        raise NotImplementedError(
            f"{cls.__name__} declares test_realisations but does not implement realise()"
        )

    @classmethod
    def build_realisation(cls, raw_dir: Path, realisation: int | None = None) -> Scene:
        """:meth:`build`, then :meth:`realise` a simulated scene's ``realisation``.

        Args:
            raw_dir: the raw files' folder.
            realisation: as :meth:`load`'s (default: the first test realisation).
        """
        realisation = cls.resolve_realisation(realisation)
        scene = cls.build(raw_dir)
        return scene if realisation is None else cls.realise(scene, realisation)

    @classmethod
    def scene_dir(cls, root: str | Path | None = None, realisation: int | None = None) -> Path:
        """Where a build lives: ``<root>/<name>``.

        A simulated scene builds each realisation in its own folder,
        ``<root>/<name>/realisation-<r>`` (default: its first test realisation).
        """
        return built_folder(
            Path(root or default_root()), cls.name, cls.resolve_realisation(realisation)
        )

    @classmethod
    def fix_command(cls) -> str:
        """The command that replaces a corrupt or edited scene: re-fetch raw files, rebuild."""
        return f"geochem-bench download {cls.name} --force"

    @classmethod
    def _fix(cls) -> str:
        return (
            f"Run `{cls.fix_command()}` to download its raw files again and rebuild it "
            "(add --root/--mirror as for the first download)."
        )

    @classmethod
    def verify_raw(cls, root: str | Path | None = None) -> tuple[list[str], list[str]]:
        """Hash every present raw file of the scene against its declared sha256.

        Args:
            root: data root (raw files under ``<root>/raw/``).

        Returns:
            The raw paths verified and the raw paths not present.

        Raises:
            ChecksumError: a present raw file differs, naming it and :meth:`fix_command`.
        """
        raw_dir = Path(root or default_root()) / "raw"
        verified, missing = [], []
        for raw in cls.files:
            if (raw_dir / raw.path).is_file():
                verify(raw, raw_dir / raw.path, cls._fix())
                verified.append(raw.path)
            else:
                missing.append(raw.path)
        return verified, missing

    @classmethod
    def load(  # type: ignore[override]  # the download options of every real scene
        cls,
        root: str | Path | None = None,
        download: bool = False,
        checksum: bool = False,
        mirror: str | None = None,
        progress: bool = True,
        force: bool = False,
        realisation: int | None = None,
    ) -> Scene:
        """Load the built scene, building it (and downloading raw files) when needed.

        Every load checks the build against its manifest: files unchanged since this process
        hashed them cost a ``stat``, others are hashed (see
        :mod:`geochem_bench.data.verification`). Raw files are always hashed before a build.

        Args:
            root: data root (default ``$GEOCHEM_BENCH_DATA`` or ``~/.cache/geochem-bench``).
                Raw files go to ``<root>/raw/``, the build to ``<root>/<name>/`` (a
                realisation's to ``<root>/<name>/realisation-<r>/``).
            download: fetch missing raw files from upstream (or ``mirror``).
            checksum: hash every built file again, and every present raw file.
            mirror: folder or base URL replacing the upstream hosts.
            progress: show download progress.
            force: delete the scene's raw files and build, download them again and rebuild
                (implies ``download``): the fix for a corrupt or edited scene. Every built
                realisation is deleted; this one is rebuilt.
            realisation: which realisation of a simulated scene (default: its first test
                realisation); a scene that is not simulated refuses a number.

        Raises:
            SceneNotFoundError: files are missing and ``download`` is False.
            InvalidInputError: a realisation the scene does not have.
            ChecksumError: a raw or built file does not match its sha256; the message names
                the file and the fix (``geochem-bench download SCENE --force``).
        """
        root = Path(root or default_root())
        realisation = cls.resolve_realisation(realisation)
        out = cls.scene_dir(root, realisation)
        raw_dir = root / "raw"
        if force:
            download = True
            for raw in cls.files:
                path_within(raw_dir, raw.path).unlink(missing_ok=True)
            every = built_folder(root, cls.name)  # every realisation: they share the raw files
            if every.is_dir():
                shutil.rmtree(every)
        if is_built(out) and _built_version(out) == cls.version:
            if checksum:
                cls.verify_raw(root)
            return read_scene(out, checksum=checksum, fix=cls._fix())
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
            # Every raw file is hashed before a build, present or new: a build inherits the
            # trust of its inputs, and a corrupt raw file must not turn into a fresh manifest.
            fetch(raw, raw_dir, mirror=mirror, checksum=True, progress=progress, fix=cls._fix())
        scene = cls.build_realisation(raw_dir, realisation)
        for task in cls.tasks:  # ship the spatial-block folds as split files
            if task.protocol != "grid" and task.split is None:
                scene.splits[split_name(task)] = task_split(scene, task)
        write_scene(scene, out)
        card = dataset_card(cls.name)
        if card is not None:  # the Hugging Face card travels with the build
            shutil.copyfile(card, out / "README.md")
        return read_scene(out, fix=cls._fix())


def _built_version(out: Path) -> str | None:
    try:
        return str(json.loads((out / "scene.json").read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None
