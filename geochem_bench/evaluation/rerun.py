"""Verifying a submission: rerun its code in the sandbox and compare with its uploaded records.

A record is a claim. ``geochem-bench verify SUBMISSION_DIR RESULTS_DIR`` reruns the
submission's code, confined exactly as ``evaluate`` confines it, on a seeded sample of the
task folds it has records for (all with ``all_folds=True``), and compares every metric with the
uploaded record: exactly, up to ``tolerance``, for deterministic CPU runs; a declared tolerance
otherwise. Every rerun fold is also run as a canary (held-out values replaced by noise), so a
verified submission is one that reproduces its numbers without reading the test. The report
(``verification.json`` beside the records) is what the board reads to mark the submission
*verified* rather than *self-reported* (:mod:`geochem_bench.board.verification`).
"""

from __future__ import annotations

import math
import random
import secrets
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from geochem_bench import __version__
from geochem_bench.core.atomic import write_text_atomic
from geochem_bench.errors import InvalidInputError
from geochem_bench.evaluation.harness import RunOptions, run_fold
from geochem_bench.evaluation.provenance import utc_now
from geochem_bench.evaluation.records import (
    VERIFICATION_NAME,
    ResultRecord,
    VerificationReport,
    VerifiedFold,
    record_digest,
    records_manifest_digest,
    safe_name,
    scan_results,
)
from geochem_bench.evaluation.submission import Submission
from geochem_bench.scenes.registry import get_task

#: Folds rerun by default: enough to catch a fabricated board, cheap enough to run per PR.
DEFAULT_SAMPLE = 5


def verify_submission(
    submission: Submission,
    results_dir: str | Path,
    options: RunOptions,
    *,
    sample: int = DEFAULT_SAMPLE,
    all_folds: bool = False,
    tolerance: float = 1e-9,
    sample_seed: int | None = None,
) -> VerificationReport:
    """Rerun ``submission`` on some of its recorded folds and write ``verification.json``.

    Args:
        submission: the submission's code (a folder with ``submission.toml``, usually).
        results_dir: the results folder holding its records
            (``<results>/<name>/<version>/<task>/fold-<k>.json``).
        options: how to run the model (sandbox, timeout, memory limit); ``out_dir`` is
            ignored: reruns are scored in a temporary folder and never touch the records.
        sample: number of scored folds to rerun (ignored with ``all_folds``).
        all_folds: rerun every scored fold.
        tolerance: largest accepted difference of a metric, relative to max(1, |value|).
        sample_seed: seed of the fold sample (the same seed picks the same folds); None
            draws one at random, so a submitter cannot know in advance which folds are
            rerun. The report records it.

    Raises:
        InvalidInputError: the results folder has no scored records of this submission.
    """
    root = Path(results_dir) / safe_name(submission.name) / safe_name(submission.version)
    found, _skipped = scan_results(root)
    scored = [(path, r) for path, r in found if r.status == "ok"]
    if not scored:
        raise InvalidInputError(
            f"{root} has no scored records of {submission.name} {submission.version}; run "
            f"`geochem-bench evaluate {submission.folder or submission.model} --out "
            f"{results_dir}` first, or point RESULTS_DIR at the folder holding them"
        )
    if sample_seed is None:
        sample_seed = secrets.randbits(32)
    chosen = scored if all_folds else _sample(scored, sample, sample_seed)
    folds = []
    seed_dependent = None
    with tempfile.TemporaryDirectory(prefix="geochem-bench-verify-") as tmp:
        for _path, claimed in chosen:
            folds.append(
                _rerun(submission, claimed, replace(options, out_dir=Path(tmp)), tolerance)
            )
        # One seed is ranked only for a deterministic submission: check every such claim by
        # rerunning a fold that makes it with another seed (any record claiming it will do:
        # the board wants one flag for the whole submission).
        deterministic = [k for k, (_, r) in enumerate(chosen) if not r.submission.stochastic]
        if deterministic and folds[deterministic[0]].match:
            claimed = chosen[deterministic[0]][1]
            again = replace(options, out_dir=Path(tmp))
            seed_dependent = not _rerun(
                submission, claimed, again, tolerance, seed=claimed.seed + 1
            ).match
    report = VerificationReport(
        name=submission.name,
        version=submission.version,
        verified_at=utc_now(),
        package_version=__version__,
        isolation=_isolation_label(options),
        tolerance=tolerance,
        folds=folds,
        passed=all(f.match for f in folds) and not seed_dependent,
        seed_dependent=seed_dependent,
        sample_seed=None if all_folds else sample_seed,
        records_sha256=records_manifest_digest([r for _, r in scored]),
    )
    write_text_atomic(root / VERIFICATION_NAME, report.model_dump_json(indent=2) + "\n")
    return report


def _sample(
    scored: list[tuple[Path, ResultRecord]], n: int, seed: int
) -> list[tuple[Path, ResultRecord]]:
    """A seeded sample that covers every protocol and every seed, then spreads over tasks.

    First one fold per (protocol, seed) pair of a Latin pairing, so that each protocol and
    each seed of the records is rerun at least once: a uniform draw could miss all of them
    (a red team drew only grid folds for a change that touched only point protocols, and no
    seed-1 fold of a stochastic submission). Then round-robin over tasks in a shuffled
    order up to ``n``. The sample is ``max(n, protocols, seeds)`` folds.
    """
    if n < 1:
        raise InvalidInputError(f"--sample must be >= 1, got {n}")
    rng = random.Random(seed)
    pool = list(scored)
    rng.shuffle(pool)
    protocols = sorted({r.task.protocol for _, r in pool})
    seeds = sorted({r.seed for _, r in pool})
    rng.shuffle(protocols)
    rng.shuffle(seeds)
    chosen: list[tuple[Path, ResultRecord]] = []
    for i in range(max(len(protocols), len(seeds))):
        protocol, run_seed = protocols[i % len(protocols)], seeds[i % len(seeds)]
        # the pair if it exists, else any fold of that protocol (every seed is paired anyway)
        match = [x for x in pool if x[1].task.protocol == protocol and x[1].seed == run_seed]
        match = match or [x for x in pool if x[1].task.protocol == protocol]
        chosen.append(match[0])
        pool.remove(match[0])
    by_task: dict[str, list[tuple[Path, ResultRecord]]] = {}
    for item in pool:
        by_task.setdefault(item[1].task.id, []).append(item)
    tasks = sorted(by_task)
    rng.shuffle(tasks)
    while len(chosen) < min(n, len(scored)):
        for task in tasks:
            if by_task[task] and len(chosen) < n:
                chosen.append(by_task[task].pop())
    return chosen


def _rerun(
    submission: Submission,
    claimed: ResultRecord,
    options: RunOptions,
    tolerance: float,
    seed: int | None = None,
) -> VerifiedFold:
    """Run the claimed fold again (with the claimed seed, or ``seed``) and compare metrics."""
    task_id, fold = claimed.task.id, claimed.fold

    def verdict(match: bool, reason: str | None = None, **more: Any) -> VerifiedFold:
        return VerifiedFold(
            task=task_id, fold=fold, seed=claimed.seed, match=match, reason=reason, **more
        )

    try:
        task = get_task(task_id)
    except KeyError:
        return verdict(False, "unknown task")
    if task.version != claimed.task.version:
        return verdict(
            False,
            f"record of task version {claimed.task.version}, this package has {task.version}",
        )
    # every rerun fold is also a canary: a verified submission cannot be reading the test
    seed = claimed.seed if seed is None else seed
    record = run_fold(submission, task, fold, replace(options, seed=seed), canary=True)
    if record.status != "ok" or record.metrics is None:
        return verdict(
            False, f"rerun failed: {record.failure.message if record.failure else 'no metrics'}"
        )
    if record.canary is not None and record.canary.changed:
        return verdict(False, f"canary: {record.canary.message}")
    assert claimed.metrics is not None  # scored records only
    worst = 0.0
    rows = set(claimed.metrics) | set(record.metrics)
    for group in sorted(rows):
        values = claimed.metrics.get(group, {})
        # every metric the rerun computes must be claimed: a record cannot hide one
        for key in sorted(set(values) | set(record.metrics.get(group, {}))):
            value = values.get(key)
            again = record.metrics.get(group, {}).get(key)
            if value is None or again is None:
                if value != again:
                    return verdict(False, f"{group}.{key} missing")
                continue
            diff = abs(value - again)
            if not math.isfinite(diff):
                return verdict(False, f"{group}.{key} not finite")
            worst = max(worst, diff / max(1.0, abs(value)))
    # the error blocks drive the bootstrap and the paired ranks: they must be reproduced too
    blocks_problem = _blocks_problem(claimed, record, tolerance)
    if blocks_problem is not None:
        return verdict(False, blocks_problem)
    match = worst <= tolerance
    return verdict(
        match,
        None if match else f"metrics differ by up to {worst:.3g} (tolerance {tolerance:g})",
        max_abs_diff=worst,
        record_sha256=record_digest(claimed),
    )


def _blocks_problem(claimed: ResultRecord, rerun: ResultRecord, tolerance: float) -> str | None:
    """Why the claimed error blocks are not the rerun's (None when they are, within tolerance)."""
    if claimed.errors is None or rerun.errors is None:
        return None if claimed.errors == rerun.errors else "error blocks missing"
    if set(claimed.errors) != set(rerun.errors):
        return "error blocks of other elements"
    for symbol, mine in rerun.errors.items():
        theirs = claimed.errors[symbol]
        if (mine.block_edge_cells, mine.n) != (theirs.block_edge_cells, theirs.n):
            return f"{symbol} error blocks: other blocks or counts"
        for name in ("sse", "sse_reference"):
            a, b = getattr(theirs, name), getattr(mine, name)
            if any(abs(x - y) > tolerance * max(1.0, abs(y)) for x, y in zip(a, b, strict=True)):
                return f"{symbol} error blocks: {name} differs from the rerun's"
    return None


def _isolation_label(options: RunOptions) -> str:
    from geochem_bench.evaluation.sandbox import describe_available

    if options.isolation == "inline":
        return "inline (no sandbox)"
    return f"sandboxed: {describe_available()}" if options.sandbox else "process, no Landlock"
