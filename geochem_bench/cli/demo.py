"""``geochem-bench demo``: the first baselines on the synthetic tasks, end to end.

Runs every baseline submission through the same harness a user's model goes through, prints
the results table, and writes the result records, the table and a figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geochem_bench import resources
from geochem_bench.evaluation.executors import evaluate
from geochem_bench.evaluation.harness import RunOptions
from geochem_bench.evaluation.records import ResultRecord, result_path
from geochem_bench.evaluation.submission import Submission, load_submission

#: The baselines of the foundation, run from their packaged folders.
FIRST_BASELINES: tuple[str, ...] = ("nearest", "bilinear", "bicubic", "idw")


def first_baselines() -> list[Submission]:
    """The foundation baselines, loaded from the package like any baseline by name."""
    return [load_submission(resources.baseline_dir(name)) for name in FIRST_BASELINES]


def run_demo(
    out_dir: str | Path, *, size: int | None = None, progress: bool = True
) -> tuple[list[ResultRecord], Path, str]:
    """Run the demo.

    Args:
        out_dir: folder for ``results/``, ``results.txt`` and ``demo.png``.
        size: synthetic scene edge in cells (default: the canonical 256).
        progress: show progress bars.

    Returns:
        ``(records, figure path, rendered table)``.
    """
    from geochem_bench.board.summary import render_table
    from geochem_bench.scenes.registry import get_task, list_tasks, load_fold_scene
    from geochem_bench.tasks.plotting import plot_fold
    from geochem_bench.tasks.protocols import build_fold

    out_dir = Path(out_dir)
    results_dir = out_dir / "results"
    scene_options = {"synthetic": {"size": size}} if size else {}
    options = RunOptions(
        out_dir=results_dir, progress=progress, save_predictions=True, scene_options=scene_options
    )
    tasks = list_tasks(["synthetic/*"])
    records: list[ResultRecord] = []
    submissions = first_baselines()
    for submission in submissions:
        records.extend(evaluate(submission, tasks, options))
    table = render_table(
        records, title="geochem-bench demo: first baselines on the synthetic scene"
    )
    (out_dir / "results.txt").write_text(table)

    task = get_task("synthetic/all/s8/grid")
    scene = load_fold_scene(task, 0, **scene_options.get("synthetic", {}))
    inputs, held_out = build_fold(scene, task, 0)
    predictions = {}
    for submission in submissions:
        tif = result_path(results_dir, submission.name, submission.version, task.id, 0).with_suffix(
            ".tif"
        )
        if tif.is_file():
            from geochem_bench.data.geotiff import read_prediction

            predictions[submission.name] = read_prediction(tif, inputs.grid, inputs.elements).mean
    figure = out_dir / "demo.png"
    plot_fold(
        inputs,
        held_out,
        {k: np.asarray(v) for k, v in predictions.items()},
        element="Cu",
        path=figure,
    )
    return records, figure, table
