"""Aggregating result records into leaderboard scores with bootstrap confidence intervals.

As DESIGN.md states: skill = 1 - RMSE / RMSE(bicubic); a task's score is the mean over its
folds of the fold skill (mean over the task's elements), with a 95 % bootstrap interval that
resamples held-out blocks (grid protocol) or held-out samples (points protocols) within each
fold; the suite score is the interquartile mean (IQM) of the task skills, with a stratified
bootstrap interval (every replicate resamples within each task, then takes the IQM across
tasks, as rliable does for reinforcement-learning suites; Agarwal et al., NeurIPS 2021).
Submissions tie in rank when their intervals overlap.

The bootstrap uses common random numbers: the resampling of a (task, fold, element) depends
only on those names and the seed, so every submission is scored on the same replicates and
differences between them are not blurred by independent noise.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from geochem_bench.errors import InvalidInputError
from geochem_bench.evaluation.records import ErrorBlocks, ResultRecord
from geochem_bench.evaluation.scoring import OVERALL

#: Bootstrap replicates; 2000 keep the 2.5 % / 97.5 % percentiles stable to about 0.002 skill.
N_BOOTSTRAP = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile bootstrap interval (None bounds: not computable)."""

    estimate: float
    low: float | None
    high: float | None

    def overlaps(self, other: Interval) -> bool:
        """Whether two intervals overlap (a missing bound counts as unbounded)."""
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        other_low = -math.inf if other.low is None else other.low
        other_high = math.inf if other.high is None else other.high
        return low <= other_high and other_low <= high

    def format(self, digits: int = 3, signed: bool = True) -> str:
        """``+0.123 [+0.100, +0.150]`` (``0.123 [0.100, 0.150]`` unsigned)."""
        spec = f"{'+' if signed else ''}.{digits}f"
        text = format(self.estimate, spec)
        if self.low is not None and self.high is not None:
            text += f" [{format(self.low, spec)}, {format(self.high, spec)}]"
        return text


@dataclass(frozen=True)
class TaskScore:
    """One submission's score on one task.

    Attributes:
        submission: submission name.
        version: submission version.
        task_id: the task.
        scene: the task's scene.
        protocol: the task's protocol.
        elements: target elements, in record order.
        skill: mean over folds of the fold skill, with its interval.
        rmse: per element, mean over folds of the RMSE (analysis space), with its interval.
        mae_natural: per element, mean over folds of the MAE in natural units (mg/kg, %, ...),
            the figure the geostatistics literature reports.
        n_folds: folds the task has.
        replicates: bootstrap replicates of ``skill`` (empty without error blocks).
    """

    submission: str
    version: str
    task_id: str
    scene: str
    protocol: str
    elements: tuple[str, ...]
    skill: Interval
    rmse: dict[str, Interval]
    mae_natural: dict[str, float]
    n_folds: int
    replicates: NDArray[np.float64] = field(repr=False, compare=False)


@dataclass(frozen=True)
class SuiteScore:
    """One submission's suite score (IQM of task skills) and rank."""

    submission: str
    version: str
    iqm: Interval
    n_tasks: int
    n_suite_tasks: int
    rank: int | None = None

    @property
    def complete(self) -> bool:
        """Whether the submission scored every task of the suite."""
        return self.n_tasks == self.n_suite_tasks


@dataclass(frozen=True)
class Incomplete:
    """A (submission, task) left out of the scores, and why."""

    submission: str
    version: str
    task_id: str
    reason: str


def interquartile_mean(values: NDArray[np.float64], axis: int = -1) -> NDArray[np.float64]:
    """Mean of the middle 50 % of ``values`` along ``axis``.

    With n values, the lowest and highest n/4 are dropped, a fractional quarter counting with
    its fraction (so the IQM of 1..n is exact for any n, not only multiples of 4), as in
    Agarwal et al. (2021).
    """
    x = np.sort(np.asarray(values, dtype=np.float64), axis=axis)
    x = np.moveaxis(x, axis, -1)
    n = x.shape[-1]
    if n == 0:
        raise InvalidInputError("the interquartile mean of no values is undefined")
    quarter = n / 4.0
    # weight of each sorted position: 1 inside, partial at the two cut points, 0 outside
    positions = np.arange(n, dtype=np.float64)
    weights = np.clip(positions + 1 - quarter, 0, 1) * np.clip(n - quarter - positions, 0, 1)
    return np.asarray((x * weights).sum(axis=-1) / weights.sum())


def _stream(seed: int, *names: object) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(map(str, (seed, *names))).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _block_weights(n_blocks: int, n_boot: int, rng: np.random.Generator) -> NDArray[np.float64]:
    # How often each block is drawn in each replicate: drawing n_blocks blocks with replacement.
    draws = rng.integers(0, n_blocks, size=(n_boot, n_blocks))
    flat = (np.arange(n_boot)[:, None] * n_blocks + draws).ravel()
    return np.bincount(flat, minlength=n_boot * n_blocks).reshape(n_boot, n_blocks).astype(float)


def _fold_replicates(
    blocks: ErrorBlocks, weights: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n = weights @ np.asarray(blocks.n, dtype=np.float64)
    sse = weights @ np.asarray(blocks.sse)
    sse_ref = weights @ np.asarray(blocks.sse_reference)
    return rmse_from_sums(sse, n), skill_from_sums(sse, sse_ref)


def rmse_from_sums(
    sse: NDArray[np.float64] | float, n: NDArray[np.float64] | float
) -> NDArray[np.float64]:
    """RMSE from summed squared errors and the number of scored cells or samples."""
    return np.asarray(np.sqrt(sse / n))


def skill_from_sums(
    sse: NDArray[np.float64] | float, sse_ref: NDArray[np.float64] | float
) -> NDArray[np.float64]:
    """Skill ``1 - RMSE / RMSE(bicubic)`` from the two squared-error sums (NaN when undefined).

    Both RMSEs share their ``n``, so it cancels: the one formula of skill from error sums, used
    for bootstrap replicates and to check a record's metrics.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(sse_ref > 0, 1.0 - np.sqrt(sse / sse_ref), np.nan))


def _percentiles(replicates: NDArray[np.float64]) -> tuple[float | None, float | None]:
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return None, None
    alpha = (1.0 - CONFIDENCE) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return float(low), float(high)


def score_task(
    records: Sequence[ResultRecord], n_boot: int = N_BOOTSTRAP, seed: int = 0
) -> TaskScore:
    """Score one submission on one task from its fold records (all ``ok``, all folds).

    Raises:
        ValueError: when folds are missing or failed, naming them.
    """
    first = records[0]
    task = first.task
    folds = sorted(r.fold for r in records)
    if folds != list(range(task.n_folds)):
        missing = sorted(set(range(task.n_folds)) - set(folds))
        raise InvalidInputError(f"{task.id}: folds {missing} have no record")
    failed = [r.fold for r in records if r.status != "ok"]
    if failed:
        raise InvalidInputError(f"{task.id}: folds {failed} failed")
    elements = tuple(task.elements)
    with_blocks = all(r.errors is not None for r in records)
    fold_skill = np.zeros((len(records), n_boot if with_blocks else 0))
    rmse_estimates: dict[str, list[float]] = defaultdict(list)
    mae_estimates: dict[str, list[float]] = defaultdict(list)
    rmse_reps: dict[str, list[NDArray[np.float64]]] = defaultdict(list)
    skills = []
    for i, record in enumerate(sorted(records, key=lambda r: r.fold)):
        assert record.metrics is not None
        skills.append(_finite(record.metrics[OVERALL]["skill"]))
        element_skills = []
        for symbol in elements:
            rmse_estimates[symbol].append(_finite(record.metrics[symbol]["rmse"]))
            mae_estimates[symbol].append(_finite(record.metrics[symbol].get("mae_natural")))
            if with_blocks:
                assert record.errors is not None
                blocks = record.errors[symbol]
                rng = _stream(seed, task.id, record.fold, symbol)
                weights = _block_weights(len(blocks.n), n_boot, rng)
                fold_rmse, fold_element_skill = _fold_replicates(blocks, weights)
                rmse_reps[symbol].append(fold_rmse)
                element_skills.append(fold_element_skill)
        if with_blocks:
            fold_skill[i] = np.mean(element_skills, axis=0)
    replicates = fold_skill.mean(axis=0) if with_blocks else np.empty(0)
    skill_bounds = _percentiles(replicates) if with_blocks else (None, None)
    rmse: dict[str, Interval] = {}
    for symbol in elements:
        bounds = _percentiles(np.mean(rmse_reps[symbol], axis=0)) if with_blocks else (None, None)
        rmse[symbol] = Interval(float(np.mean(rmse_estimates[symbol])), *bounds)
    return TaskScore(
        submission=first.submission.name,
        version=first.submission.version,
        task_id=task.id,
        scene=task.scene,
        protocol=task.protocol,
        elements=elements,
        skill=Interval(float(np.mean(skills)), *skill_bounds),
        rmse=rmse,
        mae_natural={symbol: float(np.mean(mae_estimates[symbol])) for symbol in elements},
        n_folds=task.n_folds,
        replicates=replicates,
    )


def _finite(value: float | None) -> float:
    return math.nan if value is None else float(value)


def paired_difference(a: TaskScore, b: TaskScore) -> Interval:
    """Skill of ``a`` minus skill of ``b`` on one task, with a paired bootstrap interval.

    Both scores resample the same blocks in each replicate (common random numbers), so the
    interval of the difference is much narrower than the two intervals side by side; use it
    for ablations. Raises ValueError for different tasks or missing replicates.
    """
    if a.task_id != b.task_id:
        raise InvalidInputError(f"cannot pair {a.task_id} with {b.task_id}")
    if not (a.replicates.size and a.replicates.size == b.replicates.size):
        raise InvalidInputError("both scores need bootstrap replicates of the same length")
    return Interval(a.skill.estimate - b.skill.estimate, *_percentiles(a.replicates - b.replicates))


def score_suite(task_scores: Sequence[TaskScore], suite_tasks: Sequence[str]) -> SuiteScore:
    """IQM of one submission's task skills with a stratified bootstrap interval.

    The interval needs bootstrap replicates for every task; a submission missing tasks of
    the suite still gets an IQM over the tasks it has, but no rank (see :func:`rank`).
    """
    first = task_scores[0]
    estimates = np.array([t.skill.estimate for t in task_scores])
    iqm = float(interquartile_mean(estimates))
    bounds: tuple[float | None, float | None] = (None, None)
    if all(t.replicates.size for t in task_scores):
        stacked = np.stack([t.replicates for t in task_scores], axis=-1)  # (B, tasks)
        bounds = _percentiles(interquartile_mean(stacked, axis=-1))
    scored = {t.task_id for t in task_scores}
    return SuiteScore(
        submission=first.submission,
        version=first.version,
        iqm=Interval(iqm, *bounds),
        n_tasks=len(scored & set(suite_tasks)),
        n_suite_tasks=len(suite_tasks),
    )


def rank(scores: Iterable[SuiteScore]) -> list[SuiteScore]:
    """Rank complete submissions; ties where intervals overlap.

    A submission's rank is one plus the number of submissions whose interval lies wholly
    above its own, so overlapping submissions share a rank. Incomplete submissions keep no
    rank and sort last.
    """
    scores = list(scores)
    complete = [s for s in scores if s.complete]

    def better(a: SuiteScore, b: SuiteScore) -> bool:
        return a.iqm.low is not None and b.iqm.high is not None and a.iqm.low > b.iqm.high

    ranked = [
        replace(s, rank=1 + sum(better(o, s) for o in complete if o is not s)) for s in complete
    ]
    ranked.sort(key=lambda s: (s.rank, -s.iqm.estimate, s.submission))
    rest = sorted(
        (s for s in scores if not s.complete), key=lambda s: (-s.iqm.estimate, s.submission)
    )
    return ranked + rest
