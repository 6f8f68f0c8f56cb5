"""One fold of a synthetic grid task built on a *dev* realisation, for the tuning scripts.

The one place the dev scripts (``atpk_dev.py``, ``tune_fusion_cnn_dev.py``) build their folds:
it refuses test realisations, so a setting can only ever be chosen on dev data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def synthetic_dev_fold(task_id: str, realisation: int, seed: int = 0) -> tuple[Any, Any]:
    """Inputs and held-out values of fold 0 of ``task_id`` on dev realisation ``realisation``."""
    return next(synthetic_dev_folds(task_id, realisation, seed))


def synthetic_dev_folds(task_id: str, realisation: int, seed: int = 0) -> Iterator[tuple[Any, Any]]:
    """Inputs and held-out values of every spatial fold of ``task_id`` on one dev realisation.

    Raises:
        InvalidInputError: ``realisation`` is not one of the task's dev realisations.
    """
    from geochem_bench.errors import InvalidInputError
    from geochem_bench.scenes.registry import dev_task, get_task
    from geochem_bench.scenes.synthetic import SyntheticConfig, generate_synthetic
    from geochem_bench.tasks.protocols import build_fold, task_split

    dev = dev_task(get_task(task_id))
    if realisation not in dev.realisations:
        raise InvalidInputError(
            f"realisation {realisation} is not a dev realisation of {task_id}: "
            "tune on dev realisations only"
        )
    scene = generate_synthetic(SyntheticConfig(seed=realisation))
    # the official task's dev copy on this one realisation: its folds are the spatial folds
    task = dev.on_realisations((realisation,), dev=True)
    split = None if task.protocol == "grid" else task_split(scene, task)
    for fold in task.folds:
        yield build_fold(scene, task, fold, seed=seed, split=split)
