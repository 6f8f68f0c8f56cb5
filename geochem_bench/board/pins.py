"""Pinned reference facts of every official task, the yardstick result records are checked by.

A result record carries the error sums of its protocol's reference prediction
(``sse_reference``, per bootstrap block) that its skill is computed against, and the sha256 of
the data it ran on. Neither can be
trusted as sent: scaling ``sse_reference`` by 100 turns any model into the best one. The
harness builds every official task deterministically, so these facts are known in advance and
ship with the package as ``resources/pins/benchmark-<BENCHMARK_VERSION>.json``: per task fold
and element, the number of blocks, the scored cells or samples, and the sum and sum of squares
of ``sse_reference`` (computed exactly as the harness computes them); per scene, its
fingerprint (per realisation for a simulated scene: a task's folds run on the scene's test
realisations). :mod:`geochem_bench.board.validation` compares records with them.

Maintainers regenerate the file after a change to a scene, task or the reference (which must
come with a new task or benchmark version)::

    python -m geochem_bench.board.pins --write
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict

from geochem_bench import BENCHMARK_VERSION
from geochem_bench.core.task import Prediction, TaskSpec
from geochem_bench.errors import InvalidInputError
from geochem_bench.evaluation.records import DatasetInfo, ErrorBlocks, TaskInfo, read_model

if TYPE_CHECKING:
    from geochem_bench.scenes.base import SceneDeclaration

#: Where the pins of this benchmark version ship inside the package.
PINS_FOLDER: Final = "pins"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ElementPin(_Strict):
    """Reference error facts of one element on one task fold (analysis space).

    Attributes:
        n_blocks: bootstrap blocks with at least one scored cell or sample.
        n: scored cells or samples, over all blocks.
        sse_reference: sum over blocks of the reference prediction's squared-error sums.
        sse_reference_sq: sum over blocks of the squared block sums (catches mass moved
            between blocks, which keeps the total but changes the bootstrap).
    """

    n_blocks: int
    n: int
    sse_reference: float
    sse_reference_sq: float


class TaskPin(_Strict):
    """The pinned facts of one task: its spec as records write it, and each fold's elements.

    The folds are the task's evaluation folds, realisation-major (``TaskSpec.folds``).
    """

    task: TaskInfo
    folds: list[dict[str, ElementPin]]


class ScenePin(_Strict):
    """The data of one scene as the official tasks use it.

    Attributes:
        dataset: name, version, build options and sha256 of every array (of the first test
            realisation of a simulated scene).
        bit_reproducible: whether the sha256 is the same on every machine (the scene's
            declaration); when False only the reference sums are compared.
        realisations: a simulated scene's datasets by test realisation (empty: one fixed
            realisation, ``dataset``).
    """

    dataset: DatasetInfo
    bit_reproducible: bool
    realisations: dict[int, DatasetInfo] = {}

    def dataset_of(self, realisation: int | None) -> DatasetInfo | None:
        """The pinned data of a realisation (None: the scene has no such pinned realisation)."""
        if realisation is None:
            return None if self.realisations else self.dataset
        return self.realisations.get(realisation)


class Pins(_Strict):
    """Every pinned fact of one benchmark version."""

    benchmark_version: str
    scenes: dict[str, ScenePin]
    tasks: dict[str, TaskPin]


def element_pin(blocks: ErrorBlocks) -> ElementPin:
    """The facts of one element's error blocks that a pin holds.

    ``math.fsum`` makes the sums exact and independent of block order.
    """
    return ElementPin(
        n_blocks=len(blocks.n),
        n=sum(blocks.n),
        sse_reference=math.fsum(blocks.sse_reference),
        sse_reference_sq=math.fsum(v * v for v in blocks.sse_reference),
    )


def compute_pins(root: str | Path | None = None) -> Pins:
    """Build every official scene and compute the pins of every official task.

    Args:
        root: data root of the real scenes (default ``$GEOCHEM_BENCH_DATA``); missing scenes
            are built from the raw files there (``geochem-bench download`` first).
    """
    from geochem_bench.scenes import SCENES, RealScene

    scenes: dict[str, ScenePin] = {}
    tasks: dict[str, TaskPin] = {}
    for cls in SCENES:
        if not cls.in_suite:
            continue
        options: dict[str, Any] = {"root": root} if issubclass(cls, RealScene) else {}
        scenes[cls.name] = scene_pin(cls, **options)
        for task in cls.tasks:
            tasks[task.id] = task_pin(task, **options)
    return Pins(benchmark_version=BENCHMARK_VERSION, scenes=scenes, tasks=tasks)


def scene_pin(cls: type[SceneDeclaration], **options: Any) -> ScenePin:
    """The pinned data of one scene (each test realisation of a simulated one).

    Args:
        cls: the scene's declaration.
        **options: its loader's options (``root`` of a real scene).
    """
    from geochem_bench.evaluation.record_factory import dataset_info
    from geochem_bench.scenes.registry import load_scene

    return ScenePin(
        dataset=dataset_info(load_scene(cls.name, **options)),
        bit_reproducible=cls.bit_reproducible,
        realisations={
            r: dataset_info(load_scene(cls.name, realisation=r, **options))
            for r in cls.test_realisations
        },
    )


def task_pin(task: TaskSpec, **options: Any) -> TaskPin:
    """The pinned reference facts of one task, fold by fold.

    The reference error blocks come from the harness's own functions: the fold's scene from
    :func:`~geochem_bench.scenes.registry.load_fold_scene` (its realisation), the fold from
    :func:`~geochem_bench.tasks.protocols.build_fold`, the protocol's reference from
    :func:`~geochem_bench.evaluation.reference.reference_prediction` and the blocks from
    :func:`~geochem_bench.evaluation.scoring.error_blocks` (scoring the reference as the
    prediction: only its ``sse_reference`` is kept).

    Args:
        task: the task.
        **options: its scene loader's options (``root`` of a real scene).
    """
    from geochem_bench.evaluation.reference import reference_prediction
    from geochem_bench.evaluation.scoring import error_blocks
    from geochem_bench.scenes.registry import load_fold_scene
    from geochem_bench.tasks.protocols import build_fold, task_split

    folds = []
    for fold in task.folds:
        scene = load_fold_scene(task, fold, **options)
        split = task_split(scene, task) if task.protocol != "grid" else None
        inputs, held_out = build_fold(scene, task, fold, split=split)
        reference = reference_prediction(inputs)
        blocks = error_blocks(inputs, held_out, Prediction(mean=reference), reference)
        folds.append({symbol: element_pin(b) for symbol, b in blocks.items()})
    return TaskPin(task=TaskInfo(**task.to_dict()), folds=folds)


def pins_path(benchmark_version: str = BENCHMARK_VERSION) -> Path:
    """The packaged pins file of a benchmark version.

    Raises:
        InvalidInputError: a version that is not ``MAJOR.MINOR``.
    """
    from geochem_bench import resources

    check_benchmark_version(benchmark_version)
    return resources.root() / PINS_FOLDER / f"benchmark-{benchmark_version}.json"


def check_benchmark_version(version: str) -> str:
    """``version`` if it is ``MAJOR.MINOR`` (it names a packaged file).

    Raises:
        InvalidInputError: anything else.
    """
    if re.fullmatch(r"\d{1,3}\.\d{1,3}", version) is None:
        raise InvalidInputError(f"benchmark version must look like 2.0, got {version!r}")
    return version


def read_pins(path: str | Path) -> Pins:
    """Read and validate a pins file.

    Raises:
        InvalidInputError: naming the file, when it is not a valid pins file.
    """
    fix = "; regenerate it with `python -m geochem_bench.board.pins --write`"
    return read_model(path, Pins, "pins file", fix)


@lru_cache(maxsize=2)
def load_pins(benchmark_version: str = BENCHMARK_VERSION) -> Pins:
    """The packaged pins of a benchmark version (read once).

    Raises:
        InvalidInputError: the package has no pins for that version.
    """
    path = pins_path(benchmark_version)
    if not path.is_file():
        raise InvalidInputError(
            f"no pinned reference facts for benchmark v{benchmark_version} ({path} is missing); "
            "maintainers create it with `python -m geochem_bench.board.pins --write`"
        )
    return read_pins(path)


def pins_json(pins: Pins) -> str:
    """The pins file's text: compact, one task per line, so that diffs stay readable."""
    head = pins.model_dump_json(exclude={"tasks"}, indent=1)
    tasks = ",\n".join(
        f'  "{task_id}": {pin.model_dump_json()}' for task_id, pin in pins.tasks.items()
    )
    return head[:-2] + ',\n "tasks": {\n' + tasks + "\n }\n}\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m geochem_bench.board.pins [--write] [--root DIR]``: print or write the pins."""
    from geochem_bench.core.atomic import write_text_atomic

    parser = argparse.ArgumentParser(
        prog="python -m geochem_bench.board.pins",
        description="compute the pinned reference facts of every official task",
    )
    parser.add_argument("--write", action="store_true", help=f"write {pins_path()}")
    parser.add_argument("--root", help="data root of the real scenes ($GEOCHEM_BENCH_DATA)")
    args = parser.parse_args(argv)
    text = pins_json(compute_pins(args.root))
    if args.write:
        path = pins_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
        print(f"wrote {path} ({len(text.encode())} bytes)")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
