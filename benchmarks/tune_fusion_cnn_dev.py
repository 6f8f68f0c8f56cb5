"""Choose the reference CNN's hyperparameters on *dev* realisations of the synthetic scene.

Benchmark v2's rule: official hyperparameters are chosen only on dev realisations (seeds
100-109 of the generator) and on public non-suite data, never on official task scores. This
script scores each candidate configuration of ``FusionCNN`` on the synthetic tasks built on
dev realisations, for several training seeds, with the benchmark's own fold building,
reference and scoring, and prints the mean skill (and its spread over realisations x seeds)
per configuration. The choice it supports is written into the baseline's card.

Usage::

    python benchmarks/tune_fusion_cnn_dev.py --realisations 100 101 --seeds 0 1

Runs in-process (no sandbox: this is the maintainers' own model on public generated data).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from typing import Any

#: Candidate configurations: what v1 chose by looking at suite tasks, and its neighbours.
GRID_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"consistency_weight": 0.0, "steps": 300},
    {"consistency_weight": 5.0, "steps": 300},
    {"consistency_weight": 20.0, "steps": 300},
    {"consistency_weight": 20.0, "steps": 150},
)
POINT_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"consistency_weight": 0.0, "point_weight": 1.0},
    {"consistency_weight": 20.0, "point_weight": 1.0},
    {"consistency_weight": 0.0, "point_weight": 3.0},
    # 0.3.0: back-projection onto block means of 1-4 samples, at the official step budget
    {"point_weight": 3.0, "steps": 150, "finetune_steps": 75, "back_projection": True},
    {"point_weight": 3.0, "steps": 150, "finetune_steps": 75, "back_projection": False},
)


def dev_skill(task_id: str, realisation: int, seed: int, params: dict[str, Any]) -> float:
    """Mean fold skill of FusionCNN(**params) on one task of one dev realisation."""
    from geochem_bench.errors import InvalidInputError
    from geochem_bench.evaluation.reference import reference_prediction
    from geochem_bench.evaluation.scoring import score_fold, validate_prediction
    from geochem_bench.models.fusion_cnn import FusionCNN
    from geochem_bench.scenes.registry import dev_task, get_task
    from geochem_bench.scenes.synthetic import SyntheticConfig, generate_synthetic
    from geochem_bench.tasks.protocols import build_fold, task_split

    dev = dev_task(get_task(task_id))
    if realisation not in dev.realisations:  # the guard lives here, not only in the CLI
        raise InvalidInputError(
            f"realisation {realisation} is not a dev realisation of {task_id} "
            f"({min(dev.realisations)}-{max(dev.realisations)}): tune on dev realisations only"
        )
    scene = generate_synthetic(SyntheticConfig(seed=realisation))
    # the official task's dev copy, on this one dev realisation: its folds are the spatial folds
    task = dev.on_realisations((realisation,), dev=True)
    split = None if task.protocol == "grid" else task_split(scene, task)
    skills = []
    for fold in task.folds:
        inputs, held_out = build_fold(scene, task, fold, seed=seed, split=split)
        model = FusionCNN(**params)
        model.fit(inputs)
        prediction = validate_prediction(model.predict(inputs), inputs)
        table = score_fold(inputs, held_out, prediction, reference_prediction(inputs))
        skills.append(float(table["overall"]["skill"]))  # type: ignore[arg-type]
    return statistics.fmean(skills)


def main() -> None:
    """Print the dev skill of every candidate configuration."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realisations", type=int, nargs="+", default=[100, 101])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--grid-task", default="synthetic/all/s8/grid")
    parser.add_argument("--points-task", default="synthetic/cu/s16/points")
    args = parser.parse_args()
    if any(r < 100 for r in args.realisations):
        parser.error("tune on dev realisations (>= 100) only; 0-99 hold the official test set")
    for task_id, candidates in (
        (args.grid_task, GRID_CANDIDATES),
        (args.points_task, POINT_CANDIDATES),
    ):
        print(f"## {task_id} (dev realisations {args.realisations}, seeds {args.seeds})")
        for params in candidates:
            start = time.perf_counter()
            values = [
                dev_skill(task_id, r, s, params)
                for r, s in itertools.product(args.realisations, args.seeds)
            ]
            print(
                f"{params}: mean skill {statistics.fmean(values):+.4f} "
                f"(min {min(values):+.4f}, max {max(values):+.4f}, n={len(values)}, "
                f"{time.perf_counter() - start:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
