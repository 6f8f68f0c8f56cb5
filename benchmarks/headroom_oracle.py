"""How much of a grid task's bicubic residual the covariates can explain linearly: an oracle.

For each grid task fold, the residual of the truth against the bicubic reference (analysis
space, every scored fine cell) is fitted by least squares on the fold's covariates
(standardised, with an intercept), **fitted on the truth itself**, and the fitted
correction added to bicubic is scored with the benchmark's own ``score_fold`` against the
bicubic reference. No model can see the truth, so this is not an achievable score: it bounds
what a *linear, per-cell* use of the covariates could add on top of bicubic, and it is
never below 0 (a zero correction is one of the fits). A model can still beat it with
non-linear or spatial use of the covariates, or by improving bicubic itself.

With ``--detail`` the fit also gets each covariate's sub-block detail: the band minus its
own degraded copy (block mean at the task's scale, upsampled by the same bicubic as the
reference). The bicubic residual is sub-block detail of the truth, which a covariate's raw
value mostly does not resemble (its smooth part is what bicubic already has).

Usage::

    python benchmarks/headroom_oracle.py 'lapland-radiometrics/*'

Real scenes are read from ``$GEOCHEM_BENCH_DATA`` (build them with ``geochem-bench
download``); simulated scenes are refused on their test realisations: use the ``/dev`` copy
of a task (``synthetic/all/s16/grid/dev``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from geochem_bench.core.grid import block_mean
from geochem_bench.core.task import Prediction, TaskSpec
from geochem_bench.evaluation.reference import reference_prediction
from geochem_bench.evaluation.scoring import OVERALL, score_fold
from geochem_bench.models.upsampling import fill_empty_cells, upsample
from geochem_bench.scenes.registry import get_task, list_tasks, load_fold_scene
from geochem_bench.tasks.protocols import build_fold


def oracle_fold(
    task: TaskSpec, fold: int, detail: bool = False, **options: Any
) -> dict[str, dict[str, float | None]]:
    """The oracle's metric table of one grid fold (``score_fold``'s rows, skill included).

    Args:
        task: a grid task.
        fold: one of its folds.
        detail: add each covariate's sub-block detail to the features.
        **options: the scene loader's options (``root``, ...).
    """
    if task.protocol != "grid":
        raise ValueError(f"{task.id}: the oracle needs the exhaustive truth of a grid task")
    scene = load_fold_scene(task, fold, **options)
    inputs, held_out = build_fold(scene, task, fold)
    assert held_out.truth is not None
    reference = reference_prediction(inputs)
    valid = inputs.valid
    bands = inputs.covariates.astype(np.float64)
    if detail:
        coarse, _ = block_mean(np.where(valid, bands, np.nan), task.scale)
        smooth = upsample(fill_empty_cells(coarse), task.scale, inputs.grid.shape, "bicubic")
        bands = np.concatenate([bands, bands - smooth])
    features = bands[:, valid].T
    spread = features.std(axis=0)
    keep = spread > 0  # one-hot bands absent from the mask carry nothing
    design = (features[:, keep] - features[:, keep].mean(axis=0)) / spread[keep]
    design = np.column_stack([np.ones(len(design)), design])
    oracle = reference.astype(np.float64).copy()
    for e, element in enumerate(inputs.elements):
        truth = element.to_analysis(held_out.truth[e][valid])
        base = element.to_analysis(reference[e][valid])
        scored = np.isfinite(truth) & np.isfinite(base)
        coef, *_ = np.linalg.lstsq(design[scored], (truth - base)[scored], rcond=None)
        corrected = oracle[e]
        corrected[valid] = element.from_analysis(base + design @ coef)
    prediction = Prediction(mean=np.where(valid, oracle, np.nan).astype(np.float32))
    return score_fold(inputs, held_out, prediction, reference)


def r_squared(task: TaskSpec, fold: int, **options: Any) -> dict[str, tuple[float, float]]:
    """Per element, the R² of a least-squares fit on the covariates of the truth and of its
    bicubic residual (analysis space, scored cells): how much of each they explain linearly."""
    scene = load_fold_scene(task, fold, **options)
    inputs, held_out = build_fold(scene, task, fold)
    assert held_out.truth is not None
    reference = reference_prediction(inputs)
    valid = inputs.valid
    features = inputs.covariates[:, valid].T.astype(np.float64)
    spread = features.std(axis=0)
    design = (features[:, spread > 0] - features[:, spread > 0].mean(axis=0)) / spread[spread > 0]
    design = np.column_stack([np.ones(len(design)), design])
    out = {}
    for e, element in enumerate(inputs.elements):
        truth = element.to_analysis(held_out.truth[e][valid])
        residual = truth - element.to_analysis(reference[e][valid])
        scores = []
        for target in (truth, residual):
            coef, *_ = np.linalg.lstsq(design, target, rcond=None)
            scores.append(float(1 - (target - design @ coef).var() / target.var()))
        out[element.symbol] = (scores[0], scores[1])
    return out


def main(argv: list[str] | None = None) -> int:
    """Print, per task and element, bicubic RMSE, the oracle's RMSE and skill (mean over folds)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="+", help="task ids or patterns (grid tasks)")
    parser.add_argument("--root", help="data root of the real scenes ($GEOCHEM_BENCH_DATA)")
    parser.add_argument("--detail", action="store_true", help="add the covariates' detail")
    parser.add_argument(
        "--r2", action="store_true", help="print the R² of truth and residual on the covariates"
    )
    args = parser.parse_args(argv)
    found: list[TaskSpec] = []
    for pattern in args.tasks:  # list_tasks matches registered ids; "/dev" copies by get_task
        found += [get_task(pattern)] if pattern.endswith("/dev") else list_tasks([pattern])
    tasks = [t for t in found if t.protocol == "grid"]
    simulated = [t.id for t in tasks if t.realisations and not t.dev]
    if simulated:
        print(
            f"refusing test realisations of {simulated}: score the /dev copies instead",
            file=sys.stderr,
        )
        return 2
    options = {"root": args.root} if args.root else {}
    if args.r2:
        print("task fold element r2_truth r2_residual")
        for task in tasks:
            for fold in task.folds:
                for symbol, (truth, residual) in r_squared(task, fold, **options).items():
                    print(f"{task.id} {fold} {symbol} {truth:.3f} {residual:.3f}")
        return 0
    print("task element rmse_bicubic rmse_oracle oracle_skill")
    for task in tasks:
        tables = [oracle_fold(task, fold, args.detail, **options) for fold in task.folds]
        for row in (*task.elements, OVERALL):
            rows = [t[row] for t in tables]
            skill = np.mean([r["skill"] for r in rows])
            if row == OVERALL:
                print(f"{task.id} {row} - - {skill:+.4f}")
                continue
            rmse = np.mean([r["rmse"] for r in rows])
            reference = np.mean([r["rmse_reference"] for r in rows])
            print(f"{task.id} {row} {reference:.4f} {rmse:.4f} {skill:+.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
