"""Building the leaderboard from a folder of result records: load, verify, aggregate.

A board never crashes on a bad file: records that do not parse (too big, too deep, not the
schema), sit at the wrong path, or that :mod:`geochem_bench.board.validation` refuses (another
benchmark version, a task version nothing pins, other data than the pinned official task,
numbers their error blocks or the pinned reference contradict) are skipped and listed with the
reason. Scores come from :mod:`geochem_bench.board.aggregation`.

Records of an earlier, superseded version of a task (one the pins keep, ``Pins.superseded``)
stay valid for that version: they are scored as that version, apart (``Leaderboard.superseded``),
never pooled with the current version's records and never counted in a suite; a submission
that has only them for a suite task is listed as not scored on it, with the reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from geochem_bench import BENCHMARK_VERSION
from geochem_bench.board.aggregation import (
    N_BOOTSTRAP,
    Incomplete,
    OverallRank,
    SuiteScore,
    TaskScore,
    overall_ranks,
    rank,
    score_suite,
    score_task,
)
from geochem_bench.board.pins import Pins, load_pins
from geochem_bench.board.validation import check_record
from geochem_bench.board.verification import (
    Verification,
    collect_verifications,
    verification_status,
)
from geochem_bench.core.names import check_name
from geochem_bench.core.task import PROTOCOLS, TaskSpec
from geochem_bench.errors import InvalidInputError
from geochem_bench.evaluation.records import (
    ResultRecord,
    Skipped,
    VerificationReport,
    result_path,
    scan_results,
)
from geochem_bench.scenes.registry import suite_tasks

__all__ = ["Leaderboard", "Skipped", "build_leaderboard", "collect_records", "load_leaderboard"]


@dataclass
class Leaderboard:
    """Scores of every submission found, with what was left out.

    Attributes:
        suite: one row per (protocol, submission, version), ranked within each protocol and
            verification group (verified first).
        tasks: one score per (submission, version, task) that has all folds ok.
        incomplete: (submission, task) pairs with missing or failed folds.
        skipped: files that were not used, with the reason.
        suite_task_ids: the tasks of the official suite.
        benchmark_version: the benchmark version the board is for.
        verification: per (submission, version), whether a rerun verified it; absent means
            self-reported.
        overall: the mean of per-protocol ranks of submissions ranked on every protocol,
            verified ones first.
        superseded: scores on earlier versions of suite tasks (``TaskScore.superseded``),
            shown apart; they count in no suite.
    """

    suite: list[SuiteScore]
    tasks: list[TaskScore]
    incomplete: list[Incomplete] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    suite_task_ids: list[str] = field(default_factory=list)
    benchmark_version: str = BENCHMARK_VERSION
    verification: dict[tuple[str, str], Verification] = field(default_factory=dict)
    overall: list[OverallRank] = field(default_factory=list)
    superseded: list[TaskScore] = field(default_factory=list)

    @property
    def protocols(self) -> list[str]:
        """The protocols of the suite, in the order tables show them."""
        present = {task_id.rsplit("/", 1)[-1] for task_id in self.suite_task_ids}
        return [p for p in PROTOCOLS if p in present]

    def suite_of(self, protocol: str) -> list[SuiteScore]:
        """The ranked suite rows of one protocol."""
        return [s for s in self.suite if s.protocol == protocol]

    def verified(self, submission: str, version: str) -> Verification:
        """The verification of one submission (self-reported when none is known)."""
        return self.verification.get((submission, version), Verification(verified=False))


def collect_records(
    root: str | Path, pins: Pins | None = None, survey: bool = False
) -> tuple[list[tuple[Path, ResultRecord]], list[Skipped]]:
    """Read every ``fold-*.json`` under ``root``; invalid, stale or refused files are skipped.

    Args:
        root: the results folder.
        pins: the pinned reference facts (default: the packaged ones).
        survey: ``pins`` are a survey's (:func:`~geochem_bench.board.pins.survey_pins`): the
            tasks they pin are the ones that count, instead of the official suite's.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"results folder {root} does not exist; pass the --out folder of "
            "`geochem-bench evaluate` or a downloaded results dataset"
        )
    pins = pins or load_pins()
    if survey:
        from geochem_bench.scenes.registry import get_task

        expected = {task_id: get_task(task_id) for task_id in pins.tasks}
    else:
        expected = {t.id: t for t in suite_tasks()}
    parsed, skipped = scan_results(root)
    found: list[tuple[Path, ResultRecord]] = []
    for path, record in parsed:
        reason = record_problem(record, path, root, expected, pins, survey)
        if reason is not None:
            skipped.append(Skipped(str(path.relative_to(root)), reason))
        else:
            found.append((path, record))
    return found, sorted(skipped, key=lambda s: s.path)


def record_problem(
    record: ResultRecord,
    path: Path,
    root: Path,
    expected: Mapping[str, TaskSpec] | None = None,
    pins: Pins | None = None,
    survey: bool = False,
) -> str | None:
    """Why a valid record cannot count on the board (None if it can).

    A task outside the suite, a path that is not the one its submission, version, task and
    fold give, or any problem :func:`~geochem_bench.board.validation.check_record` finds
    (another benchmark or task version, other data, numbers its error blocks contradict).
    ``expected``: the suite's tasks by id; ``pins``: the pinned facts (defaults: looked up);
    ``survey``: the board is a survey's (``expected`` its tasks).
    """
    if expected is None:
        expected = {t.id: t for t in suite_tasks()}
    pins = pins or load_pins()
    reasons = check_record(record, pins)
    if reasons:
        return "; ".join(reasons)
    for value, what in (
        (record.submission.name, "submission name"),
        (record.submission.version, "submission version"),
    ):
        try:  # a name its folder would rename (x! -> x_) could take another's folder and page
            check_name(value, what)
        except InvalidInputError as exc:
            return str(exc)
    if record.task.id not in expected:
        if survey:
            return (
                f"task {record.task.id!r} is not a task of the survey as it is built now "
                f"({', '.join(sorted(expected))})"
            )
        return (
            f"task {record.task.id!r} is not in the v{BENCHMARK_VERSION} suite (a make-task "
            "survey's tasks are ranked on its own board: `geochem-bench leaderboard --survey "
            "SURVEY_DIR`)"
        )
    try:
        where = result_path(
            root,
            record.submission.name,
            record.submission.version,
            record.task.id,
            record.fold,
            record.seed,
        )
    except ValueError as exc:
        return str(exc)
    if where.resolve() != path.resolve():
        return (
            f"record of {record.submission.name} {record.submission.version} "
            f"{record.task.id} fold {record.fold} found at the wrong path (expected "
            f"{where.relative_to(root)})"
        )
    return None


def build_leaderboard(
    records: list[ResultRecord],
    skipped: list[Skipped] | None = None,
    n_boot: int = N_BOOTSTRAP,
    seed: int = 0,
    suite_task_ids: list[str] | None = None,
    reports: Mapping[tuple[str, str], VerificationReport] | None = None,
    benchmark_version: str = BENCHMARK_VERSION,
    pins: Pins | None = None,
    entered: Mapping[tuple[str, str], Sequence[str]] | None = None,
) -> Leaderboard:
    """Aggregate checked records into task scores, suite scores and ranks.

    Verified and self-reported submissions are ranked separately (verified first). Records of
    a superseded task version are scored apart (``Leaderboard.superseded``) and count in no
    suite.

    Args:
        records: checked records (see :func:`collect_records`).
        skipped: files already left out, carried into the board.
        n_boot: bootstrap replicates.
        seed: seed of the bootstrap streams.
        suite_task_ids: the tasks a complete submission covers (default: the official suite;
            on the board of an earlier benchmark version, the tasks its pins hold, so that
            tasks added since do not make its submissions incomplete).
        reports: verification reports by (submission, version)
            (see :func:`~geochem_bench.board.verification.collect_verifications`).
        benchmark_version: the benchmark version the records belong to.
        pins: the pins that say which task versions are superseded (default: the packaged
            pins of ``benchmark_version``).
        entered: the protocols each (submission, version) enters, from its card (see
            :func:`entered_protocols`); default: every protocol. Tasks of a protocol a
            submission does not enter are not listed as missing.
    """
    pins = pins or load_pins(benchmark_version)
    if suite_task_ids:
        suite_ids = list(suite_task_ids)
    elif benchmark_version == BENCHMARK_VERSION:
        suite_ids = [t.id for t in suite_tasks()]
    else:  # that version's suite, which its pins hold
        suite_ids = list(pins.tasks)
    protocol_of = {task_id: task_id.rsplit("/", 1)[-1] for task_id in suite_ids}
    protocols = [p for p in PROTOCOLS if p in protocol_of.values()]
    groups: dict[tuple[str, str], dict[str, list[ResultRecord]]] = defaultdict(
        lambda: defaultdict(list)
    )
    # (submission, version) -> (task id, task version) -> records of a superseded version
    older: dict[tuple[str, str], dict[tuple[str, str], list[ResultRecord]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for record in records:
        key = (record.submission.name, record.submission.version)
        if pins.is_superseded(record.task.id, record.task.version):
            older[key][(record.task.id, record.task.version)].append(record)
        else:
            groups[key][record.task.id].append(record)
    task_scores: list[TaskScore] = []
    superseded: list[TaskScore] = []
    incomplete: list[Incomplete] = []
    suite: list[SuiteScore] = []
    for name, version in sorted(set(groups) | set(older)):
        by_task, old_tasks = groups[(name, version)], older[(name, version)]
        mine: list[TaskScore] = []
        # One flag per submission: it decides the seeds every current task needs. Records of
        # a superseded version may predate a change of the card; score_task checks each
        # old task's own records agree.
        flags = {r.submission.stochastic for rs in by_task.values() for r in rs}
        if len(flags) > 1:
            incomplete.extend(
                Incomplete(name, version, task_id, "records disagree on whether it is stochastic")
                for task_id in suite_ids
            )
            continue
        old_versions: dict[str, list[str]] = defaultdict(list)
        for task_id, task_version in old_tasks:
            old_versions[task_id].append(task_version)
        for task_id in [t for t in suite_ids if t in by_task]:
            try:
                mine.append(score_task(by_task[task_id], n_boot=n_boot, seed=seed))
            except ValueError as exc:
                reason = str(exc)
                if task_id in old_versions:  # the missing folds may sit in an older version
                    found = ", ".join(sorted(old_versions[task_id]))
                    reason += (
                        f" of version {pins.tasks[task_id].task.version}; records of version "
                        f"{found} are scored apart as superseded and cannot fill them"
                    )
                incomplete.append(Incomplete(name, version, task_id, reason))
        for (task_id, task_version), old in sorted(old_tasks.items()):
            try:
                score = score_task(old, n_boot=n_boot, seed=seed)
            except ValueError as exc:
                incomplete.append(
                    Incomplete(name, version, f"{task_id} (version {task_version})", str(exc))
                )
                continue
            superseded.append(replace(score, superseded=True))
        # A protocol the card does not enter (e.g. a grid-only method) is not "missing": the
        # protocol's table just does not list the submission.
        mine_entered = set((entered or {}).get((name, version), PROTOCOLS))
        incomplete.extend(
            Incomplete(name, version, task_id, _missing_reason(task_id, old_versions, pins))
            for task_id in suite_ids
            if task_id not in by_task and protocol_of[task_id] in mine_entered
        )
        task_scores.extend(mine)
        for protocol in protocols:
            scored = [t for t in mine if t.protocol == protocol]
            if scored:
                ids = [t for t in suite_ids if protocol_of[t] == protocol]
                suite.append(score_suite(scored, ids, protocol))
    reports = reports or {}
    verification = {
        # a verification vouches for every record of the submission, superseded ones included
        key: verification_status(
            reports.get(key),
            [r for rs in (*groups[key].values(), *older[key].values()) for r in rs],
            require_manifest=benchmark_version != "1.0",
        )
        for key in set(groups) | set(older)
    }
    ranked: list[SuiteScore] = []
    overall: list[OverallRank] = []
    for verified in (True, False):
        group = [s for s in suite if verification[(s.submission, s.version)].verified == verified]
        mine_ranked = [r for p in protocols for r in rank(s for s in group if s.protocol == p)]
        ranked += mine_ranked
        overall += overall_ranks(mine_ranked, protocols)
    return Leaderboard(
        suite=ranked,
        tasks=task_scores,
        incomplete=incomplete,
        skipped=list(skipped or []),
        suite_task_ids=suite_ids,
        verification=verification,
        overall=overall,
        benchmark_version=benchmark_version,
        superseded=superseded,
    )


def _missing_reason(task_id: str, old_versions: Mapping[str, list[str]], pins: Pins) -> str:
    """Why a submission has no score on a suite task: no records, or only superseded ones."""
    if task_id not in old_versions:
        return "no records"
    current = pins.tasks[task_id].task.version
    found = ", ".join(sorted(old_versions[task_id]))
    return (
        f"only records of task version {found}, superseded by version {current}: scored apart "
        "as that version; rerun the task for the suite"
    )


def entered_protocols(root: str | Path) -> dict[tuple[str, str], tuple[str, ...]]:
    """The protocols each submission under ``root`` enters, from its card (``submission.json``).

    A card without ``protocols``, or one that cannot be read, enters every protocol: a
    submission leaves a protocol out only by saying so, never by deleting its records.
    """
    from geochem_bench.board.cards import card_in_its_folder
    from geochem_bench.evaluation.submission import CARD_NAME, read_card

    entered: dict[tuple[str, str], tuple[str, ...]] = {}
    for path in sorted(Path(root).glob(f"*/*/{CARD_NAME}")):
        try:
            card = read_card(path)
        except (ValueError, OSError):
            continue
        if card_in_its_folder(path, card.name, card.version):  # not another's folder
            entered[(card.name, card.version)] = card.entered
    return entered


def load_board_inputs(
    root: str | Path,
    benchmark_version: str = BENCHMARK_VERSION,
    survey_pins: Pins | None = None,
) -> tuple[list[ResultRecord], dict[tuple[str, str], VerificationReport], list[Skipped]]:
    """The accepted records and verification reports under ``root``, and every file skipped.

    Args:
        root: the results folder.
        benchmark_version: the board's benchmark version: records of other versions are
            skipped (earlier versions stay readable on their own board).
        survey_pins: a survey's pins: the board of that survey's tasks instead of the suite.
    """
    if survey_pins is not None:
        found, skipped = collect_records(root, survey_pins, survey=True)
    else:
        found, skipped = collect_records(root, load_pins(benchmark_version))
    reports, bad_reports = collect_verifications(root)
    return [r for _, r in found], reports, sorted(skipped + bad_reports, key=lambda s: s.path)


def load_leaderboard(
    root: str | Path,
    n_boot: int = N_BOOTSTRAP,
    seed: int = 0,
    benchmark_version: str = BENCHMARK_VERSION,
    suite_task_ids: list[str] | None = None,
) -> Leaderboard:
    """Collect, check and aggregate every record (and verification) under ``root``.

    ``suite_task_ids``: score completeness and suites on these tasks only (default: the
    official suite, see :func:`build_leaderboard`).
    """
    records, reports, skipped = load_board_inputs(root, benchmark_version)
    return build_leaderboard(
        records,
        skipped,
        n_boot=n_boot,
        seed=seed,
        suite_task_ids=suite_task_ids,
        reports=reports,
        benchmark_version=benchmark_version,
        entered=entered_protocols(root),
    )
