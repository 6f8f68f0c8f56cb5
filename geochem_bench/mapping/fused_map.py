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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from geochem_bench.board.aggregation import TaskScore
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import Prediction, TaskSpec
from geochem_bench.core.tiling import tiles
from geochem_bench.errors import InvalidInputError
from geochem_bench.mapping.cog import BLOCK, cog_problems, cog_writer
from geochem_bench.mapping.selection import (
    DEFAULT_CANDIDATES,
    MethodChoice,
    choose_method,
    cross_validate,
    survey_scores,
)

#: Results folder of the cross-validation runs, inside the map folder unless given.
CV_RESULTS = "cv-results"


@dataclass(frozen=True)
class ElementMap:
    """One element's map and what it rests on.

    Attributes:
        element: the element symbol (survey column).
        unit: its unit.
        analysis_space: ``log10`` or ``linear``: the space of the std band and of the scores.
        task_id: the survey task the method was cross-validated on.
        method: the submission name mapped with.
        version: its version.
        path: the COG.
        has_std: whether band 2 (predictive std) is present.
        choice: the cross-validated scores of every method run on the task, best first, and
            why the method was chosen.
        n_samples: samples the final fit used (all of the survey's for the element).
        accuracy_note: what the cross-validated accuracy measures.
        from_grid: whether the map downscales the survey's lowres grid (else its samples).
    """

    element: str
    unit: str
    analysis_space: str
    task_id: str
    method: str
    version: str
    path: Path
    has_std: bool
    choice: MethodChoice
    n_samples: int
    accuracy_note: str = ""
    from_grid: bool = False

    @property
    def score(self) -> TaskScore | None:
        """The mapped method's cross-validated score."""
        return next((s for s in self.choice.scores if s.submission == self.method), None)


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

    Returns:
        One :class:`ElementMap` per element.

    Raises:
        InvalidInputError: an unknown element or scale, a method that does not enter the
            survey's points protocol, or a method whose cross-validation failed.
    """
    from geochem_bench.mapping.report import write_report
    from geochem_bench.scenes.survey import register_survey

    survey = Path(survey)
    entry = register_survey(survey)
    scene = entry.loader()
    out = Path(out)
    results = Path(results) if results is not None else out / CV_RESULTS
    maps = []
    for plan in map_plans(survey, scene, entry.tasks, elements, scale):
        methods = list(candidates) if method == "auto" else [method]
        names, left_out = cross_validate(methods, plan.cv_task, results, progress=progress)
        if method != "auto" and names[method] in left_out:
            raise InvalidInputError(
                f"{method} cannot map {plan.cv_task.id}: {left_out[names[method]]}"
            )
        scores = survey_scores(results, plan.cv_survey) if results.is_dir() else []
        if method == "auto":
            choice = choose_method(scores, plan.cv_task.id, left_out)
        else:
            choice = _only(scores, plan.cv_task.id, names[method])
        spec = next(m for m in methods if names.get(m) == choice.chosen)
        maps.append(_map_element(scene, plan, spec, choice, out, seed, survey))
    write_report(maps, out, scene, survey)
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
    scene: Scene,
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


def _only(scores: Sequence[TaskScore], task_id: str, name: str) -> MethodChoice:
    """The choice of a method the user named, with every method run so far beside it."""
    mine = sorted(
        (s for s in scores if s.task_id == task_id), key=lambda s: (-s.skill.estimate, s.submission)
    )
    if not any(s.submission == name for s in mine):
        raise InvalidInputError(
            f"{name} has no complete cross-validated score on {task_id} (missing or failed "
            "folds in the results folder); rerun with --results pointing at a clean folder"
        )
    return MethodChoice(task_id, name, mine, f"{name} was named with --method.", {})


def full_data_prediction(scene: Scene, task: TaskSpec, spec: str, seed: int) -> Prediction:
    """The method fitted on every sample of ``task`` and its prediction of every valid cell.

    What a map holds: the same inputs a cross-validation fold builds, with no sample held
    out (:func:`~geochem_bench.tasks.protocols.build_map_inputs`), checked like a fold's.
    """
    from geochem_bench.evaluation.model_server import fit_predict
    from geochem_bench.evaluation.scoring import validate_prediction
    from geochem_bench.evaluation.submission import load_submission
    from geochem_bench.tasks.protocols import build_map_inputs

    inputs = build_map_inputs(scene, task, seed=seed)
    output, _, _ = fit_predict(load_submission(spec), inputs, seed)  # as a fold's model runs
    return validate_prediction(output, inputs)


def _map_element(
    scene: Scene,
    plan: MapPlan,
    spec: str,
    choice: MethodChoice,
    out: Path,
    seed: int,
    survey: Path,
) -> ElementMap:
    from geochem_bench import __version__
    from geochem_bench.evaluation.submission import load_submission

    submission = load_submission(spec)
    task = plan.task
    prediction = full_data_prediction(scene, task, spec, seed)
    element = scene.element(task.elements[0])
    grid = scene.grid
    has_std = prediction.std is not None
    bands = [f"{element.symbol} ({element.unit}, natural units)"]
    if has_std:
        bands.append(f"{element.symbol} predictive std ({element.analysis_space} units)")
    tags = {
        "ELEMENT": element.symbol,
        "UNIT": element.unit,
        "STD_SPACE": element.analysis_space if has_std else "",
        "METHOD": submission.name,
        "METHOD_VERSION": submission.version,
        "METHOD_PARAMS": json.dumps(submission.params, sort_keys=True, default=str),
        "SEED": str(seed),
        "TASK": task.id,
        "SURVEY": str(survey.resolve()),
        "INPUT_SHA256": json.dumps(scene.fingerprint(), sort_keys=True),
        "GEOCHEM_BENCH_VERSION": __version__,
        "DATE": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    path = out / f"{element.symbol}.tif"
    stack = prediction.mean[:1]
    if prediction.std is not None:
        stack = np.concatenate([stack, prediction.std[:1]])
    with cog_writer(path, grid, bands, tags) as write:
        for window in tiles(grid.height, grid.width, 4 * BLOCK, BLOCK):
            write(stack[:, window.row0 : window.row1, window.col0 : window.col1], window)
    problems = cog_problems(path, grid)
    if problems:  # GDAL wrote something else than asked: say so rather than hand it over
        raise RuntimeError(f"{path} is not a valid COG: {'; '.join(problems)}")
    points = scene.points
    n_samples = (
        int(np.isfinite(points.column(element.symbol)).sum())
        if points is not None and element.symbol in points.elements
        else 0
    )
    return ElementMap(
        element=element.symbol,
        unit=element.unit,
        analysis_space=element.analysis_space,
        task_id=task.id,
        method=submission.name,
        version=submission.version,
        path=path,
        has_std=has_std,
        choice=choice,
        n_samples=n_samples,
        accuracy_note=plan.accuracy_note,
        from_grid=task.protocol == "grid",
    )
