"""Aggregating result records into leaderboard scores with bootstrap confidence intervals.

Skill = 1 - RMSE / RMSE(reference), with the protocol's reference (bicubic upsampling on the
grid protocol, the training-sample mean on the points protocols; see
:mod:`geochem_bench.evaluation.reference`). A task's score is the mean over its evaluation
units of the unit skill (mean over the task's elements): over realisations (simulated scenes
come as several), the spatial folds within each, and the seeds a stochastic submission was
run with. Its 95 % interval comes from a hierarchical bootstrap that follows the same nesting
(Davison & Hinkley 1997, Bootstrap Methods and their Application, section 3.8): each replicate
resamples realisations, then seeds within each fold, then held-out blocks (grid protocol) or
samples (points protocols) within each fold. Spatial folds partition the samples, so they are
not resampled.

Suites are per protocol: grid, points and transfer skills have different references and
scales, so each protocol has its own interquartile mean (IQM) of task skills with a stratified
bootstrap interval (every replicate resamples within each task, then takes the IQM, as
rliable does; Agarwal et al., NeurIPS 2021). A submission ranks above another when the paired
bootstrap interval of their IQM difference lies above zero and the difference reaches
:data:`MIN_EFFECT`; the overall rank is the mean of a
submission's per-protocol ranks, never an IQM over mixed scales.

The bootstrap uses common random numbers: the resampling of a (task, fold, element), of a
fold's seeds and of a task's realisations depends only on those names and the seed, so every
submission is scored on the same replicates and differences between them are paired.
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
from geochem_bench.evaluation.submission import MIN_SEEDS

#: Bootstrap replicates; 2000 keep the 2.5 % / 97.5 % percentiles stable to about 0.002 skill.
N_BOOTSTRAP = 2000
CONFIDENCE = 0.95
#: Smallest IQM skill difference that can rank one submission above another, and the largest
#: bootstrap difference at which two submissions count as one (copies). Below 0.001 of skill a
#: difference is no finding; without the floor, near-copies with errors a hair apart ranked
#: above each other and pushed every other submission down (red team, benchmark v2).
MIN_EFFECT = 1e-3


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
        skill: mean over evaluation units of the unit skill, with its interval.
        rmse: per element, mean over units of the RMSE (analysis space), with its interval.
        bias: per element, mean over units of the mean error (analysis space; > 0 is
            overestimation), shown next to skill because a constant shift alone can be worth
            as much skill as a method's whole gain.
        coherence: per element, mean over units of the coherence error (RMS relative error
            of the natural-unit block means against lowres; grid protocol), None elsewhere.
        mae_natural: per element, mean over units of the MAE in natural units (mg/kg, %, ...),
            the figure the geostatistics literature reports.
        n_folds: evaluation folds the task has (realisations x spatial folds).
        n_seeds: seeds per fold the submission was run with.
        n_realisations: realisations among the folds (1 for a fixed scene).
        replicates: bootstrap replicates of ``skill`` (empty without error blocks).
        task_version: the version of the task the records were run on.
        superseded: whether that version is an earlier one the suite no longer runs: such a
            score is shown apart and never counts in a suite.
        scale: the task's scale factor.
        runtime_s: mean over the records of the seconds the model ran per fold (fit and
            predict), None when a record does not say; it describes the submitter's machine.
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
    bias: dict[str, float] = field(default_factory=dict)
    coherence: dict[str, float | None] = field(default_factory=dict)
    n_seeds: int = 1
    n_realisations: int = 1
    task_version: str = ""
    superseded: bool = False
    scale: int = 0
    runtime_s: float | None = None


@dataclass(frozen=True)
class SuiteScore:
    """One submission's suite score on one protocol (IQM of its task skills) and rank.

    Attributes:
        submission: submission name.
        version: submission version.
        iqm: IQM of the task skills, with its stratified bootstrap interval.
        n_tasks: suite tasks of the protocol the submission has scores for.
        n_suite_tasks: suite tasks of the protocol.
        rank: rank among the complete submissions of the same group (None: incomplete).
        protocol: the protocol ("grid", "points" or "transfer").
        replicates: bootstrap replicates of ``iqm`` (paired across submissions).
    """

    submission: str
    version: str
    iqm: Interval
    n_tasks: int
    n_suite_tasks: int
    rank: int | None = None
    protocol: str = ""
    replicates: NDArray[np.float64] = field(
        default_factory=lambda: np.empty(0), repr=False, compare=False
    )

    @property
    def complete(self) -> bool:
        """Whether the submission scored every task of the protocol's suite."""
        return self.n_tasks == self.n_suite_tasks


@dataclass(frozen=True)
class OverallRank:
    """A submission's overall standing: the mean of its per-protocol ranks.

    Attributes:
        submission: submission name.
        version: submission version.
        ranks: its rank in each protocol's suite.
        mean_rank: the mean of ``ranks``.
    """

    submission: str
    version: str
    ranks: dict[str, int]
    mean_rank: float


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
    """RMSE from summed squared errors and the number of scored cells or samples (NaN at n 0)."""
    # as arrays: a record's Python floats would raise ZeroDivisionError instead of giving NaN
    sse, n = np.asarray(sse, dtype=np.float64), np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.sqrt(sse / n))


def skill_from_sums(
    sse: NDArray[np.float64] | float, sse_ref: NDArray[np.float64] | float
) -> NDArray[np.float64]:
    """Skill ``1 - RMSE / RMSE(bicubic)`` from the two squared-error sums (NaN when undefined).

    Both RMSEs share their ``n``, so it cancels: the one formula of skill from error sums, used
    for bootstrap replicates and to check a record's metrics.
    """
    sse, sse_ref = np.asarray(sse, dtype=np.float64), np.asarray(sse_ref, dtype=np.float64)
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

    A fold may have several records, one per seed; every fold needs the same seeds.

    Raises:
        InvalidInputError: when folds are missing or failed, or seeds differ between folds,
            naming them.
    """
    first = records[0]
    task = first.task
    by_fold: dict[int, list[ResultRecord]] = defaultdict(list)
    for record in records:
        by_fold[record.fold].append(record)
    if sorted(by_fold) != list(range(task.n_folds)):
        missing = sorted(set(range(task.n_folds)) - set(by_fold))
        raise InvalidInputError(f"{task.id}: folds {missing} have no record")
    failed = sorted({r.fold for r in records if r.status != "ok"})
    if failed:
        raise InvalidInputError(f"{task.id}: folds {failed} failed")
    seeds = {fold: sorted(r.seed for r in rs) for fold, rs in by_fold.items()}
    if len({tuple(s) for s in seeds.values()}) != 1 or any(
        len(set(s)) != len(s) for s in seeds.values()
    ):
        raise InvalidInputError(
            f"{task.id}: every fold needs one record per seed, the same seeds for every fold "
            f"(found {seeds}); rerun the missing seeds"
        )
    flags = {r.submission.stochastic for r in records}
    if len(flags) > 1:
        raise InvalidInputError(f"{task.id}: records disagree on whether it is stochastic")
    # The seeds are fixed, not chosen: any other set would let a submitter keep its luckiest
    # runs (or relabel them), which a rerun of a sampled fold only catches by chance.
    wanted = list(range(MIN_SEEDS)) if flags == {True} else [0]
    if next(iter(seeds.values())) != wanted:
        kind = "a stochastic" if flags == {True} else "a deterministic"
        raise InvalidInputError(
            f"{task.id}: {kind} submission is ranked on seeds {wanted}, found "
            f"{next(iter(seeds.values()))}; run `geochem-bench evaluate` with its default seeds"
        )
    elements = tuple(task.elements)
    with_blocks = all(r.errors is not None for r in records)
    folds = sorted(by_fold)
    units = {fold: sorted(by_fold[fold], key=lambda r: r.seed) for fold in folds}
    groups = _realisation_groups(units)
    fold_skill: dict[int, NDArray[np.float64]] = {}
    rmse_reps: dict[str, dict[int, NDArray[np.float64]]] = defaultdict(dict)
    if with_blocks:
        for fold in folds:
            per_seed_skill, per_seed_rmse = [], defaultdict(list)
            for record in units[fold]:
                assert record.errors is not None
                element_skills = []
                for symbol in elements:
                    blocks = record.errors[symbol]
                    # the same blocks are drawn for every seed and every submission
                    rng = _stream(seed, task.id, fold, symbol)
                    weights = _block_weights(len(blocks.n), n_boot, rng)
                    fold_rmse, fold_element_skill = _fold_replicates(blocks, weights)
                    per_seed_rmse[symbol].append(fold_rmse)
                    element_skills.append(fold_element_skill)
                per_seed_skill.append(np.mean(element_skills, axis=0))
            seed_weights = _unit_weights(len(units[fold]), n_boot, seed, task.id, fold)
            fold_skill[fold] = _resampled_mean(np.stack(per_seed_skill), seed_weights)
            for symbol in elements:
                stacked = np.stack(per_seed_rmse[symbol])
                rmse_reps[symbol][fold] = _resampled_mean(stacked, seed_weights)
    realisation_weights = _unit_weights(len(groups), n_boot, seed, task.id, "realisations")

    def nested(per_fold: dict[int, NDArray[np.float64]]) -> NDArray[np.float64]:
        by_group = np.stack([np.mean([per_fold[f] for f in g], axis=0) for g in groups])
        return _resampled_mean(by_group, realisation_weights)

    def estimate(row: str, name: str) -> float:
        """Mean over realisations of the mean over their folds of the mean over seeds."""
        per_fold = {f: np.mean([_metric(r, row, name) for r in units[f]]) for f in folds}
        return float(np.mean([np.mean([per_fold[f] for f in g]) for g in groups]))

    replicates = nested(fold_skill) if with_blocks else np.empty(0)
    skill_bounds = _percentiles(replicates) if with_blocks else (None, None)
    rmse: dict[str, Interval] = {}
    bias: dict[str, float] = {}
    coherence: dict[str, float | None] = {}
    for symbol in elements:
        bounds = _percentiles(nested(rmse_reps[symbol])) if with_blocks else (None, None)
        rmse[symbol] = Interval(estimate(symbol, "rmse"), *bounds)
        bias[symbol] = estimate(symbol, "bias")
        value = estimate(symbol, "coherence")
        coherence[symbol] = value if math.isfinite(value) else None
    return TaskScore(
        submission=first.submission.name,
        version=first.submission.version,
        task_id=task.id,
        scene=task.scene,
        protocol=task.protocol,
        elements=elements,
        skill=Interval(estimate(OVERALL, "skill"), *skill_bounds),
        rmse=rmse,
        mae_natural={symbol: estimate(symbol, "mae_natural") for symbol in elements},
        n_folds=task.n_folds,
        replicates=replicates,
        bias=bias,
        coherence=coherence,
        n_seeds=len(units[folds[0]]),
        n_realisations=len(groups),
        task_version=task.version,
        scale=task.scale,
        runtime_s=_mean_runtime(records),
    )


def _mean_runtime(records: Sequence[ResultRecord]) -> float | None:
    """Mean seconds per record spent in the model, None if a record has no runtime."""
    seconds = [r.runtime.total_s for r in records if r.runtime is not None]
    return float(np.mean(seconds)) if seconds and len(seconds) == len(records) else None


def _metric(record: ResultRecord, row: str, name: str) -> float:
    assert record.metrics is not None
    value = record.metrics[row].get(name)
    return math.nan if value is None else float(value)


def _realisation_groups(units: dict[int, list[ResultRecord]]) -> list[list[int]]:
    """Folds grouped by the realisation they were run on (one group for a fixed scene)."""
    groups: dict[object, list[int]] = defaultdict(list)
    for fold, records in units.items():
        groups[records[0].realisation].append(fold)
    return [sorted(folds) for _, folds in sorted(groups.items(), key=lambda kv: min(kv[1]))]


def _unit_weights(n: int, n_boot: int, seed: int, *names: object) -> NDArray[np.float64] | None:
    """Resampling weights of ``n`` units (seeds, realisations); None when there is one."""
    if n == 1:
        return None
    return _block_weights(n, n_boot, _stream(seed, *names, "units", n))


def _resampled_mean(
    values: NDArray[np.float64], weights: NDArray[np.float64] | None
) -> NDArray[np.float64]:
    """Per replicate, the mean of the units drawn: ``values`` (units, B), ``weights`` (B, units).

    Without weights (a single unit) it is the plain mean over units.
    """
    if weights is None:
        return np.asarray(values.mean(axis=0))
    return np.asarray(np.einsum("bu,ub->b", weights, values) / values.shape[0])


def paired_difference(a: TaskScore, b: TaskScore) -> Interval:
    """Skill of ``a`` minus skill of ``b`` on one task, with a paired bootstrap interval.

    Both scores resample the same blocks and realisations in each replicate (common random
    numbers), so the interval of the difference is much narrower than the two intervals side
    by side; use it for ablations. Raises InvalidInputError for different tasks or missing
    replicates.
    """
    if a.task_id != b.task_id:
        raise InvalidInputError(f"cannot pair {a.task_id} with {b.task_id}")
    if not (a.replicates.size and a.replicates.size == b.replicates.size):
        raise InvalidInputError("both scores need bootstrap replicates of the same length")
    return Interval(a.skill.estimate - b.skill.estimate, *_percentiles(a.replicates - b.replicates))


def score_suite(
    task_scores: Sequence[TaskScore], suite_tasks: Sequence[str], protocol: str = ""
) -> SuiteScore:
    """IQM of one submission's task skills on one protocol, with a stratified interval.

    The interval needs bootstrap replicates for every task; a submission missing tasks of
    the suite still gets an IQM over the tasks it has, but no rank (see :func:`rank`).

    Args:
        task_scores: the submission's scores on tasks of one protocol.
        suite_tasks: the protocol's suite tasks.
        protocol: the protocol, recorded on the score.
    """
    first = task_scores[0]
    estimates = np.array([t.skill.estimate for t in task_scores])
    iqm = float(interquartile_mean(estimates))
    bounds: tuple[float | None, float | None] = (None, None)
    replicates = np.empty(0)
    if all(t.replicates.size for t in task_scores):
        stacked = np.stack([t.replicates for t in task_scores], axis=-1)  # (B, tasks)
        replicates = interquartile_mean(stacked, axis=-1)
        bounds = _percentiles(replicates)
    scored = {t.task_id for t in task_scores}
    return SuiteScore(
        submission=first.submission,
        version=first.version,
        iqm=Interval(iqm, *bounds),
        n_tasks=len(scored & set(suite_tasks)),
        n_suite_tasks=len(suite_tasks),
        protocol=protocol or first.protocol,
        replicates=replicates,
    )


def better(a: SuiteScore, b: SuiteScore) -> bool:
    """Whether ``a`` beats ``b`` by at least :data:`MIN_EFFECT`, significantly.

    The IQM difference must reach :data:`MIN_EFFECT` and its paired interval lie above 0.

    Without paired replicates (records without error blocks) it falls back to disjoint
    intervals.
    """
    if a.iqm.estimate - b.iqm.estimate < MIN_EFFECT:
        return False
    if a.replicates.size and a.replicates.size == b.replicates.size:
        low, _ = _percentiles(a.replicates - b.replicates)
        return low is not None and low > 0
    return a.iqm.low is not None and b.iqm.high is not None and a.iqm.low > b.iqm.high


def rank(scores: Iterable[SuiteScore]) -> list[SuiteScore]:
    """Rank the complete submissions of one protocol.

    A submission's rank is one plus the number of *distinct* submissions that beat it (see
    :func:`better`), so submissions whose difference is not significant can share a rank, and
    copies of one submission count once: entering clones cannot push the others down. Copies
    are submissions whose bootstrap replicates differ nowhere by :data:`MIN_EFFECT` or more.
    Incomplete submissions keep no rank and sort last.
    """
    scores = list(scores)
    complete = [s for s in scores if s.complete]

    def copies(s: SuiteScore, t: SuiteScore) -> bool:
        if s.replicates.size and s.replicates.size == t.replicates.size:
            return bool(np.max(np.abs(s.replicates - t.replicates)) < MIN_EFFECT)
        return (s.submission, s.version) == (t.submission, t.version)

    # one representative per group of copies (the first met), so clones count once
    distinct: list[SuiteScore] = []
    for s in complete:
        if not any(copies(s, d) for d in distinct):
            distinct.append(s)
    ranked = [
        replace(s, rank=1 + sum(better(o, s) for o in distinct if not copies(o, s)))
        for s in complete
    ]
    ranked.sort(key=lambda s: (s.rank, -s.iqm.estimate, s.submission))
    rest = sorted(
        (s for s in scores if not s.complete), key=lambda s: (-s.iqm.estimate, s.submission)
    )
    return ranked + rest


def overall_ranks(ranked: Iterable[SuiteScore], protocols: Sequence[str]) -> list[OverallRank]:
    """The mean of per-protocol ranks, for submissions ranked on every protocol in ``protocols``.

    Args:
        ranked: ranked suite scores of one group (verified, or self-reported), all protocols.
        protocols: the protocols of the suite.
    """
    ranks: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for s in ranked:
        if s.rank is not None:
            ranks[(s.submission, s.version)][s.protocol] = s.rank
    rows = [
        OverallRank(name, version, {p: by[p] for p in protocols}, float(np.mean(list(by.values()))))
        for (name, version), by in ranks.items()
        if set(by) >= set(protocols)
    ]
    return sorted(rows, key=lambda r: (r.mean_rank, r.submission, r.version))
