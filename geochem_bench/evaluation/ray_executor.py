"""Running a suite on Ray: every task fold is a Ray task, on a local or an existing cluster.

Each Ray task runs :func:`geochem_bench.evaluation.harness.run_fold`, the same unit of work as
the local executor (so a fold's model still runs in its own child process with the timeout, and
a model crash is a failed record). The driver alone writes records, atomically and at the same
paths, so the two executors produce the same files; only the provenance fields (timestamp,
runtimes, memory, hardware) differ. A Ray worker that dies mid-task (killed, out of memory)
becomes a failed record of kind ``crash`` for that fold and the other folds go on; Ray does not
retry it, so a rerun with ``--retry-failed`` decides. Resuming skips folds with a reusable
record before anything is sent to the cluster.
"""

from __future__ import annotations

from typing import Any

from geochem_bench.core.task import TaskSpec
from geochem_bench.evaluation.harness import (
    RunOptions,
    choose_canary,
    fold_scene,
    reusable_record,
    run_fold,
)
from geochem_bench.evaluation.record_factory import failed_record, submission_info
from geochem_bench.evaluation.records import Failure, ResultRecord, result_path, write_result
from geochem_bench.evaluation.run_manifest import RunManifest
from geochem_bench.evaluation.submission import Submission


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ImportError(
            "the Ray executor needs Ray: pip install 'geochem-bench[ray]' (or pip install ray)"
        ) from exc
    return ray


def evaluate_on_ray(
    submission: Submission, tasks: list[TaskSpec], options: RunOptions
) -> list[ResultRecord]:
    """Run every fold of ``tasks`` as Ray tasks; returns records in task and fold order.

    Connects to ``options.ray_address`` when given, else starts a local Ray instance (which
    is shut down again at the end).
    """
    ray = _ray()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=options.ray_address,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    try:
        return _run(ray, submission, tasks, options)
    finally:
        if started_here:
            ray.shutdown()


def _run(
    ray: Any, submission: Submission, tasks: list[TaskSpec], options: RunOptions
) -> list[ResultRecord]:
    info = submission_info(submission, options.seed)
    manifest = RunManifest(options.out_dir, info.name, info.version)
    remote_fold = ray.remote(max_retries=0)(_remote_fold)
    order = [(task, fold) for task in tasks for fold in task.folds]
    previous = {(t.id, k): reusable_record(t, k, info, options) for t, k in order}
    # one canary fold per task, drawn here: a remote fold cannot know the others'
    canaries: dict[str, int] = {}
    for task in tasks if options.canary else []:
        canary = choose_canary(task, (previous[(task.id, k)] for k in task.folds))
        if canary is not None:
            canaries[task.id] = canary
            previous[(task.id, canary)] = None
    done: dict[tuple[str, int], ResultRecord] = {}
    pending: dict[Any, tuple[TaskSpec, int]] = {}
    for task, fold in order:
        kept = previous[(task.id, fold)]
        if kept is not None:
            done[(task.id, fold)] = kept
        else:
            canary = canaries.get(task.id) == fold
            pending[remote_fold.remote(submission, task, fold, options, canary)] = (task, fold)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        ref = ready[0]
        task, fold = pending.pop(ref)
        try:
            record = ResultRecord.model_validate_json(ray.get(ref))
        except Exception as exc:  # the worker died or Ray failed: this fold only
            record = _crash_record(submission, task, fold, options, exc)
        path = result_path(options.out_dir, info.name, info.version, task.id, fold, options.seed)
        write_result(record, path)
        manifest.add(path)
        done[(task.id, fold)] = record
    return [done[(task.id, fold)] for task, fold in order]


def _remote_fold(
    submission: Submission, task: TaskSpec, fold: int, options: RunOptions, canary: bool
) -> str:
    return run_fold(submission, task, fold, options, canary=canary).model_dump_json()


def _crash_record(
    submission: Submission, task: TaskSpec, fold: int, options: RunOptions, exc: BaseException
) -> ResultRecord:
    scene = fold_scene(task, fold, options)
    lines = str(exc).strip().splitlines()
    failure = Failure(
        kind="crash", message=f"Ray task failed: {type(exc).__name__}: {lines[0] if lines else ''}"
    )
    return failed_record(
        submission_info(submission, options.seed), task, fold, scene, failure, options.seed
    )
