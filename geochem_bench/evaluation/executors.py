"""The one executor seam: how the folds of a suite are run, picked by name.

An executor is a function ``(submission, tasks, options) -> records`` that runs every fold
with :func:`geochem_bench.evaluation.harness.run_fold` semantics and returns one record per
fold in task and fold order. Executors are looked up by the name in
:attr:`RunOptions.executor <geochem_bench.evaluation.harness.RunOptions>` and imported only
when used, so the harness never imports an executor and optional ones (Ray) cost nothing
until chosen.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import replace
from typing import Final

from geochem_bench.core.task import TaskSpec
from geochem_bench.errors import UnknownNameError
from geochem_bench.evaluation.harness import RunOptions
from geochem_bench.evaluation.records import ResultRecord
from geochem_bench.evaluation.submission import Submission, SubmissionCard, write_card

ExecutorFn = Callable[[Submission, list[TaskSpec], RunOptions], list[ResultRecord]]

#: Executor name -> ``module:function``.
EXECUTORS: Final[dict[str, str]] = {
    "local": "geochem_bench.evaluation.harness:run_local",
    "ray": "geochem_bench.evaluation.ray_executor:evaluate_on_ray",
}


def get_executor(name: str) -> ExecutorFn:
    """The executor registered under ``name``.

    Raises:
        UnknownNameError: no executor has that name.
    """
    if name not in EXECUTORS:
        raise UnknownNameError(f"unknown executor {name!r}; choose one of {sorted(EXECUTORS)}")
    module, function = EXECUTORS[name].split(":")
    executor: ExecutorFn = getattr(importlib.import_module(module), function)
    return executor


def evaluate(
    submission: Submission, tasks: list[TaskSpec], options: RunOptions
) -> list[ResultRecord]:
    """Run a Python submission on every fold of ``tasks`` with the executor ``options`` names.

    The suite runs once per seed: ``options.seeds``; else, for a stochastic submission (see
    :attr:`~geochem_bench.evaluation.submission.Submission.stochastic`), its default seeds
    0, 1, 2; else ``options.seed``.

    Returns:
        One record per task fold and seed, in seed, task and fold order (resumed ones
        included). The submission's card (``submission.json``) is written next to them.
    """
    executor = get_executor(options.executor)
    write_card(SubmissionCard.from_submission(submission), options.out_dir)
    seeds = options.seeds or (
        submission.default_seeds() if submission.stochastic else (options.seed,)
    )
    records: list[ResultRecord] = []
    for seed in seeds:
        records += executor(submission, tasks, replace(options, seed=seed, seeds=None))
    return records
