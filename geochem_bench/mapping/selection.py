"""Which method to map a survey with: cross-validated on the survey, ranked as the board ranks.

The accuracy a map report quotes, and the choice ``--method auto`` makes, come from the same
records and the same aggregation as the official board: ``evaluate`` runs each method on the
survey's own spatial folds (sandboxed, resumable: records already in the results folder are
reused), and :func:`survey_scores` scores them with the survey's pins
(:func:`~geochem_bench.board.pins.survey_pins`), so a number in a report is one
``geochem-bench leaderboard --survey`` shows too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from geochem_bench.board.aggregation import TaskScore
from geochem_bench.core.task import TaskSpec
from geochem_bench.errors import InvalidInputError

if TYPE_CHECKING:
    from geochem_bench.board.pins import Pins
    from geochem_bench.evaluation.submission import Submission

#: The methods ``--method auto`` cross-validates by default, when they enter the task's
#: protocol: distance weighting, the kriging family, the covariate models and the reference
#: CNN (ATPRK enters grid tasks only).
DEFAULT_CANDIDATES = (
    "idw",
    "ordinary-kriging",
    "regression-kriging",
    "random-forest",
    "atprk",
    "fusion-cnn",
)


@dataclass(frozen=True)
class MethodChoice:
    """The outcome of cross-validating candidate methods on one survey task.

    Attributes:
        task_id: the task the methods were cross-validated on.
        chosen: the submission name chosen (highest cross-validated skill).
        scores: every scored candidate, best first.
        reason: one sentence saying why ``chosen`` was chosen.
        left_out: candidates not scored, with the reason (other protocol, failed folds).
    """

    task_id: str
    chosen: str
    scores: list[TaskScore]
    reason: str
    left_out: dict[str, str]


def cross_validate(
    methods: Sequence[str],
    task: TaskSpec,
    results: str | Path,
    *,
    progress: bool = True,
) -> tuple[dict[str, Submission], dict[str, str]]:
    """Run ``evaluate`` for each method on every fold of ``task`` (records reused if present).

    Every method is resolved before any runs, so a misspelt name fails at once.

    Returns:
        The submission of each method (its name and version name its records and scores),
        and the methods that could not be run on the task, with the reason (a method whose
        card does not enter the task's protocol, or whose folds failed).
    """
    from geochem_bench.evaluation.executors import evaluate
    from geochem_bench.evaluation.harness import RunOptions
    from geochem_bench.evaluation.submission import load_submission

    submissions = {method: load_submission(method) for method in methods}
    left_out: dict[str, str] = {}
    options = RunOptions(out_dir=Path(results), progress=progress)
    for submission in submissions.values():
        if task.protocol not in submission.protocols:
            left_out[submission.name] = (
                f"enters only {', '.join(submission.protocols)} tasks, not {task.protocol}"
            )
            continue
        records = evaluate(submission, [task], options)
        failed = [r for r in records if r.status != "ok"]
        if failed:
            first = failed[0].failure
            why = f": {first.message}" if first is not None else ""
            left_out[submission.name] = f"{len(failed)} fold(s) failed{why}"
    return submissions, left_out


def survey_scores(results: str | Path, pins: Pins) -> list[TaskScore]:
    """Every complete (submission, task) score of a survey's records under ``results``.

    Scored exactly as ``geochem-bench leaderboard --survey SURVEY --source RESULTS``, with
    the survey's pins (:func:`~geochem_bench.board.pins.survey_pins`; computing them builds
    every fold of every task, so a caller computes them once).
    """
    from geochem_bench.board.leaderboard import build_leaderboard, load_board_inputs

    records, reports, skipped = load_board_inputs(results, survey_pins=pins)
    board = build_leaderboard(
        records, skipped, suite_task_ids=list(pins.tasks), reports=reports, pins=pins
    )
    return list(board.tasks)


def choose_method(
    scores: Sequence[TaskScore],
    task_id: str,
    candidates: Sequence[tuple[str, str]],
    left_out: dict[str, str] | None = None,
) -> MethodChoice:
    """The candidate with the highest cross-validated skill on ``task_id``.

    Only the candidates' own scores count, each at the version that runs: other records in
    the results folder (another method, an older version, a hand-made file) never enter
    the ranking. When intervals overlap the point estimate still decides (a map needs one
    method), and the reason says that the runner-up is statistically tied.

    Args:
        scores: scores read from the results folder (:func:`survey_scores`).
        task_id: the task the candidates were cross-validated on.
        candidates: (submission name, version) of each candidate.
        left_out: candidates not scored, with the reason.

    Raises:
        InvalidInputError: no candidate has a complete score on the task.
    """
    mine = candidate_scores(scores, task_id, candidates)
    if not mine:
        raise InvalidInputError(
            f"no candidate has a complete cross-validated score on {task_id}"
            + (
                f" ({'; '.join(f'{k}: {v}' for k, v in sorted(left_out.items()))})"
                if left_out
                else ""
            )
            + "; pass --method NAME or other --candidates"
        )
    best = mine[0]
    reason = f"{best.submission} has the highest cross-validated skill, {best.skill.format()}"
    if best.skill.low is not None and best.skill.low == best.skill.high:
        reason += " (one bootstrap block: the interval says nothing of its uncertainty)"
    if len(mine) > 1:
        second = mine[1]
        tie = "tied with (overlapping intervals)" if best.skill.overlaps(second.skill) else "above"
        reason += f", {tie} {second.submission} {second.skill.format()}"
    return MethodChoice(task_id, best.submission, mine, reason + ".", dict(left_out or {}))


def candidate_scores(
    scores: Sequence[TaskScore], task_id: str, candidates: Sequence[tuple[str, str]]
) -> list[TaskScore]:
    """The scores of exactly these (name, version) pairs on ``task_id``, best first."""
    wanted = set(candidates)
    return sorted(
        (s for s in scores if s.task_id == task_id and (s.submission, s.version) in wanted),
        key=lambda s: (-s.skill.estimate, s.submission),
    )
