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

A task whose version changed keeps the pins of its earlier versions, with the data they ran
on, under ``superseded`` (:func:`carry_superseded`): the records of an earlier version stay
valid for that version, and the board scores them apart, marked as superseded. Writing new
pins for a task whose version did not change is refused: its records would silently stop
matching.
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
#: Relative tolerance of the reference sums of a bit-reproducible scene: the arrays are the
#: same bytes, only the summation order of the record's blocks may differ.
EXACT_REL_TOL: Final = 1e-9
#: Relative tolerance of the reference sums of a scene that is not bit-reproducible. Measured
#: on the synthetic scene: committed records (another EPYC) vs pins made here (AVX-512) differ
#: by up to 8.7e-9, pins made with AVX-512 disabled by up to 9.9e-8; 1e-5 is 100x that, while a
#: forged reference moves skill by about half its relative change (a 1e-5 change: 5e-6 skill).
REPRODUCIBLE_REL_TOL: Final = 1e-5


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


class SupersededPin(_Strict):
    """An earlier version of a task: its pinned facts and the data that version ran on.

    Attributes:
        task: the task's pin at that version.
        scene: its scene's pin at the time (the scene version that task version used).
    """

    task: TaskPin
    scene: ScenePin


class Pins(_Strict):
    """Every pinned fact of one benchmark version.

    Attributes:
        benchmark_version: the benchmark version.
        scenes: the pinned data of each suite scene.
        tasks: the pins of each suite task, at its current version.
        superseded: earlier versions of suite tasks, by :func:`superseded_key`.
    """

    benchmark_version: str
    scenes: dict[str, ScenePin]
    tasks: dict[str, TaskPin]
    superseded: dict[str, SupersededPin] = {}

    def pin_of(self, task_id: str, version: str) -> tuple[TaskPin, ScenePin] | None:
        """The pin of a task at ``version`` and its scene's pin (None: not pinned).

        The current version's, or a superseded version's with the data it ran on.
        """
        pin = self.tasks.get(task_id)
        if pin is not None and pin.task.version == version:
            return pin, self.scenes[pin.task.scene]
        old = self.superseded.get(superseded_key(task_id, version))
        return None if old is None else (old.task, old.scene)

    def is_superseded(self, task_id: str, version: str) -> bool:
        """Whether ``version`` of the task is an earlier, superseded one that is pinned."""
        pin = self.tasks.get(task_id)
        return (
            pin is not None
            and pin.task.version != version
            and superseded_key(task_id, version) in self.superseded
        )


def superseded_key(task_id: str, version: str) -> str:
    """The key of a superseded task version in :attr:`Pins.superseded`: ``<task id>@<version>``."""
    return f"{task_id}@{version}"


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


def survey_pins(folder: str | Path) -> Pins:
    """The pins of a user's survey (a ``make-task`` build): its data and its tasks' facts.

    Computed from the survey itself, the way :func:`compute_pins` pins the suite, so that a
    board of the survey's records (``geochem-bench leaderboard --survey``) checks them exactly
    as the official board checks its own: same task spec, same data, reference sums that
    match. A record of an earlier build of the survey (other samples, other folds) is refused.
    """
    from geochem_bench.evaluation.record_factory import dataset_info
    from geochem_bench.scenes.lowres_grid import WALD_FOLDER
    from geochem_bench.scenes.survey import register_survey

    entry = register_survey(folder)
    scene = entry.loader()
    pins = Pins(
        benchmark_version=BENCHMARK_VERSION,
        scenes={scene.name: ScenePin(dataset=dataset_info(scene), bit_reproducible=True)},
        tasks={task.id: task_pin(task) for task in entry.tasks},
    )
    wald = Path(folder) / WALD_FOLDER
    if (wald / "scene.json").is_file():  # a lowres grid's Wald tasks are the survey's too
        inner = survey_pins(wald)
        pins = pins.model_copy(
            update={
                "scenes": pins.scenes | inner.scenes,
                "tasks": pins.tasks | inner.tasks,
            }
        )
    return pins


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


def carry_superseded(fresh: Pins, previous: Pins | None) -> Pins:
    """``fresh`` with the earlier task versions that ``previous`` pinned kept as superseded.

    A task of ``previous`` whose version in ``fresh`` differs goes to ``superseded`` with its
    scene's pin of the time; entries ``previous`` already had as superseded stay. A task that
    left the suite is not superseded (no newer version replaces it): its pin is dropped, with
    its earlier versions, and its records leave the board.

    Raises:
        InvalidInputError: a task keeps its version but its pins or its data changed (another
            count, reference sum or, for a bit-reproducible scene, dataset sha256): bump
            ``TaskSpec.version`` (or the benchmark version), or its records stop matching.
    """
    if previous is None:
        return fresh
    superseded = {
        key: pin
        for key, pin in previous.superseded.items()
        if key.rpartition("@")[0] in fresh.tasks
    }
    for task_id, old in previous.tasks.items():
        new = fresh.tasks.get(task_id)
        if new is None:
            continue
        old_scene = previous.scenes[old.task.scene]
        if new.task.version != old.task.version:
            key = superseded_key(task_id, old.task.version)
            superseded[key] = SupersededPin(task=old, scene=old_scene)
            continue
        problem = _pin_change(old, new, old_scene, fresh.scenes[new.task.scene])
        if problem:
            raise InvalidInputError(
                f"task {task_id} keeps version {old.task.version} but {problem}: bump its "
                "TaskSpec.version so that the records of the old version stay valid for it"
            )
    for key in list(superseded):  # a version that is current again is no longer superseded
        task_id, _, version = key.rpartition("@")
        if task_id in fresh.tasks and fresh.tasks[task_id].task.version == version:
            del superseded[key]
    return fresh.model_copy(update={"superseded": dict(sorted(superseded.items()))})


def _pin_change(old: TaskPin, new: TaskPin, old_scene: ScenePin, new_scene: ScenePin) -> str:
    """What differs between two pins of the same task version ("" when nothing does)."""
    if old.task.canonical() != new.task.canonical():
        return "its description changed"
    if old_scene.bit_reproducible and new_scene.bit_reproducible:
        if old_scene != new_scene:
            return f"the data of scene {old.task.scene} changed"
        rel = EXACT_REL_TOL
    else:
        rel = REPRODUCIBLE_REL_TOL
    for fold, (a, b) in enumerate(zip(old.folds, new.folds, strict=True)):
        for symbol, pin in a.items():
            other = b.get(symbol)
            if other is None or (pin.n_blocks, pin.n) != (other.n_blocks, other.n):
                return f"the scored counts of fold {fold} {symbol} changed"
            if not math.isclose(pin.sse_reference, other.sse_reference, rel_tol=rel):
                return f"the reference error of fold {fold} {symbol} changed"
    return ""


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
    head = pins.model_dump_json(exclude={"tasks", "superseded"}, indent=1)
    tasks = ",\n".join(
        f'  "{task_id}": {pin.model_dump_json()}' for task_id, pin in pins.tasks.items()
    )
    text = head[:-2] + ',\n "tasks": {\n' + tasks + "\n }"
    if pins.superseded:  # absent from files written before any task was versioned
        old = ",\n".join(
            f'  "{key}": {pin.model_dump_json()}' for key, pin in pins.superseded.items()
        )
        text += ',\n "superseded": {\n' + old + "\n }"
    return text + "\n}\n"


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
    path = pins_path()
    previous = read_pins(path) if path.is_file() else None
    text = pins_json(carry_superseded(compute_pins(args.root), previous))
    if args.write:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
        print(f"wrote {path} ({len(text.encode())} bytes)")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
