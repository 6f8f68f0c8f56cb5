"""From benchmark to map: fit a method on every sample of a survey and map every valid cell.

``geochem-bench map`` (and :func:`make_map`) is the product a geologist runs on their own
``make-task`` survey: for each element it

1. cross-validates the method (or, with ``method="auto"``, each candidate) on the survey's
   own spatial folds through ``evaluate`` (sandboxed; records in the results folder are
   reused) and scores them as the board does (:mod:`geochem_bench.mapping.selection`);
2. fits the chosen method on **all** samples
   (:func:`~geochem_bench.tasks.protocols.build_map_inputs`: a fold with nothing held out)
   and predicts every valid fine cell;
3. writes a Cloud-Optimized GeoTIFF (band 1 the map in natural units, band 2 the predictive
   standard deviation in the element's analysis space where the method gives one) and the
   report (:mod:`geochem_bench.mapping.report`).

The final fit runs in this process, not in the evaluation sandbox: the method is one the user
chose to run on their own data, and its cross-validation already ran it confined.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from geochem_bench.board.aggregation import TaskScore
from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.samples import Samples
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import Prediction, TaskSpec
from geochem_bench.core.tiling import tiles
from geochem_bench.errors import InvalidInputError
from geochem_bench.mapping.cog import BLOCK, CACHE_MB, cog_problems, cog_writer
from geochem_bench.mapping.element_map import ElementMap
from geochem_bench.mapping.selection import (
    DEFAULT_CANDIDATES,
    MethodChoice,
    candidate_scores,
    choose_method,
    cross_validate,
    survey_scores,
)
from geochem_bench.mapping.survey_view import SurveyView

if TYPE_CHECKING:
    from geochem_bench.board.pins import Pins
    from geochem_bench.evaluation.submission import Submission
    from geochem_bench.evaluation.tiled import DiskScene

#: Results folder of the cross-validation runs, inside the map folder unless given.
CV_RESULTS = "cv-results"
#: Fine cells above which a map streams tile by tile without --tile.
STREAM_CELLS = 4096 * 4096
#: Tile edge of a streamed map, in fine cells.
DEFAULT_TILE = 1024


def make_map(
    survey: str | Path,
    method: str = "auto",
    elements: Sequence[str] | None = None,
    out: str | Path = "map",
    *,
    scale: int | None = None,
    results: str | Path | None = None,
    candidates: Sequence[str] = DEFAULT_CANDIDATES,
    seed: int = 0,
    progress: bool = True,
    tile: int | None = None,
    fit_cells: int = 2048,
) -> list[ElementMap]:
    """Map the elements of a ``make-task`` survey at full resolution, with its report.

    Args:
        survey: the folder ``geochem-bench make-task`` wrote.
        method: a baseline name, a submission folder or a model reference; ``auto`` picks the
            candidate with the highest cross-validated skill on each element.
        elements: element columns to map (default: every element of the survey).
        out: folder for ``<element>.tif``, ``report.md``, ``report.png``, ``report.json``.
        scale: the survey task scale to use (default: the survey's first).
        results: results folder of the cross-validation (default ``out/cv-results``); records
            of earlier runs there are reused, as ``evaluate`` resumes.
        candidates: the methods ``auto`` chooses among.
        seed: seed of the final fit (a stochastic method's map is the seed-``seed`` run; its
            cross-validation uses the board's seeds).
        progress: show progress bars.
        tile: predict the map tile by tile, ``tile`` cells a side, reading the covariates by
            windows (bounded memory); surveys above :data:`STREAM_CELLS` fine cells stream
            without it. From a lowres grid any method streams (with its halo); from samples,
            the methods whose fit needs only the samples and their covariates
            (``streams_from_samples``: the kriging baselines, random forest, IDW).
        fit_cells: a streamed map's model is fitted on a central window of at most this many
            cells a side (the whole survey when it is smaller), as ``evaluate-tiled`` does;
            from samples the fit uses every sample and the window only gives the fill value
            of covariates missing at a cell.

    Returns:
        One :class:`ElementMap` per element.

    Raises:
        InvalidInputError: an unknown element or scale, a method that does not enter the
            protocol of an element's task (points for samples, grid for a lowres grid), a
            method whose cross-validation failed, an ``out`` inside the survey, or a
            ``tile`` or ``fit_cells`` under 1.
        ChecksumError: a survey file changed since make-task wrote it.
    """
    from geochem_bench.board.pins import survey_pins
    from geochem_bench.mapping.report import write_report
    from geochem_bench.scenes.survey import register_survey

    survey = Path(survey)
    out = Path(out)
    if tile is not None and tile < 1:
        raise InvalidInputError(f"--tile must be at least 1 cell, got {tile}")
    if fit_cells < 1:
        raise InvalidInputError(f"--fit-cells must be at least 1 cell, got {fit_cells}")
    if out.resolve() == survey.resolve() or survey.resolve() in out.resolve().parents:
        raise InvalidInputError(
            f"--out {out} is inside the survey folder {survey}: its build must stay as "
            "make-task wrote it; write the map elsewhere"
        )
    entry = register_survey(survey)
    view = SurveyView.open(survey)
    results = Path(results) if results is not None else out / CV_RESULTS
    big = view.grid.height * view.grid.width > STREAM_CELLS
    plans = map_plans(survey, view, entry.tasks, elements, scale)
    # First every element's cross-validation and choice, then the maps: a method that
    # cannot map one element stops the run before any map is written
    chosen: list[tuple[MapPlan, MethodChoice, Submission, bool]] = []
    pins: dict[Path, Pins] = {}
    for plan in plans:
        stream = tile is not None or big
        methods = list(candidates) if method == "auto" else [method]
        submissions, left_out = cross_validate(methods, plan.cv_task, results, progress=progress)
        if stream and plan.task.protocol != "grid":
            for sub in submissions.values():
                # a class attribute (models/base.py): read it without building the model
                if sub.name not in left_out and not getattr(
                    sub.model_class(), "streams_from_samples", False
                ):
                    left_out[sub.name] = (
                        "it cannot be streamed from samples (its fit reads the whole "
                        "survey's covariates, not only those at the samples): map in memory "
                        f"(no --tile, a survey up to {STREAM_CELLS:,} cells) or use "
                        "ordinary-kriging, regression-kriging, kriging-external-drift, "
                        "random-forest or idw"
                    )
        pairs = {m: (sub.name, sub.version) for m, sub in submissions.items()}
        if method != "auto" and pairs[method][0] in left_out:
            raise InvalidInputError(
                f"{method} cannot map {plan.cv_task.id}: {left_out[pairs[method][0]]}"
            )
        if plan.cv_survey not in pins:  # once per folder: it builds every fold of it
            pins[plan.cv_survey] = survey_pins(plan.cv_survey)
        scores = survey_scores(results, pins[plan.cv_survey]) if results.is_dir() else []
        if method == "auto":
            runnable = [pair for pair in pairs.values() if pair[0] not in left_out]
            choice = choose_method(scores, plan.cv_task.id, runnable, left_out)
        else:
            choice = _only(scores, plan.cv_task.id, pairs[method])
        submission = next(sub for sub in submissions.values() if sub.name == choice.chosen)
        chosen.append((plan, choice, submission, stream))
    loaded: list[Scene] = []  # the in-memory scene, read once if an element needs it
    maps = []
    for plan, choice, submission, stream in chosen:
        path = out / f"{plan.element}.tif"
        if stream:
            has_std = streamed_map(
                view,
                plan,
                submission,
                seed,
                path,
                tile=DEFAULT_TILE if tile is None else tile,
                fit_cells=fit_cells,
                progress=progress,
            )
        else:
            if not loaded:
                loaded.append(entry.loader())
            has_std = in_memory_map(loaded[0], plan, submission, seed, path, view)
        maps.append(
            ElementMap(
                element=plan.element,
                unit=view.element(plan.element).unit,
                analysis_space=view.element(plan.element).analysis_space,
                task_id=plan.task.id,
                method=submission.name,
                version=submission.version,
                path=path,
                has_std=has_std,
                choice=choice,
                n_samples=view.samples_of(plan.element),
                accuracy_note=plan.accuracy_note,
                from_grid=plan.task.protocol == "grid",
                streamed=stream,
            )
        )
    write_report(maps, out, view)
    return maps


@dataclass(frozen=True)
class MapPlan:
    """How one element is mapped and where its accuracy comes from.

    Attributes:
        element: the element symbol.
        task: the task the map is made on (fitted with every sample, or on the lowres grid).
        cv_task: the task the methods are cross-validated on: ``task`` itself for samples;
            for a lowres grid, its Wald task one scale up (the fine map has no truth).
        cv_survey: the survey folder holding ``cv_task`` (whose pins score it).
        accuracy_note: what the cross-validated accuracy measures.
    """

    element: str
    task: TaskSpec
    cv_task: TaskSpec
    cv_survey: Path
    accuracy_note: str


def map_plans(
    survey: Path,
    scene: SurveyView,
    tasks: Sequence[TaskSpec],
    elements: Sequence[str] | None,
    scale: int | None,
) -> list[MapPlan]:
    """How each element is mapped: from the survey's lowres grid where it has one.

    A gridded element is downscaled (the seed paper's setting), even when samples of it
    exist; any other element is mapped from its samples at the chosen scale.
    """
    from geochem_bench.scenes.lowres_grid import WALD_FOLDER
    from geochem_bench.scenes.registry import list_tasks

    listed = scene.options.get("lowres_elements")
    gridded = [str(e) for e in listed] if isinstance(listed, list) else []
    points = [t for t in tasks if t.protocol == "points"]
    scales = sorted({t.scale for t in points})
    if scale is not None and scale not in scales:
        raise InvalidInputError(
            f"survey {scene.name} has no tasks at scale {scale}; it has {scales}"
        )
    chosen_scale = scale if scale is not None else (scales[0] if scales else None)
    by_element = {t.elements[0]: t for t in points if t.scale == chosen_scale}
    known = list(dict.fromkeys(gridded + list(by_element)))
    wanted = list(elements) if elements else known
    unknown = [e for e in wanted if e not in known]
    if unknown:
        raise InvalidInputError(
            f"survey {scene.name} has no element {unknown}; its elements are {known}"
        )
    plans = []
    for element in wanted:
        if element in gridded:
            lowres_scale = int(str(scene.options["lowres_scale"]))
            wald = [t for t in list_tasks([f"{scene.name}-wald/*"]) if t.elements == (element,)]
            cv_task = max(wald, key=lambda t: t.scale)
            plans.append(
                MapPlan(
                    element,
                    TaskSpec(scene.name, (element,), lowres_scale, "grid"),
                    cv_task,
                    survey / WALD_FOLDER,
                    f"Wald's protocol: restoring the lowres grid from a {cv_task.scale}x "
                    "coarser copy of it (covariates averaged over its cells); the fine map "
                    "itself has no truth to score",
                )
            )
        else:
            task = by_element[element]
            plans.append(
                MapPlan(
                    element,
                    task,
                    task,
                    survey,
                    "spatial-block cross-validation on the samples: each held out once",
                )
            )
    return plans


def _only(scores: Sequence[TaskScore], task_id: str, named: tuple[str, str]) -> MethodChoice:
    """The choice of the one method the user named, at the version that runs."""
    mine = candidate_scores(scores, task_id, [named])
    if not mine:
        raise InvalidInputError(
            f"{named[0]} {named[1]} has no complete cross-validated score on {task_id} "
            "(missing or failed folds in the results folder); rerun with --results pointing "
            "at a clean folder"
        )
    # beside it, the other methods the results folder holds for the task (one version of
    # each), scored as the survey's board scores them: the comparison a user asked for
    others = {
        s.submission: s
        for s in sorted(
            (s for s in scores if s.task_id == task_id and s.submission != named[0]),
            key=lambda s: s.version,
        )
    }
    table = sorted([*mine, *others.values()], key=lambda s: (-s.skill.estimate, s.submission))
    return MethodChoice(task_id, named[0], table, f"{named[0]} was named with --method.", {})


def full_data_prediction(
    scene: Scene, task: TaskSpec, submission: Submission, seed: int
) -> Prediction:
    """The method fitted on every sample of ``task`` and its prediction of every valid cell.

    What a map holds: the same inputs a cross-validation fold builds, with no sample held
    out (:func:`~geochem_bench.tasks.protocols.build_map_inputs`), checked like a fold's.
    """
    from geochem_bench.evaluation.model_server import fit_predict
    from geochem_bench.evaluation.scoring import validate_prediction
    from geochem_bench.tasks.protocols import build_map_inputs

    inputs = build_map_inputs(scene, task, seed=seed)
    output, _, _ = fit_predict(submission, inputs, seed)  # as a fold's model runs
    return validate_prediction(output, inputs)


def map_tags(view: SurveyView, plan: MapPlan, submission: Submission, seed: int) -> dict[str, str]:
    """The GeoTIFF tags of a map: what it is, what made it, from what, when."""
    from geochem_bench import __version__

    element = view.element(plan.element)
    return {
        "ELEMENT": element.symbol,
        "UNIT": element.unit,
        "METHOD": submission.name,
        "METHOD_VERSION": submission.version,
        "METHOD_PARAMS": json.dumps(submission.params, sort_keys=True, default=str),
        "SEED": str(seed),
        "TASK": plan.task.id,
        "SURVEY": str(view.folder.resolve()),
        "INPUT_SHA256": json.dumps(view.sha256, sort_keys=True),
        "GEOCHEM_BENCH_VERSION": __version__,
        "DATE": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _bands(element: Element, has_std: bool) -> list[str]:
    names = [f"{element.symbol} ({element.unit}, natural units)"]
    if has_std:
        names.append(f"{element.symbol} predictive std ({element.analysis_space} units)")
    return names


def in_memory_map(
    scene: Scene, plan: MapPlan, submission: Submission, seed: int, path: Path, view: SurveyView
) -> bool:
    """Write the full-data prediction of ``plan`` as a COG; returns whether it has a std band."""
    prediction = full_data_prediction(scene, plan.task, submission, seed)
    element = view.element(plan.element)
    has_std = prediction.std is not None
    tags = map_tags(view, plan, submission, seed) | {
        "STD_SPACE": element.analysis_space if has_std else ""
    }
    stack = prediction.mean[:1]
    if prediction.std is not None:
        stack = np.concatenate([stack, prediction.std[:1]])
    grid = scene.grid
    with cog_writer(path, grid, _bands(element, has_std), tags) as write:
        for window in tiles(grid.height, grid.width, 4 * BLOCK, BLOCK):
            write(stack[:, window.row0 : window.row1, window.col0 : window.col1], window)
    _check_cog(path, grid)
    return has_std


def streamed_map(
    view: SurveyView,
    plan: MapPlan,
    submission: Submission,
    seed: int,
    path: Path,
    *,
    tile: int = 1024,
    fit_cells: int = 2048,
    progress: bool = True,
) -> bool:
    """Map the survey tile by tile into a COG (bounded memory).

    The model is fitted once (:func:`~geochem_bench.evaluation.tiled.predict_tiles`) and each
    tile is predicted from its window of the covariates grown by the model's halo, checked,
    and written; memory holds a tile, the coarse grid, the samples and the model. From a
    lowres grid the model fits on a central window; from samples it fits on every sample,
    their covariates read at their cells. Returns whether the map has a std band.
    """
    import rasterio

    # the covariates are read window by window: GDAL's block cache (5 % of RAM by default)
    # would keep what was read, and grow with the survey
    with rasterio.Env(GDAL_CACHEMAX=CACHE_MB):
        return _stream(view, plan, submission, seed, path, tile, fit_cells, progress)


def _stream(
    view: SurveyView,
    plan: MapPlan,
    submission: Submission,
    seed: int,
    path: Path,
    tile: int,
    fit_cells: int,
    progress: bool,
) -> bool:
    from dataclasses import replace

    from geochem_bench.evaluation.model_server import seed_everything
    from geochem_bench.evaluation.tiled import DiskScene, predict_tiles, tiled_lowres

    from_samples = plan.task.protocol != "grid"
    disk = DiskScene.open(view.folder, truth=not from_samples)
    e = [x.symbol for x in disk.elements].index(plan.element)
    scale = plan.task.scale
    one = replace(disk, elements=(disk.elements[e],))
    points = None
    if from_samples:
        points, lowres, count = _samples_and_means(disk, view, plan.element, scale)
    else:
        lowres, count = tiled_lowres(disk, scale)
        lowres, count = lowres[e : e + 1], count[e : e + 1]
    model = submission.build()
    seed_everything(seed)
    predicted = predict_tiles(
        one,
        scale,
        model,
        lowres,
        count,
        tile=tile,
        align=scale,
        fit_cells=fit_cells,
        seed=seed,
        task_id=plan.task.id,
        points=points,
    )
    element = view.element(plan.element)
    grid = view.grid
    n_tiles = sum(1 for _ in tiles(grid.height, grid.width, tile, scale))
    first = next(predicted)
    has_std = first[1].std is not None
    tags = map_tags(view, plan, submission, seed) | {
        "STD_SPACE": element.analysis_space if has_std else "",
        # a streamed model is fitted on a central window: both settings can change the map
        "TILE": str(tile),
        "FIT_CELLS": str(fit_cells),
    }
    with (
        cog_writer(path, grid, _bands(element, has_std), tags) as write,
        _bar(progress, n_tiles, f"{plan.element}: streaming {n_tiles} tiles") as advance,
    ):
        for window, prediction, valid in chain([first], predicted):
            _check_tile(prediction, valid, element, window)
            bands = [np.where(valid, prediction.mean[0], np.nan)]
            if has_std:
                if prediction.std is None:
                    raise InvalidInputError("the model gave a std on some tiles and not others")
                bands.append(np.where(valid, prediction.std[0], np.nan))
            write(np.stack(bands).astype(np.float32), window)
            advance()
    _check_cog(path, grid)
    return has_std


def _samples_and_means(
    disk: DiskScene, view: SurveyView, symbol: str, scale: int
) -> tuple[Samples, NDArray[np.float32], NDArray[np.int32]]:
    """Every sample with its covariates (read at its cell), and ``symbol``'s sample means.

    What :func:`~geochem_bench.tasks.protocols.build_map_inputs` gives a model from the whole
    survey in memory: the same samples and, per coarse cell, the mean of the samples in it.
    """
    from dataclasses import replace

    from geochem_bench.core.grid import points_block_mean

    points = view.points
    if points is None:
        raise InvalidInputError(f"survey {view.name} has no samples to map {symbol} from")
    rows, cols = view.grid.cell_of(points.x, points.y)
    at_samples = disk.read_cells("covariates", rows, cols)
    lowres, count = points_block_mean(
        view.grid.coarsen(scale), points.x, points.y, points.column(symbol)
    )
    return replace(points, covariates=at_samples), lowres, count


def _check_tile(
    prediction: Prediction, valid: NDArray[np.bool_], element: Element, window: object
) -> None:
    """A tile's prediction is finite on its valid cells, and positive for a log10 element."""
    mean = prediction.mean[0][valid]
    if not np.isfinite(mean).all():
        raise InvalidInputError(f"the model predicted NaN or inf on valid cells of tile {window}")
    if element.analysis_space == "log10" and (mean <= 0).any():
        raise InvalidInputError(
            f"the model predicted a non-positive {element.symbol} on tile {window}"
        )


def _check_cog(path: Path, grid: GridSpec) -> None:
    problems = cog_problems(path, grid)
    if problems:  # GDAL wrote something else than asked: say so rather than hand it over
        raise RuntimeError(f"{path} is not a valid COG: {'; '.join(problems)}")


@contextmanager
def _bar(enabled: bool, total: int, label: str) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr (a no-op when disabled)."""
    if not enabled:
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)
