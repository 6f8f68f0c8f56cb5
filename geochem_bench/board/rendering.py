"""Rendering a leaderboard: terminal table, Markdown, CSV, a plot with intervals, a static page.

Every text output is a pure function of the board (no clocks, no absolute paths), so the
files committed under ``leaderboard/`` can be checked against a fresh rendering. The browsable
page over the same board is :mod:`geochem_bench.board.site`; :mod:`geochem_bench.board.folder`
writes them all.
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

from geochem_bench.board.aggregation import (
    CONFIDENCE,
    N_BOOTSTRAP,
    Interval,
    OverallRank,
    SuiteScore,
    TaskScore,
)
from geochem_bench.board.leaderboard import Leaderboard
from geochem_bench.core.atomic import atomic_path
from geochem_bench.evaluation.records import safe_name

MARKDOWN_NAME: Final = "LEADERBOARD.md"
CSV_NAME: Final = "leaderboard.csv"
PLOT_NAME: Final = "leaderboard.png"
HTML_NAME: Final = "index.html"

_METHOD = (
    "Skill = 1 - RMSE / RMSE(reference) on the same fold, RMSE in each element's analysis "
    "space (log10 for trace elements); the reference is bicubic upsampling of the lowres grid "
    "on the grid protocol and the mean of the fold's training samples on the points and "
    "transfer protocols, so skill > 0 there means better than a constant. Task skill = mean "
    "over realisations, spatial folds and seeds of the fold skill (mean over elements); each "
    "protocol has its own suite score, the interquartile mean (IQM) of its task skills. "
    f"Intervals: {CONFIDENCE:.0%} percentile hierarchical bootstrap, {N_BOOTSTRAP} replicates, "
    "resampling realisations, then seeds, then held-out blocks (grid) or samples (points "
    "protocols) within each fold; suite intervals are stratified over tasks. A submission "
    "ranks above another when the paired bootstrap interval of their IQM difference lies "
    "above 0 and the difference is at least 0.001 (copies count once); the overall rank is "
    "the mean of the per-protocol ranks. Submissions missing tasks "
    "are listed without a rank. Bias = mean error in analysis space (> 0: overestimation); "
    "coherence = RMS error of the natural-unit block means of the prediction against the "
    "lowres grid, relative to each coarse cell (log10 elements) or to the mean level (linear "
    "elements) (grid protocol). MAE is in natural units (mg/kg; Fe in %, V on "
    "walker-lake in ppm)."
)
_V1_NOTE = (
    "Benchmark v1.0 records, shown with the v2 board: their reference is bicubic upsampling "
    "on every protocol (v2 uses the training-sample mean on points and transfer), they come "
    "from one realisation and one seed, and their coherence column is empty (v1 recorded a "
    "log-space consistency instead). Compare them with v2 numbers only through a rerun."
)


def method_text(board: Leaderboard) -> str:
    """The method paragraph, with the caveat of older benchmark versions."""
    return _METHOD if board.benchmark_version != "1.0" else f"{_METHOD} {_V1_NOTE}"


VERIFIED_NOTE = (
    "Verified submissions were rerun by `geochem-bench verify` and reproduced their records on "
    "the folds listed; self-reported ones were not rerun. Every record of both was checked "
    "against its error blocks and the pinned reference of its task. The two are ranked "
    "separately."
)


def submission_label(score: SuiteScore | TaskScore | OverallRank) -> str:
    """``name version``: how tables name a submission."""
    return f"{score.submission} {score.version}"


#: Characters with a meaning in Markdown (headings, emphasis, links, tables, code). HTML's
#: ``<``, ``>`` and ``&`` become entities.
_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#+!|~")


def markdown_text(text: str) -> str:
    r"""``text`` as literal Markdown on one line: a name cannot add a heading, cell or tag.

    Line breaks and other control characters become spaces, HTML is escaped as entities and
    Markdown punctuation gets a backslash, so ``"x | # y\\n<script>"`` renders as typed.
    """
    one_line = "".join(" " if not c.isprintable() else c for c in text)
    escaped = html.escape(one_line, quote=False)
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in escaped)


def _rank_text(score: SuiteScore) -> str:
    return "-" if score.rank is None else str(score.rank)


def _ci_text(interval: Interval) -> str:
    if interval.low is None or interval.high is None:
        return ""
    return f"[{interval.low:+.3f}, {interval.high:+.3f}]"


def scenes_of(board: Leaderboard) -> dict[str, list[str]]:
    """The suite's task ids by scene, in suite order."""
    scenes: dict[str, list[str]] = defaultdict(list)
    for task_id in board.suite_task_ids:
        scenes[task_id.split("/")[0]].append(task_id)
    return dict(scenes)


SUPERSEDED_NOTE = (
    "Records of an earlier version of a task stay valid for that version. They are scored "
    "here, apart from the current version's records, and count in no suite: compare them only "
    "with scores of the same task version."
)


def by_old_task(board: Leaderboard) -> dict[tuple[str, str], list[TaskScore]]:
    """Superseded scores by (task id, task version), in suite order, best skill first."""
    order = {task_id: i for i, task_id in enumerate(board.suite_task_ids)}
    tasks: dict[tuple[str, str], list[TaskScore]] = defaultdict(list)
    for score in board.superseded:
        tasks[(score.task_id, score.task_version)].append(score)
    for scores in tasks.values():
        scores.sort(key=lambda t: (-t.skill.estimate, t.submission, t.version))
    return dict(sorted(tasks.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0])))


def _by_task(board: Leaderboard) -> dict[str, list[TaskScore]]:
    order = {(s.submission, s.version): i for i, s in enumerate(board.suite)}
    tasks: dict[str, list[TaskScore]] = defaultdict(list)
    for score in board.tasks:
        tasks[score.task_id].append(score)
    for scores in tasks.values():
        scores.sort(key=lambda t: (-t.skill.estimate, order.get((t.submission, t.version), 0)))
    return tasks


# --- terminal ------------------------------------------------------------------------------


def render_terminal(board: Leaderboard, width: int = 140) -> str:
    """Per-protocol suite rankings and a task x submission skill matrix, for a terminal."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    if board.overall:
        overall = Table(title="overall: mean of per-protocol ranks")
        for column in ("submission", "mean rank", *board.protocols, "status"):
            overall.add_column(column, justify="left" if column == "submission" else "right")
        for o in board.overall:
            overall.add_row(
                submission_label(o),
                f"{o.mean_rank:.2f}",
                *(str(o.ranks[p]) for p in board.protocols),
                board.verified(o.submission, o.version).label,
            )
        console.print(overall)
    for protocol in board.protocols:
        suite = Table(
            title=f"geochem-bench v{board.benchmark_version}, {protocol} protocol: suite score "
            "(IQM of task skills)"
        )
        for column in ("rank", "submission", "IQM skill [95% CI]", "tasks", "status"):
            suite.add_column(
                column, justify="left" if column in ("submission", "status") else "right"
            )
        for score in board.suite_of(protocol):
            suite.add_row(
                _rank_text(score),
                submission_label(score),
                score.iqm.format(),
                f"{score.n_tasks}/{score.n_suite_tasks}",
                board.verified(score.submission, score.version).label,
            )
        console.print(suite)
    matrix = Table(title="task skill (mean over folds)")
    longest = max((len(t) for t in board.suite_task_ids), default=4)
    matrix.add_column("task", no_wrap=True, min_width=longest)
    submissions = submissions_of(board)
    for name, _ in submissions:
        # header words wrap onto lines; the numbers need 6 characters
        matrix.add_column(name.replace("-", "- "), justify="right", min_width=6)
    by_task = _by_task(board)
    for task_id in board.suite_task_ids:
        found = {(t.submission, t.version): t for t in by_task.get(task_id, [])}
        cells = [
            "" if key not in found else f"{found[key].skill.estimate:+.3f}" for key in submissions
        ]
        matrix.add_row(task_id, *cells)
    console.print(matrix)
    if board.superseded:
        console.print(
            f"{len(board.superseded)} score(s) on superseded task versions, shown apart "
            "(they count in no suite):"
        )
        for t in board.superseded:
            console.print(
                f"  {submission_label(t)} {t.task_id} version {t.task_version}: {t.skill.format()}",
                markup=False,
                highlight=False,
            )
    if board.skipped:
        console.print(f"{len(board.skipped)} file(s) refused:")
        for item in board.skipped:
            console.print(f"  {item.path}: {item.reason}", markup=False, highlight=False)
    return console.export_text()


_Row = TypeVar("_Row", SuiteScore, OverallRank)


def _by_verification(board: Leaderboard, rows: list[_Row]) -> tuple[list[_Row], list[_Row]]:
    """Rows of a table, verified and self-reported apart, each keeping its rank order."""
    verified = [r for r in rows if board.verified(r.submission, r.version).verified]
    return verified, [r for r in rows if r not in verified]


def _split(board: Leaderboard, protocol: str) -> tuple[list[SuiteScore], list[SuiteScore]]:
    """The suite rows of one protocol, verified and self-reported, each in rank order."""
    return _by_verification(board, board.suite_of(protocol))


def split_overall(board: Leaderboard) -> tuple[list[OverallRank], list[OverallRank]]:
    """The overall ranks, verified and self-reported, each in rank order."""
    return _by_verification(board, board.overall)


def submissions_of(board: Leaderboard) -> list[tuple[str, str]]:
    """Every submission on the board once: overall order first, then the others."""
    keys = [(o.submission, o.version) for o in board.overall]
    for s in board.suite:
        if (s.submission, s.version) not in keys:
            keys.append((s.submission, s.version))
    return keys


def task_header(elements: tuple[str, ...], grid: bool) -> list[str]:
    """The per-element column names of a task table (``task_cells`` fills them)."""
    head = [f"RMSE {e}" for e in elements] + [f"bias {e}" for e in elements]
    if grid:
        head += [f"coherence {e}" for e in elements]
    return head + [f"MAE {e}" for e in elements]


def task_cells(t: TaskScore) -> list[str]:
    """One task score's per-element cells: RMSE intervals, bias, coherence (grid), MAE."""
    cells = [t.rmse[e].format(signed=False) for e in t.elements]
    cells += [_number(t.bias.get(e), "+.3f") for e in t.elements]
    if t.protocol == "grid":
        cells += [_number(t.coherence.get(e), ".3f") for e in t.elements]
    return cells + [_number(t.mae_natural.get(e), ".4g") for e in t.elements]


def _number(value: float | None, spec: str) -> str:
    return "" if value is None or not math.isfinite(value) else format(value, spec)


# --- Markdown ------------------------------------------------------------------------------


def _markdown_task_table(title: str, scores: Sequence[TaskScore]) -> list[str]:
    """The Markdown lines of one task's table: a heading, then a row per submission."""
    head = task_header(scores[0].elements, scores[0].protocol == "grid")
    lines = [
        "",
        f"### {title}",
        "",
        "| submission | skill [95 % CI] | " + " | ".join(head) + " |",
        "|---|---|" + "---:|" * len(head),
    ]
    for t in scores:
        lines.append(
            f"| {markdown_text(submission_label(t))} | {t.skill.format()} | "
            + " | ".join(task_cells(t))
            + " |"
        )
    return lines


def render_markdown(board: Leaderboard) -> str:
    """The board as a Markdown document: suite table, per-scene task tables, what was left out."""
    lines = [
        f"# geochem-bench v{board.benchmark_version} leaderboard",
        "",
        "Generated by `geochem-bench leaderboard`; do not edit by hand.",
        "",
        method_text(board),
        "",
        VERIFIED_NOTE,
    ]
    verified, self_reported = split_overall(board)
    for title, overall in (
        ("Overall: verified", verified),
        ("Overall: self-reported", self_reported),
    ):
        if not overall:
            continue
        lines += ["", f"## {title}", "", "Mean of the per-protocol ranks below.", ""]
        lines += [
            "| submission | version | mean rank | " + " | ".join(board.protocols) + " | status |",
            "|---|---|---:|" + "---:|" * len(board.protocols) + "---|",
        ]
        for o in overall:
            lines.append(
                f"| {markdown_text(o.submission)} | {markdown_text(o.version)} "
                f"| {o.mean_rank:.2f} | "
                + " | ".join(str(o.ranks[p]) for p in board.protocols)
                + f" | {board.verified(o.submission, o.version).label} |"
            )
    for protocol in board.protocols:
        for title, rows in zip(("verified", "self-reported"), _split(board, protocol), strict=True):
            lines += ["", f"## Suite, {protocol} protocol: {title}", ""]
            if not rows:
                lines.append("No submission yet.")
                continue
            lines += [
                "| rank | submission | version | IQM skill | 95 % CI | tasks | status |",
                "|---:|---|---|---:|---|---:|---|",
            ]
            for s in rows:
                lines.append(
                    f"| {_rank_text(s)} | {markdown_text(s.submission)} "
                    f"| {markdown_text(s.version)} | {s.iqm.estimate:+.3f} | {_ci_text(s.iqm)} "
                    f"| {s.n_tasks}/{s.n_suite_tasks} "
                    f"| {board.verified(s.submission, s.version).label} |"
                )
    by_task = _by_task(board)
    for scene, task_ids in scenes_of(board).items():
        lines += ["", f"## {scene}"]
        for task_id in task_ids:
            scores = by_task.get(task_id, [])
            if not scores:
                continue
            lines += _markdown_task_table(task_id, scores)
    old_tasks = by_old_task(board)
    if old_tasks:
        lines += ["", "## Superseded task versions", "", SUPERSEDED_NOTE]
    for (task_id, task_version), scores in old_tasks.items():
        lines += _markdown_task_table(
            f"{task_id}, task version {task_version} (superseded)", scores
        )
    if board.incomplete:
        lines += ["", "## Not scored", "", "| submission | task | why |", "|---|---|---|"]
        lines += [
            f"| {markdown_text(f'{i.submission} {i.version}')} | {markdown_text(i.task_id)} "
            f"| {markdown_text(i.reason)} |"
            for i in board.incomplete
        ]
    if board.skipped:
        lines += ["", "## Skipped files", "", "| file | why |", "|---|---|"]
        lines += [f"| {markdown_text(s.path)} | {markdown_text(s.reason)} |" for s in board.skipped]
    return "\n".join(lines) + "\n"


# --- CSV -----------------------------------------------------------------------------------

CSV_COLUMNS: Final = (
    "submission",
    "version",
    "rank",
    "status",
    "task",
    "scene",
    "protocol",
    "element",
    "metric",
    "estimate",
    "ci_low",
    "ci_high",
)


def render_csv(board: Leaderboard) -> str:
    """Long table: one row per (submission, task, element, metric).

    Task ``suite`` rows hold a protocol's IQM (``protocol`` says which) with the submission's
    rank on that protocol; task ``overall`` rows hold the mean of the per-protocol ranks.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def number(value: float | None) -> str:
        return "" if value is None or not math.isfinite(value) else f"{value:.6g}"

    def numbers(interval: Interval) -> list[str]:
        return [number(v) for v in (interval.estimate, interval.low, interval.high)]

    for o in board.overall:
        status = board.verified(o.submission, o.version).status
        row = [o.submission, o.version, "", status, "overall", "", "", "", "mean_rank"]
        writer.writerow([*row, number(o.mean_rank), "", ""])
    ranks = {(s.submission, s.version, s.protocol): s.rank for s in board.suite}
    for s in board.suite:
        writer.writerow(
            [
                s.submission,
                s.version,
                s.rank or "",
                board.verified(s.submission, s.version).status,
                "suite",
                "",
                s.protocol,
                "",
                "iqm_skill",
                *numbers(s.iqm),
            ]
        )

    def task_rows(head: Sequence[object], t: TaskScore) -> None:
        # one task score's rows: skill, then per element RMSE, bias and (grid) coherence
        writer.writerow([*head, "", "skill", *numbers(t.skill)])
        for element in t.elements:
            writer.writerow([*head, element, "rmse", *numbers(t.rmse[element])])
            writer.writerow([*head, element, "bias", number(t.bias.get(element)), "", ""])
            if t.protocol == "grid":
                value = t.coherence.get(element)
                writer.writerow([*head, element, "coherence", number(value), "", ""])

    for t in sorted(board.tasks, key=lambda t: (t.submission, t.version, t.task_id)):
        head = [t.submission, t.version, ranks.get((t.submission, t.version, t.protocol)) or ""]
        head += [board.verified(t.submission, t.version).status, t.task_id]
        head += [t.scene, t.protocol]
        task_rows(head, t)
    # a superseded task version: task "<id>@<version>", no rank (it counts in no suite)
    for t in sorted(board.superseded, key=lambda t: (t.submission, t.version, t.task_id)):
        head = [t.submission, t.version, "", board.verified(t.submission, t.version).status]
        head += [f"{t.task_id}@{t.task_version}", t.scene, t.protocol]
        task_rows(head, t)
    return buffer.getvalue()


# --- plots ---------------------------------------------------------------------------------

#: Okabe & Ito (2008) colours, told apart with the common colour-vision deficiencies.
OKABE_ITO: Final = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#000000",
)
#: Marker shapes; 7 against 8 colours, so the first 56 submissions each get their own pair
#: and two submissions of one colour still differ in shape.
MARKERS: Final = ("o", "s", "^", "D", "v", "P", "X")
#: The folder of the per-scene plots, inside the board folder.
PLOTS_DIR: Final = "plots"


def plot_styles(board: Leaderboard) -> dict[tuple[str, str], tuple[str, str]]:
    """The (colour, marker) of every submission, the same in every plot of the board."""
    return {
        key: (OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)])
        for i, key in enumerate(submissions_of(board))
    }


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _legend(fig: Any, board: Leaderboard, keys: Sequence[tuple[str, str]]) -> None:
    import matplotlib.lines

    styles = plot_styles(board)
    handles = [
        matplotlib.lines.Line2D(
            [], [], color=styles[k][0], marker=styles[k][1], ls="", label=f"{k[0]}"
        )
        for k in keys
    ]
    if handles:  # an empty board has no submission to name
        fig.legend(
            handles=handles, loc="outside lower center", ncol=min(len(handles), 6), fontsize=8
        )


def _suite_panel(ax: Any, board: Leaderboard, protocol: str) -> None:
    """One protocol's suite IQMs with intervals, best at the top."""
    styles = plot_styles(board)
    rows = board.suite_of(protocol)
    for y, s in enumerate(reversed(rows)):
        _interval_marker(ax, y, s.iqm, styles[(s.submission, s.version)])
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(
        [
            f"{s.rank}. {s.submission}" if s.rank else f"{s.submission} (partial)"
            for s in reversed(rows)
        ],
        fontsize=8,
    )
    ax.set_title(f"{protocol} protocol: IQM of task skills (95 % CI)", fontsize=10)
    ax.axvline(0.0, color="0.6", lw=0.8)


def _scene_panel(ax: Any, board: Leaderboard, scene: str, task_ids: Sequence[str]) -> None:
    """Every task skill of one scene, a row per task, a marker per submission."""
    styles = plot_styles(board)
    submissions = submissions_of(board)
    by_task = _by_task(board)
    height = 0.8 / max(len(submissions), 1.0)
    for row, task_id in enumerate(reversed(task_ids)):
        for t in by_task.get(task_id, []):
            key = (t.submission, t.version)
            offset = height * (submissions.index(key) + 0.5)
            _interval_marker(ax, row - 0.4 + offset, t.skill, styles[key], 3)
    ax.set_yticks(range(len(task_ids)))
    ax.set_yticklabels(["/".join(t.split("/")[1:]) for t in reversed(task_ids)], fontsize=8)
    ax.axvline(0.0, color="0.6", lw=0.8)
    ax.set_title(f"{scene}: task skill vs the protocol's reference", fontsize=10)


def _save(fig: Any, path: str | Path) -> None:
    plt = _pyplot()
    with atomic_path(path) as tmp:
        # no Software entry: the bytes do not change with the matplotlib version
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)


def render_plot(board: Leaderboard, path: str | Path) -> None:
    """A PNG: suite IQM with intervals, then one panel per scene with each task's skill."""
    plt = _pyplot()
    scenes = scenes_of(board)
    protocols = board.protocols
    n_panels = len(protocols) + len(scenes)
    n_cols = 2
    n_rows = -(-n_panels // n_cols)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(13, 3.2 * n_rows), squeeze=False, layout="constrained"
    )
    flat = list(axes.ravel())
    for ax, protocol in zip(flat, protocols, strict=False):
        _suite_panel(ax, board, protocol)
    for ax, (scene, task_ids) in zip(flat[len(protocols) :], scenes.items(), strict=False):
        _scene_panel(ax, board, scene, task_ids)
    for ax in flat[n_panels:]:
        ax.set_visible(False)
    _legend(fig, board, submissions_of(board))
    _save(fig, path)


def scene_plot_name(scene: str) -> str:
    """The file of a scene's plot, relative to the board folder."""
    return f"{PLOTS_DIR}/{safe_name(scene)}.png"


def render_scene_plots(board: Leaderboard, folder: str | Path) -> list[Path]:
    """One PNG per scene (``plots/<scene>.png``): its task skills, with intervals."""
    plt = _pyplot()
    written = []
    by_task = _by_task(board)
    for scene, task_ids in scenes_of(board).items():
        keys = list(
            dict.fromkeys((t.submission, t.version) for i in task_ids for t in by_task.get(i, []))
        )
        fig, ax = plt.subplots(
            figsize=(8, 1.2 + 0.45 * len(task_ids) + 0.25 * (len(keys) // 4 + 1)),
            layout="constrained",
        )
        _scene_panel(ax, board, scene, task_ids)
        ax.set_xlabel("skill (95 % CI)", fontsize=8)
        _legend(fig, board, [k for k in submissions_of(board) if k in keys])
        path = Path(folder) / scene_plot_name(scene)
        path.parent.mkdir(parents=True, exist_ok=True)
        _save(fig, path)
        written.append(path)
    return written


def _interval_marker(
    ax: Any,
    y: float,
    interval: Interval,
    style: tuple[str, str],
    size: float = 5,
) -> None:
    colour, marker = style
    if interval.low is not None and interval.high is not None:
        ax.hlines(y, interval.low, interval.high, color=colour, lw=1.5)
    ax.plot([interval.estimate], [y], marker, color=colour, ms=size, mec="0.2", mew=0.4)
