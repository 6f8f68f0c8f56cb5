"""The evaluation harness: run a submission over tasks x folds and record scored results.

Each task fold runs the model in its own child process (``isolation="process"``), so a crash,
a hang past the timeout, or an invalid prediction becomes a *failed* record with the reason,
and the run goes on. Records are written atomically as they finish; rerunning skips folds
that already have a record for the same benchmark, task version and data, so an interrupted
run resumes where it stopped.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from geochem_bench import BENCHMARK_VERSION
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import HeldOut, Prediction, TaskInputs, TaskSpec
from geochem_bench.data.geotiff import read_prediction, write_prediction
from geochem_bench.errors import InvalidPrediction
from geochem_bench.evaluation.provenance import gpu_name, peak_rss_mb
from geochem_bench.evaluation.record_factory import make_record, submission_info
from geochem_bench.evaluation.records import (
    Failure,
    FailureKind,
    ResultRecord,
    Runtime,
    SubmissionInfo,
    read_result,
    result_path,
    write_result,
)
from geochem_bench.evaluation.scoring import (
    error_blocks,
    score_fold,
    validate_prediction,
)
from geochem_bench.evaluation.submission import Submission, SubmissionCard, card_path, write_card
from geochem_bench.models.upsampling import upsample_lowres
from geochem_bench.scenes.registry import load_scene
from geochem_bench.tasks.protocols import build_fold, task_split

Isolation = Literal["process", "inline"]
Executor = Literal["local", "ray"]


@dataclass
class RunOptions:
    """How a suite is run.

    Attributes:
        out_dir: results folder (records go to ``<out>/<submission>/<version>/<task>/``).
        seed: seed handed to the model and set in numpy, random and torch before it runs.
        timeout_s: wall-clock limit of one fold (fit + predict), process isolation only.
        isolation: ``"process"`` (a child process per fold; crash- and timeout-safe) or
            ``"inline"`` (same process; for debugging, no timeout).
        resume: skip folds that already have a matching record.
        retry_failed: with ``resume``, run failed folds again.
        save_predictions: also write each prediction as GeoTIFF next to its record.
        progress: show a progress bar on stderr.
        scene_options: options for the scene loaders (e.g. ``{"size": 512}`` for synthetic).
        executor: ``"local"`` (folds one after another on this machine) or ``"ray"`` (folds as
            Ray tasks on a local or existing cluster; ``pip install geochem-bench[ray]``).
        ray_address: address of an existing Ray cluster (default: start a local one).
    """

    out_dir: Path
    seed: int = 0
    timeout_s: float = 1800.0
    isolation: Isolation = "process"
    resume: bool = True
    retry_failed: bool = False
    save_predictions: bool = False
    progress: bool = True
    scene_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    executor: Executor = "local"
    ray_address: str | None = None


@dataclass
class _Outcome:
    prediction: Prediction | None = None
    failure: Failure | None = None
    runtime: Runtime | None = None
    peak_memory_mb: float | None = None
    gpu: str | None = None


Producer = Callable[[TaskSpec, int, TaskInputs], _Outcome]


def run_local(
    submission: Submission, tasks: list[TaskSpec], options: RunOptions
) -> list[ResultRecord]:
    """The local executor: every fold of ``tasks``, one after another on this machine.

    Returns:
        One record per task fold, in task and fold order (resumed ones included).
    """
    return _run_suite(submission_info(submission), tasks, options, _model(submission, options))


def _model(submission: Submission, options: RunOptions) -> Producer:
    """Run the submission's model on a fold, in a child process or inline per ``isolation``."""

    def produce(task: TaskSpec, fold: int, inputs: TaskInputs) -> _Outcome:
        if options.isolation == "inline":
            return _run_inline(submission, inputs, options.seed)
        return _run_in_child(submission, inputs, options)

    return produce


def reusable_record(
    task: TaskSpec, fold: int, info: SubmissionInfo, options: RunOptions
) -> ResultRecord | None:
    """The existing record of a fold if resuming may keep it (same benchmark, task, data)."""
    scene = load_scene(task.scene, **options.scene_options.get(task.scene, {}))
    path = result_path(options.out_dir, info.name, info.version, task.id, fold)
    return _reusable(path, task, scene, options)


def run_fold(
    submission: Submission, task: TaskSpec, fold: int, options: RunOptions
) -> ResultRecord:
    """Run and score one task fold in this process (the model itself per ``isolation``).

    The unit of work of every executor: the local one loops over it, the Ray executor runs it
    as a remote task. Writes nothing; the caller writes the record.
    """
    scene = load_scene(task.scene, **options.scene_options.get(task.scene, {}))
    split = task_split(scene, task) if task.protocol != "grid" else None
    produce = _model(submission, options)
    return _fold_record(submission_info(submission), task, fold, scene, split, options, produce)


def score_predictions(
    pred_dir: str | Path,
    tasks: list[TaskSpec],
    options: RunOptions,
    *,
    name: str,
    version: str = "0",
) -> list[ResultRecord]:
    """Score a folder of precomputed predictions, ``<pred_dir>/<task id>/fold-<k>.tif``.

    For models that are not in Python. A missing or malformed file is a failed record.
    """
    pred_dir = Path(pred_dir)
    info = SubmissionInfo(name=name, version=version, source="predictions")
    if not card_path(options.out_dir, name, version).is_file():
        # a card the submitter completed by hand (authors, licence, ...) is kept
        write_card(SubmissionCard(name=name, version=version), options.out_dir)

    def produce(task: TaskSpec, fold: int, inputs: TaskInputs) -> _Outcome:
        path = pred_dir / task.id / f"fold-{fold}.tif"
        if not path.is_file():
            return _Outcome(
                failure=Failure(kind="missing_prediction", message=f"no prediction file {path}")
            )
        try:
            return _Outcome(prediction=read_prediction(path, inputs.grid, inputs.elements))
        except InvalidPrediction as exc:
            return _Outcome(failure=Failure(kind="invalid_prediction", message=str(exc)))

    return _run_suite(info, tasks, options, produce)


def _run_suite(
    info: SubmissionInfo, tasks: list[TaskSpec], options: RunOptions, produce: Producer
) -> list[ResultRecord]:
    records: list[ResultRecord] = []
    total = sum(t.n_folds for t in tasks)
    with _progress(options.progress, total) as advance:
        for task in tasks:
            scene = load_scene(task.scene, **options.scene_options.get(task.scene, {}))
            split = task_split(scene, task) if task.protocol != "grid" else None
            for fold in task.folds:
                advance(f"{info.name} {task.id} fold {fold}")
                path = result_path(options.out_dir, info.name, info.version, task.id, fold)
                previous = _reusable(path, task, scene, options)
                if previous is not None:
                    records.append(previous)
                    continue
                record = _fold_record(info, task, fold, scene, split, options, produce)
                write_result(record, path)
                records.append(record)
    return records


def _fold_record(
    info: SubmissionInfo,
    task: TaskSpec,
    fold: int,
    scene: Scene,
    split: Any,
    options: RunOptions,
    produce: Producer,
) -> ResultRecord:
    inputs, held_out = build_fold(scene, task, fold, seed=options.seed, split=split)
    outcome = produce(task, fold, inputs)
    record = _record(info, task, fold, scene, inputs, held_out, outcome, options)
    if options.save_predictions and outcome.prediction is not None:
        path = result_path(options.out_dir, info.name, info.version, task.id, fold)
        write_prediction(path.with_suffix(".tif"), outcome.prediction, inputs.grid, inputs.elements)
    return record


def _reusable(path: Path, task: TaskSpec, scene: Scene, options: RunOptions) -> ResultRecord | None:
    if not options.resume or not path.is_file():
        return None
    try:
        record = read_result(path)
    except ValueError:
        return None  # unreadable: run the fold again and overwrite
    same = (
        record.benchmark_version == BENCHMARK_VERSION
        and record.task.version == task.version
        and record.dataset.sha256 == scene.fingerprint()
    )
    if not same or (record.status == "failed" and options.retry_failed):
        return None
    return record


def _record(
    info: SubmissionInfo,
    task: TaskSpec,
    fold: int,
    scene: Scene,
    inputs: TaskInputs,
    held_out: HeldOut,
    outcome: _Outcome,
    options: RunOptions,
) -> ResultRecord:
    failure, metrics, errors = outcome.failure, None, None
    if failure is None:
        try:
            prediction = validate_prediction(outcome.prediction, inputs)
            outcome.prediction = prediction
            reference = upsample_lowres(inputs, "bicubic")
            metrics = score_fold(inputs, held_out, prediction, reference)
            errors = error_blocks(inputs, held_out, prediction, reference)
        except InvalidPrediction as exc:
            failure = Failure(kind="invalid_prediction", message=str(exc))
            outcome.prediction = None
    return make_record(
        info,
        task,
        fold,
        scene,
        seed=options.seed,
        metrics=metrics,
        errors=errors,
        failure=failure,
        runtime=outcome.runtime,
        peak_memory_mb=outcome.peak_memory_mb,
        gpu=outcome.gpu,
    )


# --- running the model ---------------------------------------------------------------------


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - legacy global state some models still use
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def _fit_predict(submission: Submission, inputs: TaskInputs, seed: int) -> tuple[Any, Runtime]:
    model = submission.build()
    _seed_everything(seed)  # after build: the model's imports (torch) are loaded by now
    t0 = time.perf_counter()
    model.fit(inputs)
    t1 = time.perf_counter()
    output = model.predict(inputs)
    t2 = time.perf_counter()
    return output, Runtime(fit_s=t1 - t0, predict_s=t2 - t1, total_s=t2 - t0)


def _exception_failure(exc: BaseException, kind: FailureKind = "exception") -> Failure:
    return Failure(
        kind=kind, message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()
    )


def _run_inline(submission: Submission, inputs: TaskInputs, seed: int) -> _Outcome:
    try:
        output, runtime = _fit_predict(submission, inputs, seed)
    except Exception as exc:
        return _Outcome(failure=_exception_failure(exc))
    return _Outcome(
        prediction=output, runtime=runtime, peak_memory_mb=peak_rss_mb(), gpu=gpu_name()
    )


def _child_main(
    conn: Any, submission: Submission, inputs: TaskInputs, seed: int, out_path: str
) -> None:
    try:
        output, runtime = _fit_predict(submission, inputs, seed)
        arrays = _output_arrays(output)
        np.savez(out_path, **arrays)  # type: ignore[arg-type]  # numpy stubs miss **kwds
        conn.send({"runtime": runtime.model_dump(), "peak": peak_rss_mb(), "gpu": gpu_name()})
    except InvalidPrediction as exc:
        conn.send({"failure": Failure(kind="invalid_prediction", message=str(exc)).model_dump()})
    except BaseException as exc:
        conn.send({"failure": _exception_failure(exc).model_dump()})
    finally:
        conn.close()


def _output_arrays(output: Any) -> dict[str, np.ndarray]:
    if isinstance(output, Prediction):
        arrays = {"mean": output.mean}
        if output.std is not None:
            arrays["std"] = output.std
    else:
        arrays = {"mean": output}
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray) or value.dtype == object:
            raise InvalidPrediction(
                f"predict() returned {type(value).__name__} for {key}; return a float32 numpy "
                "array (E, H, W) or a geochem_bench.core.task.Prediction"
            )
    return arrays


def _run_in_child(submission: Submission, inputs: TaskInputs, options: RunOptions) -> _Outcome:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ctx: Any = multiprocessing.get_context(method)
    tmp_dir = Path(options.out_dir) / ".tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, out_path = tempfile.mkstemp(dir=tmp_dir, suffix=".npz")
    os.close(fd)
    receiver, sender = ctx.Pipe(duplex=False)
    # Not a daemon: a daemonic process may not start its own workers, and models do
    # (scikit-learn's n_jobs=-1, DataLoader workers). A timeout still kills it.
    process = ctx.Process(
        target=_child_main, args=(sender, submission, inputs, options.seed, out_path), daemon=False
    )
    try:
        process.start()
        sender.close()
        message = receiver.recv() if receiver.poll(options.timeout_s) else None
        process.join(timeout=10 if message is not None else 0)
        if process.is_alive():
            process.kill()
            process.join()
        if message is None:
            if process.exitcode not in (None, 0) and process.exitcode != -9:
                return _Outcome(
                    failure=Failure(
                        kind="crash",
                        message=f"model process died with exit code {process.exitcode}",
                    )
                )
            return _Outcome(
                failure=Failure(
                    kind="timeout",
                    message=(
                        f"fit + predict did not finish within {options.timeout_s:g} s "
                        "and was stopped"
                    ),
                )
            )
        if "failure" in message:
            return _Outcome(failure=Failure(**message["failure"]))
        with np.load(out_path, allow_pickle=False) as data:
            prediction = Prediction(mean=data["mean"], std=data.get("std"))
        return _Outcome(
            prediction=prediction,
            runtime=Runtime(**message["runtime"]),
            peak_memory_mb=message["peak"],
            gpu=message["gpu"],
        )
    except EOFError:  # the child closed the pipe without a word: it died
        process.join(timeout=10)
        return _Outcome(
            failure=Failure(
                kind="crash", message=f"model process died with exit code {process.exitcode}"
            )
        )
    finally:
        receiver.close()
        Path(out_path).unlink(missing_ok=True)


@contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Callable[[str], None]]:
    if not enabled:
        yield lambda _description: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # auto_refresh=False: no refresh thread, so forking a child never copies a held lock.
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        auto_refresh=False,
        transient=False,
    )
    with progress:
        bar = progress.add_task("starting", total=total)
        started = [False]

        def advance(description: str) -> None:
            if started[0]:
                progress.advance(bar)
            started[0] = True
            progress.update(bar, description=description)
            progress.refresh()

        yield advance
        progress.update(bar, completed=total, description="done")
        progress.refresh()
