"""Building the leaderboard from a folder of result records: load, verify, aggregate.

A board never crashes on a bad file: records that do not parse, sit at the wrong path, belong
to another benchmark version or task version, were computed on other data than the rest of
their task, or whose error blocks contradict their metrics are skipped and listed with the
reason. Scores come from :mod:`geochem_bench.board.aggregation`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from geochem_bench import BENCHMARK_VERSION
from geochem_bench.board.aggregation import (
    N_BOOTSTRAP,
    Incomplete,
    SuiteScore,
    TaskScore,
    rank,
    score_suite,
    score_task,
)
from geochem_bench.core.task import TaskSpec
from geochem_bench.evaluation.records import ResultRecord, read_result, result_path
from geochem_bench.evaluation.scoring import OVERALL
from geochem_bench.scenes.registry import suite_tasks

#: Relative tolerance between a record's RMSE and the one its error blocks give.
_BLOCK_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Skipped:
    """A results file left out of the board, and why."""

    path: str
    reason: str


@dataclass
class Leaderboard:
    """Scores of every submission found, with what was left out.

    Attributes:
        suite: one row per (submission, version), ranked.
        tasks: one score per (submission, version, task) that has all folds ok.
        incomplete: (submission, task) pairs with missing or failed folds.
        skipped: files that were not used, with the reason.
        suite_task_ids: the tasks of the official suite.
        benchmark_version: the benchmark version the board is for.
    """

    suite: list[SuiteScore]
    tasks: list[TaskScore]
    incomplete: list[Incomplete] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    suite_task_ids: list[str] = field(default_factory=list)
    benchmark_version: str = BENCHMARK_VERSION


def collect_records(root: str | Path) -> tuple[list[tuple[Path, ResultRecord]], list[Skipped]]:
    """Read every ``fold-*.json`` under ``root``; invalid or stale files are skipped."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"results folder {root} does not exist; pass the --out folder of "
            "`geochem-bench evaluate` or a downloaded results dataset"
        )
    expected = {t.id: t for t in suite_tasks()}
    found: list[tuple[Path, ResultRecord]] = []
    skipped: list[Skipped] = []
    for path in sorted(root.rglob("fold-*.json")):
        shown = str(path.relative_to(root))
        try:
            record = read_result(path)
        except (ValueError, OSError) as exc:
            skipped.append(Skipped(shown, _first_line(str(exc))))
            continue
        reason = record_problem(record, path, root, expected)
        if reason is not None:
            skipped.append(Skipped(shown, reason))
        else:
            found.append((path, record))
    kept, stale = _same_data(found, root)
    return kept, skipped + stale


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return " ".join(lines[:3]) if lines else text


def record_problem(
    record: ResultRecord, path: Path, root: Path, expected: Mapping[str, TaskSpec] | None = None
) -> str | None:
    """Why a valid record cannot count on the board (None if it can).

    Another benchmark or task version, a task outside the suite, a path that is not the one
    its submission, version, task and fold give, impossible metric values, or error blocks
    that contradict its RMSE. ``expected``: the suite's tasks by id (default: looked up).
    """
    if expected is None:
        expected = {t.id: t for t in suite_tasks()}
    if record.benchmark_version != BENCHMARK_VERSION:
        return (
            f"benchmark version {record.benchmark_version}, this board is {BENCHMARK_VERSION}: "
            "rerun with the current geochem-bench"
        )
    task = expected.get(record.task.id)
    if task is None:
        return f"task {record.task.id!r} is not in the v{BENCHMARK_VERSION} suite"
    if task.version != record.task.version:
        return f"task {record.task.id} version {record.task.version} is stale: rerun it"
    try:
        where = result_path(
            root, record.submission.name, record.submission.version, record.task.id, record.fold
        )
    except ValueError as exc:
        return str(exc)
    if where.resolve() != path.resolve():
        return (
            f"record of {record.submission.name} {record.submission.version} "
            f"{record.task.id} fold {record.fold} found at the wrong path (expected "
            f"{where.relative_to(root)})"
        )
    if record.status == "ok":
        return _metrics_problem(record)
    return None


def _metrics_problem(record: ResultRecord) -> str | None:
    assert record.metrics is not None
    for symbol in record.task.elements:
        row = record.metrics.get(symbol)
        if row is None or row.get("rmse") is None or row.get("skill") is None:
            return f"metrics of {symbol} are missing"
        rmse, skill = float(row["rmse"]), float(row["skill"])  # type: ignore[arg-type]
        if not (0 <= rmse < 1e12) or skill > 1 + 1e-9:
            return f"{symbol}: rmse {rmse} / skill {skill} are impossible values"
        if record.errors is None:
            continue
        blocks = record.errors.get(symbol)
        if blocks is None:
            return f"error blocks of {symbol} are missing"
        n = sum(blocks.n)
        from_blocks = math.sqrt(sum(blocks.sse) / n)
        if not math.isclose(from_blocks, rmse, rel_tol=_BLOCK_TOLERANCE, abs_tol=1e-12):
            return f"{symbol}: error blocks give RMSE {from_blocks:.6g}, metrics say {rmse:.6g}"
    if record.metrics.get(OVERALL, {}).get("skill") is None:
        return "overall skill is missing"
    return None


def _same_data(
    found: list[tuple[Path, ResultRecord]], root: Path
) -> tuple[list[tuple[Path, ResultRecord]], list[Skipped]]:
    # Records of one task must describe the same arrays; the majority defines "current".
    def key(record: ResultRecord) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(record.dataset.sha256.items()))

    by_task: dict[str, Counter[tuple[tuple[str, str], ...]]] = defaultdict(Counter)
    for _, record in found:
        by_task[record.task.id][key(record)] += 1
    kept, stale = [], []
    for path, record in found:
        majority = by_task[record.task.id].most_common(1)[0][0]
        if key(record) == majority:
            kept.append((path, record))
        else:
            stale.append(
                Skipped(
                    str(path.relative_to(root)),
                    f"computed on other data than the other {record.task.id} records "
                    "(dataset sha256 differs): rerun on the current data",
                )
            )
    return kept, stale


def build_leaderboard(
    records: list[ResultRecord],
    skipped: list[Skipped] | None = None,
    n_boot: int = N_BOOTSTRAP,
    seed: int = 0,
    suite_task_ids: list[str] | None = None,
) -> Leaderboard:
    """Aggregate verified records into task scores, suite scores and ranks.

    Args:
        records: verified records (see :func:`collect_records`).
        skipped: files already left out, carried into the board.
        n_boot: bootstrap replicates.
        seed: seed of the bootstrap streams.
        suite_task_ids: the tasks a complete submission covers (default: the official suite).
    """
    suite_ids = suite_task_ids or [t.id for t in suite_tasks()]
    groups: dict[tuple[str, str], dict[str, list[ResultRecord]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for record in records:
        groups[(record.submission.name, record.submission.version)][record.task.id].append(record)
    task_scores: list[TaskScore] = []
    incomplete: list[Incomplete] = []
    suite: list[SuiteScore] = []
    for (name, version), by_task in sorted(groups.items()):
        mine: list[TaskScore] = []
        for task_id in [t for t in suite_ids if t in by_task]:
            try:
                mine.append(score_task(by_task[task_id], n_boot=n_boot, seed=seed))
            except ValueError as exc:
                incomplete.append(Incomplete(name, version, task_id, str(exc)))
        incomplete.extend(
            Incomplete(name, version, task_id, "no records")
            for task_id in suite_ids
            if task_id not in by_task
        )
        task_scores.extend(mine)
        if mine:
            suite.append(score_suite(mine, suite_ids))
    return Leaderboard(
        suite=rank(suite),
        tasks=task_scores,
        incomplete=incomplete,
        skipped=list(skipped or []),
        suite_task_ids=suite_ids,
    )


def load_leaderboard(root: str | Path, n_boot: int = N_BOOTSTRAP, seed: int = 0) -> Leaderboard:
    """Collect, verify and aggregate every record under ``root``."""
    found, skipped = collect_records(root)
    return build_leaderboard([r for _, r in found], skipped, n_boot=n_boot, seed=seed)
