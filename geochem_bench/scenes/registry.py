"""The catalogue of scenes and tasks: what ``geochem-bench list`` shows.

Each scene registers how to load it and the tasks defined on it. Loading is lazy and cached,
so listing tasks never generates or reads a raster. A simulated scene comes in numbered
realisations: its registered tasks run on the test realisations, and :func:`dev_task` gives
the copy of a task on the public dev realisations, for tuning (``docs/realisations.md``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from geochem_bench.core.scene import Scene, resolve_realisation
from geochem_bench.core.task import DEV_SUFFIX, TaskSpec
from geochem_bench.errors import InvalidInputError, UnknownNameError

SceneLoader = Callable[..., Scene]


@dataclass(frozen=True)
class SceneEntry:
    """A scene of the catalogue.

    Attributes:
        name: scene name used in task ids.
        summary: one line for ``geochem-bench list``.
        size: human-readable size (grid, bands, samples) known without loading.
        licence: licence of the data.
        loader: ``loader(**options) -> Scene``; options such as ``root`` or ``download`` are
            passed through from the caller.
        tasks: the tasks defined on this scene.
        needs_download: whether the scene reads files that must be downloaded first.
        in_suite: whether its tasks belong to the official suite of this benchmark version
            (user surveys made with ``make-task`` do not).
        test_realisations: a simulated scene's realisations that its tasks run on (empty: one
            fixed realisation; the loader is then never given ``realisation``).
        dev_realisations: a simulated scene's public realisations for tuning.
    """

    name: str
    summary: str
    size: str
    licence: str
    loader: SceneLoader
    tasks: tuple[TaskSpec, ...] = field(default_factory=tuple)
    needs_download: bool = False
    in_suite: bool = True
    test_realisations: tuple[int, ...] = ()
    dev_realisations: tuple[int, ...] = ()


_SCENES: dict[str, SceneEntry] = {}


def register_scene(entry: SceneEntry) -> None:
    """Add a scene and its tasks to the catalogue (re-registering replaces it)."""
    for task in entry.tasks:
        if task.scene != entry.name:
            raise InvalidInputError(f"task {task.id} does not belong to scene {entry.name!r}")
    if entry.name in _SCENES:
        _load_cached.cache_clear()  # a replaced scene must not be served from the old copy
    _SCENES[entry.name] = entry


def scenes() -> dict[str, SceneEntry]:
    """All registered scenes by name."""
    _ensure_builtin()
    return dict(_SCENES)


def list_tasks(patterns: list[str] | None = None) -> list[TaskSpec]:
    """Registered tasks, optionally filtered by glob patterns on the id (``synthetic/*``).

    Raises:
        KeyError: when a pattern matches no task.
    """
    _ensure_builtin()
    tasks = [t for entry in _SCENES.values() for t in entry.tasks]
    if not patterns:
        return tasks
    selected: list[TaskSpec] = []
    for pattern in patterns:
        matched = [t for t in tasks if fnmatch.fnmatchcase(t.id, pattern)]
        if not matched:
            raise UnknownNameError(
                f"no task matches {pattern!r}; run `geochem-bench list` to see the task ids"
            )
        selected.extend(t for t in matched if t not in selected)
    return selected


def suite_tasks() -> list[TaskSpec]:
    """The tasks of the official suite: what a leaderboard submission must cover."""
    _ensure_builtin()
    return [t for entry in _SCENES.values() if entry.in_suite for t in entry.tasks]


def get_task(task_id: str) -> TaskSpec:
    """A task by its exact id (``.../dev``: the :func:`dev_task` of a registered task)."""
    base_id, _, suffix = task_id.rpartition("/")
    if suffix == DEV_SUFFIX:
        return dev_task(get_task(base_id))
    for task in list_tasks():
        if task.id == task_id:
            return task
    raise UnknownNameError(
        f"unknown task {task_id!r}; run `geochem-bench list` to see the task ids"
    )


def dev_task(task: TaskSpec) -> TaskSpec:
    """The copy of ``task`` on its scene's public dev realisations, for tuning.

    Its id ends in ``/dev`` and the board refuses its records: choose hyperparameters on dev
    realisations (and public non-suite data), then run the official task once.

    Raises:
        InvalidInputError: the task's scene has no dev realisations (it is not simulated).
    """
    if task.dev:
        return task
    known = scenes()
    entry = known.get(task.scene)
    if entry is None or not entry.dev_realisations:
        simulated = sorted(name for name, e in known.items() if e.dev_realisations)
        raise InvalidInputError(
            f"task {task.id} has no dev realisations: scene {task.scene!r} is not simulated "
            f"(these are: {', '.join(simulated)}); tune on other public data instead"
        )
    return task.on_realisations(entry.dev_realisations, dev=True)


def load_scene(name: str, realisation: int | None = None, **options: Any) -> Scene:
    """Load (or generate) a scene; repeated calls with the same options share one copy.

    Args:
        name: the scene.
        realisation: which realisation of a simulated scene (default: its first test
            realisation); a scene with one fixed realisation refuses a number.
        **options: the loader's options (``root``, ``download``, ``size``, ...).

    Raises:
        UnknownNameError: no such scene.
        InvalidInputError: a realisation the scene does not have.
    """
    _ensure_builtin()
    if name not in _SCENES:
        raise UnknownNameError(f"unknown scene {name!r}; known scenes: {sorted(_SCENES)}")
    realisation = resolve_realisation(name, _SCENES[name].test_realisations, realisation)
    if realisation is not None:
        options["realisation"] = realisation
    return _load_cached(name, tuple(sorted(options.items())))


def load_fold_scene(task: TaskSpec, fold: int, **options: Any) -> Scene:
    """The scene of one evaluation fold of ``task``: its realisation's (see ``TaskSpec.unit``).

    The one way the harness, the pins, the dataset classes and the CLI load what a fold runs
    on. ``options`` are the loader's (``root``, ``download``, ``size``, ...).
    """
    realisation, _ = task.unit(fold)
    return load_scene(task.scene, realisation=realisation, **options)


# Room for a task's 3 test realisations besides the last few scenes; a simulated realisation
# costs a few MB, but a real scene can take hundreds (Lapland's covariates: 259 MB).
@lru_cache(maxsize=8)
def _load_cached(name: str, options: tuple[tuple[str, Any], ...]) -> Scene:
    return _SCENES[name].loader(**dict(options))


def _ensure_builtin() -> None:
    if "synthetic" not in _SCENES:
        from geochem_bench.scenes import SCENES

        for cls in SCENES:
            register_scene(
                SceneEntry(
                    name=cls.name,
                    summary=cls.summary,
                    size=cls.size,
                    licence=cls.licence,
                    loader=cls.load,
                    tasks=cls.tasks,
                    needs_download=cls.needs_download,
                    in_suite=cls.in_suite,
                    test_realisations=cls.test_realisations,
                    dev_realisations=cls.dev_realisations,
                )
            )
