"""The one factory of result records, and the provenance it fills in.

Every path that produces a :class:`~geochem_bench.evaluation.records.ResultRecord` calls
:func:`make_record`: the local and Ray executors, the scoring of precomputed predictions and
tiled evaluation. Provenance (package and benchmark versions, hardware, timestamp, dataset
sha256, seed, runtime, peak memory) is therefore filled in one place, and records from the
different paths cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from geochem_bench import BENCHMARK_VERSION, __version__
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskSpec
from geochem_bench.evaluation.provenance import hardware, utc_now
from geochem_bench.evaluation.records import (
    DatasetInfo,
    ErrorBlocks,
    Failure,
    Isolation,
    ResultRecord,
    Runtime,
    SubmissionInfo,
    TaskInfo,
)
from geochem_bench.evaluation.scoring import MetricTable
from geochem_bench.evaluation.submission import Submission


def submission_info(submission: Submission, seed: int | None = None) -> SubmissionInfo:
    """How a record names the submission that produced it.

    Args:
        submission: the submission.
        seed: the run's seed; with it, the record carries the submission's fingerprint
            (:meth:`~geochem_bench.evaluation.submission.Submission.fingerprint`).
    """
    return SubmissionInfo(
        name=submission.name,
        version=submission.version,
        revision=submission.revision,
        model=submission.model,
        fingerprint=None if seed is None else submission.fingerprint(seed),
        stochastic=submission.stochastic,
        # what the fingerprint hashes, beside it (and absent with it: nothing to check against)
        params=None if seed is None else dict(submission.params),
        code_digest=None if seed is None else submission.code_digest(),
    )


def dataset_info(scene: Scene) -> DatasetInfo:
    """The data of an in-memory scene: name, version, build options and sha256 of its arrays."""
    return DatasetInfo(
        scene=scene.name,
        version=scene.version,
        sha256=scene.fingerprint(),
        options=dict(scene.options),
    )


def built_dataset_info(folder: str | Path) -> DatasetInfo:
    """The data of a scene built on disk (``scene.json``; sha256 from ``manifest.json``).

    A build without a manifest records no sha256.
    """
    folder = Path(folder)
    meta = json.loads((folder / "scene.json").read_text())
    manifest = folder / "manifest.json"
    sha = json.loads(manifest.read_text()) if manifest.is_file() else {}
    return DatasetInfo(
        scene=meta["name"], version=str(meta["version"]), sha256=sha, options=meta["options"]
    )


def make_record(
    submission: SubmissionInfo,
    task: TaskSpec,
    fold: int,
    dataset: Scene | DatasetInfo,
    *,
    seed: int,
    metrics: MetricTable | None = None,
    errors: dict[str, ErrorBlocks] | None = None,
    failure: Failure | None = None,
    runtime: Runtime | None = None,
    peak_memory_mb: float | None = None,
    gpu: str | None = None,
    isolation: Isolation | None = None,
    scored_at: Literal["cells", "sites"] = "cells",
) -> ResultRecord:
    """The record of one task fold, scored (no ``failure``) or failed.

    Args:
        submission: who produced the prediction.
        task: the task.
        fold: the evaluation fold index; the record names its realisation (``task.unit``).
        dataset: the scene in memory, or the :class:`DatasetInfo` of a built scene
            (:func:`built_dataset_info`).
        seed: the seed the model was given.
        metrics: the metric table (scored folds).
        errors: per-element bootstrap error blocks (scored folds).
        failure: why the fold has no score; the record's status is "failed" when given.
        runtime: seconds spent in the model.
        peak_memory_mb: peak memory of the process that ran the model.
        gpu: the GPU the model ran on, as the process that ran it saw it
            (:func:`~geochem_bench.evaluation.provenance.gpu_name`);
            it overrides the GPU of :func:`~geochem_bench.evaluation.provenance.hardware`,
            which is cached from before the model loaded torch, or from another process.
        isolation: how the model process was confined.
        scored_at: where a points or transfer fold was scored: the cells of the map, or the
            sites through the model's ``predict_points``.
    """
    host = hardware()
    if gpu:
        host = host.model_copy(update={"gpu": gpu})
    realisation, _ = task.unit(fold)
    return ResultRecord(
        status="ok" if failure is None else "failed",
        submission=submission,
        package_version=__version__,
        benchmark_version=BENCHMARK_VERSION,
        task=TaskInfo(**task.to_dict()),
        fold=fold,
        realisation=realisation,
        dataset=dataset_info(dataset) if isinstance(dataset, Scene) else dataset,
        metrics=metrics,
        errors=errors,
        failure=failure,
        runtime=runtime,
        peak_memory_mb=peak_memory_mb,
        hardware=host,
        seed=seed,
        timestamp=utc_now(),
        isolation=isolation,
        scored_at=scored_at,
    )


def failed_record(
    submission: SubmissionInfo,
    task: TaskSpec,
    fold: int,
    dataset: Scene | DatasetInfo,
    failure: Failure,
    seed: int,
) -> ResultRecord:
    """The record of a fold that produced no prediction at all (e.g. its worker died)."""
    return make_record(submission, task, fold, dataset, seed=seed, failure=failure)
