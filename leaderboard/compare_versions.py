"""Task skills of benchmark v1 vs v2, side by side, and where the top two changed places.

Reads the official records of both versions (``leaderboard/v1/results`` with the v1 pins,
``leaderboard/results`` with the current ones) through the board's own loading and
aggregation, and prints, per task, each named submission's v1 and v2 skill and the top two
submissions of each version. Used for the closing note of the v2 change; rerun it after
regenerating either set.

Usage::

    python leaderboard/compare_versions.py [--submissions bicubic ordinary-kriging ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = ("bicubic", "ordinary-kriging", "random-forest", "fusion-cnn")


def main() -> None:
    """Print the comparison as a Markdown table."""
    from geochem_bench.board.leaderboard import load_leaderboard

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", nargs="+", default=list(DEFAULT))
    parser.add_argument("--bootstrap", type=int, default=500)
    args = parser.parse_args()
    v1 = load_leaderboard(HERE / "v1" / "results", n_boot=args.bootstrap, benchmark_version="1.0")
    v2 = load_leaderboard(HERE / "results", n_boot=args.bootstrap)
    tasks = list(v2.suite_task_ids)
    header = ["task"] + [f"{s} v1 -> v2" for s in args.submissions] + ["top 2 v1", "top 2 v2"]
    print("| " + " | ".join(header) + " |")
    print("|---" * len(header) + "|")
    changed = 0
    for task_id in tasks:
        cells = [task_id]
        tops = []
        # only submissions scored on the task in both versions, so a missing run is no change
        both = {t.submission for t in v1.tasks if t.task_id == task_id} & {
            t.submission for t in v2.tasks if t.task_id == task_id
        }
        for board in (v1, v2):
            scores = sorted(
                (t for t in board.tasks if t.task_id == task_id and t.submission in both),
                key=lambda t: -t.skill.estimate,
            )
            tops.append([t.submission for t in scores[:2]])
        for name in args.submissions:
            values = []
            for board in (v1, v2):
                found = [t for t in board.tasks if t.task_id == task_id and t.submission == name]
                values.append(f"{found[0].skill.estimate:+.3f}" if found else "-")
            cells.append(" -> ".join(values))
        cells += [", ".join(tops[0]), ", ".join(tops[1])]
        changed += tops[0] != tops[1]
        print("| " + " | ".join(cells) + " |")
    print(
        f"\ntasks whose top-2 order changed (among submissions scored in both): {changed} of "
        f"{len(tasks)}"
    )
    for board, label in ((v1, "v1"), (v2, "v2")):
        for protocol in board.protocols:
            rows = ", ".join(
                f"{s.submission} {s.iqm.format()}" for s in board.suite_of(protocol)[:5]
            )
            print(f"{label} {protocol}: {rows}")


if __name__ == "__main__":
    main()
