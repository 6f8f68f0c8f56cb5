"""Turn a scene and a task into the inputs of one fold and the values it is scored against.

This module is the single place that decides what a model may see. Held-out samples never
reach :class:`~geochem_bench.core.task.TaskInputs`: the coarse grid, the sample table and every
other input of a fold are computed from training data only (tested in ``test_leakage.py``).

Censored samples (below a detection limit) take part like any other: a model sees a censored
training value as half its limit together with the limit (``points.limits``), the coarse
block means of the points protocols average that half-limit value, and a censored held-out
value is scored with the censoring rule of :meth:`~geochem_bench.core.task.HeldOut.pairs`.
An evaluation fold of a task on a simulated scene is a spatial fold of one realisation
(:meth:`~geochem_bench.core.task.TaskSpec.unit`): its inputs come from that realisation's
scene (:func:`~geochem_bench.scenes.registry.load_fold_scene`), and a scene of another
realisation is refused.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec, block_mean, points_block_mean
from geochem_bench.core.samples import Samples
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import HeldOut, TaskInputs, TaskSpec
from geochem_bench.errors import InvalidInputError
from geochem_bench.tasks.splits import SampleSplit, spatial_block_kfold


def task_split(scene: Scene, task: TaskSpec) -> SampleSplit:
    """The sample split of a points or transfer task on ``scene`` (one realisation of it).

    A named split of the scene (``task.split``, e.g. Jura's official validation set), or else
    ``task.n_spatial_folds`` folds of spatial blocks ``task.block_cells`` coarse cells wide and
    aligned with the coarse grid, so a coarse cell never holds both training and held-out
    samples. Its folds are the task's spatial folds; each realisation of a simulated scene has
    its own survey, so its own split.
    """
    if task.protocol == "grid":
        raise InvalidInputError(f"task {task.id} uses the grid protocol, which has no sample split")
    points = _require_points(scene, task)
    shipped = scene.splits.get(split_name(task))
    if shipped is not None:
        return shipped
    if task.split is not None:
        if task.split not in scene.splits:
            raise InvalidInputError(
                f"task {task.id} uses split {task.split!r}, which scene {scene.name!r} lacks "
                f"(it has {sorted(scene.splits)})"
            )
        return scene.splits[task.split]
    left, _, _, top = scene.grid.bounds
    return spatial_block_kfold(
        points.ids,
        points.x,
        points.y,
        n_folds=task.n_spatial_folds,
        block_size=task.block_cells * task.scale * scene.grid.res[0],
        origin=(left, top),
        seed=task.split_seed,
    )


def split_name(task: TaskSpec) -> str:
    """Name of a task's split among the scene's shipped splits (file ``splits/<name>.parquet``)."""
    return task.split or task.id.replace("/", "__")


def build_fold(
    scene: Scene,
    task: TaskSpec,
    fold: int,
    *,
    seed: int = 0,
    split: SampleSplit | None = None,
) -> tuple[TaskInputs, HeldOut]:
    """Inputs and held-out values of one task fold.

    Args:
        scene: the task's scene: the fold's realisation of it
            (:func:`~geochem_bench.scenes.registry.load_fold_scene`).
        task: the task.
        fold: evaluation fold index in ``task.folds``.
        seed: seed handed to the model.
        split: a precomputed (or loaded) split of ``scene``; computed from the task when None.

    Returns:
        ``(inputs, held_out)``.

    Raises:
        InvalidInputError: the scene is not the task's, or not the fold's realisation.
    """
    inputs = build_inputs(scene, task, fold, seed=seed, split=split)
    return inputs, build_held_out(scene, task, fold, split=split)


def build_inputs(
    scene: Scene,
    task: TaskSpec,
    fold: int,
    *,
    seed: int = 0,
    split: SampleSplit | None = None,
) -> TaskInputs:
    """What a model receives for one task fold, and nothing it is scored against.

    The harness calls this before the model runs and :func:`build_held_out` only after it has
    returned, so the held-out values do not exist anywhere while a model runs. Held-out
    samples are left out with their detection limits (points), or their target values and
    limits are hidden (transfer).
    """
    elements, index, spatial = _targets(scene, task, fold)
    coarse = scene.grid.coarsen(task.scale)
    if task.protocol == "grid":
        lowres, count = block_mean(_grid_truth(scene, index), task.scale)
        return _inputs(scene, task, fold, seed, elements, lowres, count, coarse, points=None)

    points, split = _checked_split(scene, task, split)
    train = ~split.test_mask(spatial)
    columns = [points.index(e.symbol) for e in elements]
    if task.protocol == "points":
        visible = points.subset(train)
        known = visible.values[:, columns]
        lowres, count = points_block_mean(coarse, visible.x, visible.y, known)
    else:  # transfer: target known at a fraction of training sites, covariables everywhere
        test = ~train
        known_rows = _transfer_subset(points.values[:, columns], train, task, fold)
        targets = tuple(e.symbol for e in elements)
        visible = points.with_hidden(targets, ~known_rows)
        if task.covariables is not None:
            covariables = {scene.element(s).symbol for s in task.covariables}
            hidden = tuple(s for s in points.elements if s not in covariables and s not in targets)
            visible = visible.with_hidden(hidden, test)
        lowres, count = points_block_mean(coarse, visible.x, visible.y, visible.values[:, columns])
    return _inputs(scene, task, fold, seed, elements, lowres, count, coarse, points=visible)


def build_map_inputs(scene: Scene, task: TaskSpec, *, seed: int = 0) -> TaskInputs:
    """What a model receives to map the whole scene: every sample, no fold held out.

    The inputs of a points task with an empty test fold, built the way a fold's are, so a
    model fitted on them is the one its cross-validated records describe, given all the data
    (``geochem-bench map``). On a grid task the lowres grid is the scene's (block means of its
    field); there is nothing to hold out either way.

    Raises:
        InvalidInputError: the scene is not the task's, or a transfer task (map its element
            with the points task: every sample is then known).
    """
    if task.protocol == "transfer":
        raise InvalidInputError(
            f"task {task.id} is a transfer task; map the element with its points task, "
            "which sees every sample"
        )
    elements, index, _ = _targets(scene, task, 0)
    coarse = scene.grid.coarsen(task.scale)
    if task.protocol == "grid":
        lowres, count = block_mean(_grid_truth(scene, index), task.scale)
        return _inputs(scene, task, 0, seed, elements, lowres, count, coarse, points=None)
    points = _require_points(scene, task)
    columns = [points.index(e.symbol) for e in elements]
    lowres, count = points_block_mean(coarse, points.x, points.y, points.values[:, columns])
    return _inputs(scene, task, 0, seed, elements, lowres, count, coarse, points=points)


def build_held_out(
    scene: Scene, task: TaskSpec, fold: int, *, split: SampleSplit | None = None
) -> HeldOut:
    """What one task fold is scored against (never given to a model; arguments as build_fold's)."""
    elements, index, spatial = _targets(scene, task, fold)
    if task.protocol == "grid":
        return HeldOut(truth=_grid_truth(scene, index))
    points, split = _checked_split(scene, task, split)
    test = split.test_mask(spatial)
    columns = [points.index(e.symbol) for e in elements]
    rows, cols = scene.grid.cell_of(points.x[test], points.y[test])
    limits = None if points.limits is None else points.limits[test][:, columns].copy()
    return HeldOut(
        rows=rows,
        cols=cols,
        values=points.values[test][:, columns].copy(),
        sample_ids=points.ids[test],
        limits=limits if limits is not None and np.isfinite(limits).any() else None,
    )


def held_out_sites(
    scene: Scene, task: TaskSpec, fold: int, *, split: SampleSplit | None = None
) -> NDArray[np.float64]:
    """Map coordinates (M, 2) of the held-out sites of a points or transfer fold: no values.

    What the harness passes to a model's optional ``predict_points``: x and y in the scene's
    CRS, in the order of :func:`build_held_out`'s samples. Every held-out site is listed,
    including those where a target is missing (they are not scored).
    """
    _, _, spatial = _targets(scene, task, fold)  # refuses another scene or realisation
    if task.protocol == "grid":
        raise InvalidInputError(f"task {task.id} uses the grid protocol, which has no sites")
    points, split = _checked_split(scene, task, split)
    test = split.test_mask(spatial)
    return np.column_stack([points.x[test], points.y[test]]).astype(np.float64)


def _targets(scene: Scene, task: TaskSpec, fold: int) -> tuple[tuple[Element, ...], list[int], int]:
    """The fold's target elements, their indices in the scene, and its spatial fold."""
    if scene.name != task.scene:
        raise InvalidInputError(
            f"task {task.id} belongs to scene {task.scene!r}, not {scene.name!r}"
        )
    realisation, spatial = task.unit(fold)
    # A task without realisations names none: it runs on whichever scene it is given.
    if task.realisations and scene.realisation != realisation:
        raise InvalidInputError(
            f"fold {fold} of task {task.id} runs on realisation {realisation} of scene "
            f"{task.scene!r}, but the scene given is realisation {scene.realisation}; load it "
            "with geochem_bench.scenes.registry.load_fold_scene(task, fold)"
        )
    elements = tuple(scene.element(symbol) for symbol in task.elements)
    return elements, [scene.elements.index(e) for e in elements], spatial


def _grid_truth(scene: Scene, index: list[int]) -> NDArray[np.float32]:
    if scene.truth is None:
        raise InvalidInputError(
            f"scene {scene.name!r} has no exhaustive truth; the grid protocol needs one"
        )
    truth = scene.truth[index].copy()
    truth[:, ~scene.valid] = np.nan
    return truth


def _checked_split(
    scene: Scene, task: TaskSpec, split: SampleSplit | None
) -> tuple[Samples, SampleSplit]:
    points = _require_points(scene, task)
    split = split if split is not None else task_split(scene, task)
    if not np.array_equal(split.sample_ids, points.ids):
        raise InvalidInputError(
            "the split file does not list the scene's samples in order; rebuild it"
        )
    if split.n_folds != task.n_spatial_folds:
        raise InvalidInputError(
            f"task {task.id} expects {task.n_spatial_folds} spatial folds, its split has "
            f"{split.n_folds}"
        )
    return points, split


def _transfer_subset(
    target_values: NDArray[np.float64], train: NDArray[np.bool_], task: TaskSpec, fold: int
) -> NDArray[np.bool_]:
    """Training sites where the target stays known: a seeded fraction of the measured ones."""
    candidates = np.flatnonzero(train & np.isfinite(target_values).all(axis=1))
    n_known = max(1, math.ceil(task.target_fraction * len(candidates)))
    rng = np.random.default_rng([task.split_seed, fold, 0x7A])
    chosen = np.zeros(len(train), dtype=bool)
    chosen[rng.choice(candidates, size=n_known, replace=False)] = True
    return chosen


def _inputs(
    scene: Scene,
    task: TaskSpec,
    fold: int,
    seed: int,
    elements: tuple[Element, ...],
    lowres: NDArray[np.float32],
    count: NDArray[np.int32],
    coarse: GridSpec,
    points: Samples | None,
) -> TaskInputs:
    return TaskInputs(
        task_id=task.id,
        fold=fold,
        protocol=task.protocol,
        scale=task.scale,
        elements=elements,
        covariates=scene.covariates,
        band_names=scene.band_names,
        valid=scene.valid,
        grid=scene.grid,
        lowres=lowres,
        lowres_count=count,
        lowres_grid=coarse,
        points=points,
        seed=seed,
    )


def _require_points(scene: Scene, task: TaskSpec) -> Samples:
    if scene.points is None:
        raise InvalidInputError(
            f"scene {scene.name!r} has no samples; the {task.protocol} protocol needs them"
        )
    return scene.points
