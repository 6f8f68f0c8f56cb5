"""Choose the settings of ATPK and ATPRK on *dev* realisations of the synthetic scene.

Scores ``AreaToPointKriging``, ``AreaToPointRegressionKriging``, the random forest's
ATPK-residual path and kriging with external drift at block support with each candidate
setting, next to bicubic (the reference) and back-projection, on the synthetic grid tasks
built on dev realisations (100-109), with the benchmark's own fold building, reference and
scoring; prints the mean skill, log bias and natural-unit coherence over elements and
realisations. Test realisations are refused.

Usage::

    python benchmarks/atpk_dev.py --realisations 100 101 102
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

ATPRK_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"sigma": 0.0},
    {"sigma": 1.0},
    {"sigma": 2.0},
    {"sigma": 4.0},
)
FOREST_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"sigma": 0.0},
    {"sigma": 2.0},
    {"sigma": 2.0, "use_coordinates": True},
    {"sigma": 2.0, "min_samples_leaf": 5},
)
#: Kriging with external drift at block support (the grid path of kriging-external-drift):
#: radius and sigma as ATPRK's, the drift's components around the point baseline's 2.
DRIFT_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"components": 1},
    {"components": 2},
    {"components": 3},
    {"components": 2, "back_projection": 10},
)
CANDIDATES: tuple[dict[str, Any], ...] = (
    {"radius": 1},
    {"radius": 2},
    {"radius": 3},
    {"radius": 2, "back_projection": 3},
    {"radius": 3, "back_projection": 3},
    {"radius": 2, "back_projection": 10},
    {"radius": 2, "fit_nugget": True, "back_projection": 3},
)


def dev_scores(task_id: str, realisation: int, model: Any) -> dict[str, float]:
    """Skill, mean |log bias| and mean coherence of ``model`` on one dev realisation's fold."""
    from dev_folds import synthetic_dev_fold

    from geochem_bench.evaluation.reference import reference_prediction
    from geochem_bench.evaluation.scoring import OVERALL, score_fold, validate_prediction

    inputs, held_out = synthetic_dev_fold(task_id, realisation)
    model.fit(inputs)
    prediction = validate_prediction(model.predict(inputs), inputs)
    table = score_fold(inputs, held_out, prediction, reference_prediction(inputs))
    rows = [table[e.symbol] for e in inputs.elements]
    return {
        "skill": float(table[OVERALL]["skill"]),  # type: ignore[arg-type]
        "abs_bias": statistics.fmean(abs(r["bias"]) for r in rows),  # type: ignore[arg-type]
        "coherence": statistics.fmean(r["coherence"] for r in rows),  # type: ignore[misc]
    }


def main(argv: list[str] | None = None) -> None:
    """Print one line per task and setting."""
    from geochem_bench.models.area_to_point import AreaToPointKriging
    from geochem_bench.models.area_to_point_regression import (
        AreaToPointExternalDrift,
        AreaToPointRegressionKriging,
        ForestAreaToPointKriging,
    )
    from geochem_bench.models.covariate_models import RandomForestFusion
    from geochem_bench.models.upsampling import BackProjectionUpsampling, BicubicUpsampling

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realisations", type=int, nargs="+", default=[100, 101, 102])
    parser.add_argument("--scales", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument(
        "--only", choices=["atpk", "atprk", "forest", "ked"], help="one model's candidates"
    )
    parser.add_argument(
        "--pick",
        nargs="+",
        type=int,
        help="with --only: run only these candidates (0-based indices in its list)",
    )
    args = parser.parse_args(argv)
    from geochem_bench.scenes.registry import dev_task, get_task

    dev = dev_task(get_task("synthetic/all/s4/grid")).realisations
    if not set(args.realisations) <= set(dev):
        parser.error(f"tune on dev realisations only ({min(dev)}-{max(dev)})")
    models: list[tuple[str, Any]] = [
        ("bicubic", BicubicUpsampling),
        ("back-projection", BackProjectionUpsampling),
    ]
    if args.only in (None, "atpk"):
        models += [(f"atpk {c}", lambda c=c: AreaToPointKriging(**c)) for c in CANDIDATES]
    if args.only in (None, "atprk"):
        models += [
            (f"atprk {c}", lambda c=c: AreaToPointRegressionKriging(**c)) for c in ATPRK_CANDIDATES
        ]
    if args.only in (None, "forest"):
        # the random-forest baseline before its ATPK residual step, then the candidates with it
        models += [("random-forest (block support, no residual)", RandomForestFusion)]
        models += [
            (f"forest+atpk {c}", lambda c=c: ForestAreaToPointKriging(**c))
            for c in FOREST_CANDIDATES
        ]
    if args.only in (None, "ked"):
        models += [
            (f"ked {c}", lambda c=c: AreaToPointExternalDrift(**c)) for c in DRIFT_CANDIDATES
        ]
    if args.pick is not None:
        if args.only is None:
            parser.error("--pick needs --only")
        models = models[:2] + [models[2 + i] for i in args.pick]
    print("task model skill abs_log_bias coherence seconds")
    for scale in args.scales:
        task_id = f"synthetic/all/s{scale}/grid"
        for name, make in models:
            start = time.perf_counter()
            runs = [dev_scores(task_id, r, make()) for r in args.realisations]
            mean = {k: statistics.fmean(r[k] for r in runs) for k in runs[0]}
            seconds = (time.perf_counter() - start) / len(runs)
            print(
                f"{task_id} {name!r} {mean['skill']:+.4f} {mean['abs_bias']:.4f} "
                f"{mean['coherence']:.4f} {seconds:.1f}"
            )


if __name__ == "__main__":
    main()
