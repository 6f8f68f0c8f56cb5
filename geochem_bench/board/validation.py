"""Checking a result record against its own error blocks and the pinned reference facts.

A record is data a stranger sent: its metrics, skill and reference sums are claims. The board
and ``submit`` accept a record only when every derived number follows from its error blocks
(RMSE and skill per element, overall skill as the mean of element skills, all finite), its
counts are the task's (folds, blocks, scored cells), and its reference sums and data
fingerprint equal the pins of the official task (:mod:`geochem_bench.board.pins`). A fold of a
task on a simulated scene must name the realisation the task maps it to and have run on that
realisation's data; a record of a dev task (tuning on the public dev realisations) is refused
outright. Records of tasks without a pin (a user's own ``make-task`` survey) get the internal
checks only. A record of an earlier version of a task is checked against the pins of that
version and the data it ran on, when the pins keep them (``Pins.superseded``): it stays
valid for that version, and the board scores it apart from the current version's records.

What stays a claim is the prediction error ``sse`` itself: only rerunning the code checks it
(``geochem-bench verify``; see :mod:`geochem_bench.board.verification`).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np

from geochem_bench.board.aggregation import rmse_from_sums, skill_from_sums
from geochem_bench.board.pins import (
    EXACT_REL_TOL,
    REPRODUCIBLE_REL_TOL,
    ElementPin,
    Pins,
    ScenePin,
    TaskPin,
    element_pin,
)
from geochem_bench.core.task import DEV_SUFFIX
from geochem_bench.evaluation.records import ErrorBlocks, ResultRecord
from geochem_bench.evaluation.scoring import OVERALL

#: Relative tolerance between a recorded RMSE and the one its blocks give. The harness computes
#: both from the same squared errors, summed in another order (measured on the committed
#: records: under 5e-15 relative); 1e-6 leaves room for any summation order.
DERIVED_REL_TOL: Final = 1e-6
#: Absolute tolerance of a recorded skill (a difference of RMSE ratios, so near 0 for bicubic).
SKILL_ABS_TOL: Final = 1e-6
#: The scene arrays a task of each protocol reads (tasks.protocols.build_fold): only these must
#: match. A grid task never sees the samples, so a scene that later gained samples (Walker
#: Lake did) keeps its grid results valid.
TASK_ARRAYS: Final[dict[str, frozenset[str]]] = {
    "grid": frozenset({"covariates", "valid", "truth"}),
    "points": frozenset({"covariates", "valid", "points"}),
    "transfer": frozenset({"covariates", "valid", "points"}),
}


def pinned(record: ResultRecord, pins: Pins) -> bool:
    """Whether the record's task has pinned reference facts (an official task)."""
    return record.task.id in pins.tasks


def check_record(record: ResultRecord, pins: Pins) -> list[str]:
    """Why a record cannot be trusted; an empty list accepts it.

    Args:
        record: a record that passed the schema.
        pins: the pinned facts of the record's benchmark version
            (:func:`~geochem_bench.board.pins.load_pins`).

    Returns:
        One reason per problem, each naming the value and what it should be.
    """
    if record.benchmark_version != pins.benchmark_version:
        return [
            f"a benchmark v{record.benchmark_version} record on the v{pins.benchmark_version} "
            f"board: it counts on the v{record.benchmark_version} board (`geochem-bench "
            f"leaderboard --benchmark {record.benchmark_version}`), or rerun the submission "
            "with the current geochem-bench"
        ]
    if record.task.dev:
        return [
            f"{record.task.id} ran on the public dev realisations, for tuning: run the "
            f"official task ({record.task.id.removesuffix('/' + DEV_SUFFIX)}) for the board"
        ]
    pin = pins.tasks.get(record.task.id)
    scene = None if pin is None else pins.scenes[pin.task.scene]
    # a superseded version of the task is checked against that version's pins and data: its
    # records stay valid for it (the board scores them apart)
    superseded = pins.pin_of(record.task.id, record.task.version) if pin is not None else None
    if superseded is not None:
        pin, scene = superseded
    reasons = _realisation_problems(record)
    if reasons:
        return reasons
    if pin is not None and scene is not None:
        reasons += _task_problems(record, pin)
        if reasons:  # another task version: its counts and sums cannot match either
            return reasons
        reasons += _dataset_problems(record, scene)
    if record.status == "ok":
        reasons += _metric_problems(record, pin, scene)
    if record.canary is not None and record.canary.changed:
        reasons.append(f"its canary fold flagged a leak: {record.canary.message}")
    return reasons


def _realisation_problems(record: ResultRecord) -> list[str]:
    """The fold must name the realisation its task maps it to, and have run on its data."""
    if not 0 <= record.fold < record.task.n_folds:
        return []  # the schema refuses such a record
    expected, _ = record.task.unit(record.fold)
    if record.realisation != expected:
        return [
            f"fold {record.fold} of {record.task.id} runs on realisation {expected}, the "
            f"record says {record.realisation}"
        ]
    ran_on = record.dataset.options.get("realisation")
    if expected is not None and ran_on != expected:
        return [
            f"fold {record.fold} of {record.task.id} runs on realisation {expected}, but its "
            f"dataset is realisation {ran_on}: rerun it"
        ]
    return []


def _task_problems(record: ResultRecord, pin: TaskPin) -> list[str]:
    if record.task.version != pin.task.version:
        return [
            f"task {record.task.id} version {record.task.version} is stale: rerun it (the "
            f"suite runs version {pin.task.version}, and no pin of version "
            f"{record.task.version} is kept)"
        ]
    if record.task.canonical() != pin.task.canonical():
        return [
            f"task {record.task.id} is described as {record.task.model_dump()}, the official "
            f"task is {pin.task.model_dump()}"
        ]
    return []


def _dataset_problems(record: ResultRecord, scene: ScenePin) -> list[str]:
    official, claimed = scene.dataset_of(record.realisation), record.dataset
    if official is None:
        return [
            f"realisation {record.realisation} of {claimed.scene} has no pinned data: the "
            f"official tasks run on realisations {sorted(scene.realisations)}"
        ]
    if (claimed.scene, claimed.version, claimed.options) != (
        official.scene,
        official.version,
        official.options,
    ):
        return [
            f"computed on {claimed.scene} {claimed.version} with options {claimed.options}, "
            f"the official task uses {official.scene} {official.version} with options "
            f"{official.options}: rerun with the default scene"
        ]
    if not scene.bit_reproducible:
        return []  # its arrays differ in the last bits between CPUs: the sums are checked
    differing = sorted(
        key
        for key in TASK_ARRAYS[record.task.protocol] & official.sha256.keys()
        if official.sha256.get(key) != claimed.sha256.get(key)
    )
    if differing:
        return [
            f"computed on other data than the official {record.task.id} (dataset sha256 of "
            f"{', '.join(differing)} differs from the pinned one): rebuild the scene "
            f"(geochem-bench download {official.scene} --force) and rerun"
        ]
    return []


def _metric_problems(
    record: ResultRecord, pin: TaskPin | None, scene: ScenePin | None
) -> list[str]:
    assert record.metrics is not None  # the schema requires metrics of an "ok" record
    reasons = [
        f"{row_name} {metric} is {value}, not a finite number"
        for row_name, row in record.metrics.items()
        for metric, value in row.items()
        if value is not None and not math.isfinite(value)
    ]
    elements = record.task.elements
    extra = sorted(set(record.metrics) - {*elements, OVERALL})
    if extra:
        reasons.append(f"metrics of {extra}, which are not elements of {record.task.id}")
    if record.errors is None:
        return [*reasons, "no error blocks, so its metrics cannot be checked: rerun it"]
    skills: list[float] = []
    for symbol in elements:
        row, blocks = record.metrics.get(symbol), record.errors.get(symbol)
        if row is None or blocks is None:
            reasons.append(f"metrics or error blocks of {symbol} are missing")
            continue
        if pin is not None and scene is not None:
            reasons += _reference_problems(
                symbol, blocks, pin.folds[record.fold][symbol], scene.bit_reproducible
            )
        n, sse, sse_ref = sum(blocks.n), math.fsum(blocks.sse), math.fsum(blocks.sse_reference)
        rmse = float(rmse_from_sums(sse, float(n)))
        skill = float(skill_from_sums(sse, sse_ref))
        skills.append(skill)
        reasons += _claim(f"{symbol} rmse", row.get("rmse"), rmse, rel=DERIVED_REL_TOL)
        reasons += _claim(f"{symbol} skill", row.get("skill"), skill, abs_=SKILL_ABS_TOL)
        if row.get("rmse_reference") is not None:
            rmse_ref = float(rmse_from_sums(sse_ref, float(n)))
            reasons += _claim(
                f"{symbol} rmse_reference", row["rmse_reference"], rmse_ref, rel=DERIVED_REL_TOL
            )
        if row.get("n") is not None and row["n"] != n:
            reasons.append(f"{symbol} n is {row['n']}, its error blocks hold {n}")
        censored = row.get("n_censored")  # absent from records made before it was counted
        if (
            censored is not None
            and math.isfinite(censored)
            and not (float(censored).is_integer() and 0 <= censored <= n)
        ):
            reasons.append(
                f"{symbol} n_censored is {censored}, not a count between 0 and its {n} "
                "scored values"
            )
        bias = row.get("bias")
        if bias is not None and math.isfinite(bias) and abs(bias) > rmse * (1 + 1e-6) + 1e-12:
            # |mean error| <= RMS error: a bias beyond the RMSE of the blocks is made up
            reasons.append(f"{symbol} bias is {bias:.6g}, beyond its RMSE {rmse:.6g}")
        coherence = row.get("coherence")
        if coherence is not None and coherence < 0:
            reasons.append(f"{symbol} coherence is {coherence}: an RMS error is never negative")
        if record.benchmark_version != "1.0":  # v2 shows these next to skill: none may hide
            wanted = ("bias", "coherence") if record.task.protocol == "grid" else ("bias",)
            hidden = [m for m in wanted if m not in row]
            if hidden:
                reasons.append(f"{symbol} lacks {', '.join(hidden)}, which the board shows")
    if len(skills) == len(elements):
        overall = float(np.mean(skills))  # as scoring.score_fold: the mean of element skills
        claimed = record.metrics.get(OVERALL, {}).get("skill")
        reasons += _claim("overall skill", claimed, overall, abs_=SKILL_ABS_TOL)
    return reasons


def _claim(
    what: str, claimed: float | None, derived: float, rel: float = 0.0, abs_: float = 0.0
) -> list[str]:
    if not math.isfinite(derived):
        return [f"{what} is undefined from its error blocks (no reference error)"]
    if claimed is None:
        return [f"{what} is missing; its error blocks give {derived:.6g}"]
    if not math.isfinite(claimed):
        return []  # already named as not finite
    if math.isclose(claimed, derived, rel_tol=rel, abs_tol=abs_ or 1e-12):
        return []
    return [f"{what} is {claimed:.6g}, its error blocks give {derived:.6g}"]


def _reference_problems(
    symbol: str, blocks: ErrorBlocks, pin: ElementPin, bit_reproducible: bool
) -> list[str]:
    got = element_pin(blocks)
    if (got.n_blocks, got.n) != (pin.n_blocks, pin.n):
        return [
            f"{symbol}: {got.n_blocks} error blocks over {got.n} scored values, the official "
            f"fold has {pin.n_blocks} blocks over {pin.n}"
        ]
    tolerance = EXACT_REL_TOL if bit_reproducible else REPRODUCIBLE_REL_TOL
    for what, value, official in (
        ("sum", got.sse_reference, pin.sse_reference),
        ("sum of squares", got.sse_reference_sq, pin.sse_reference_sq),
    ):
        if not math.isclose(value, official, rel_tol=tolerance):
            return [
                f"{symbol}: sse_reference {what} is {value:.10g}, the pinned reference "
                f"is {official:.10g} (relative tolerance {tolerance:g}): the reference was "
                "altered or computed on other data"
            ]
    return []
