"""The evaluation harness: run a submission over tasks x folds and record scored results.

Each task fold runs the model in a confined process started by the model server
(:mod:`geochem_bench.evaluation.model_server`): a fresh interpreter that never held a scene,
forking one sandboxed worker per fold. The model receives only the fold's
:class:`~geochem_bench.core.task.TaskInputs`; the held-out values are built only after it has
returned. A crash, a hang past the timeout, running out of memory or an invalid prediction
becomes a *failed* record with the reason, and the run goes on.

Records are written atomically as they finish, and listed with their sha256 in the results
folder's run manifest. Rerunning reuses a record only when this harness wrote it (it is in the
manifest, unchanged) and it was made by the same submission (fingerprint of model, params,
code, seed and package version) on the same benchmark, task version and data; so an
interrupted run resumes where it stopped, and nothing else slips in.

With ``canary=True`` the first fold of every task is run a second time with every held-out
value the harness keeps (in the scene and in the data folder the model is pointed at) replaced
by noise: an honest model cannot tell, a model that reads held-out values changes its
prediction and its record is flagged.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from geochem_bench import BENCHMARK_VERSION
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import HeldOut, Prediction, TaskInputs, TaskSpec
from geochem_bench.data.geotiff import read_prediction, write_prediction
from geochem_bench.errors import InvalidPrediction
from geochem_bench.evaluation import model_server
from geochem_bench.evaluation.canary import canary_check, noisy_scene
from geochem_bench.evaluation.model_server import ModelServer
from geochem_bench.evaluation.provenance import gpu_name, peak_rss_mb
from geochem_bench.evaluation.record_factory import make_record, submission_info
from geochem_bench.evaluation.records import (
    CanaryCheck,
    Failure,
    Isolation,
    ResultRecord,
    Runtime,
    SubmissionInfo,
    read_result,
    result_path,
    write_result,
)
from geochem_bench.evaluation.reference import reference_prediction
from geochem_bench.evaluation.run_manifest import RunManifest
from geochem_bench.evaluation.sandbox import hidden, landlock_abi, readable_roots
from geochem_bench.evaluation.scoring import (
    error_blocks,
    score_fold,
    validate_prediction,
    validate_site_prediction,
)
from geochem_bench.evaluation.submission import Submission, SubmissionCard, card_path, write_card
from geochem_bench.scenes.registry import load_fold_scene
from geochem_bench.tasks.protocols import (
    build_held_out,
    build_inputs,
    held_out_sites,
    task_split,
)

_LOG = logging.getLogger(__name__)

IsolationMode = Literal["process", "inline"]
Executor = Literal["local", "ray"]


def default_memory_limit() -> int | None:
    """75 % of this machine's physical memory, in bytes (None where it cannot be read)."""
    try:
        return int(0.75 * os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


@dataclass
class RunOptions:
    """How a suite is run.

    Attributes:
        out_dir: results folder (records go to ``<out>/<submission>/<version>/<task>/``).
        seed: seed handed to the model and set in numpy, random and torch before it runs.
        seeds: run the whole suite once per seed (``evaluate`` only; records of seed s != 0
            are ``fold-<k>-seed-<s>.json``); None: the submission's default seeds.
        timeout_s: wall-clock limit of one fold (fit + predict), process isolation only.
        isolation: ``"process"`` (a confined process per fold from the model server; crash-,
            timeout- and cheat-safe) or ``"inline"`` (same process; for debugging only: no
            timeout, no sandbox, recorded as such).
        resume: reuse records this harness wrote for the same submission fingerprint.
        retry_failed: with ``resume``, run failed folds again.
        save_predictions: also write each prediction as GeoTIFF next to its record.
        progress: show a progress bar on stderr.
        scene_options: options for the scene loaders (e.g. ``{"size": 512}`` for synthetic).
        executor: ``"local"`` (folds one after another on this machine) or ``"ray"`` (folds as
            Ray tasks on a local or existing cluster; ``pip install geochem-bench[ray]``).
        ray_address: address of an existing Ray cluster (default: start a local one).
        memory_limit_bytes: address-space limit of the model process (default 75 % of RAM;
            None: no limit).
        canary: rerun the first fold of every task with the held-out values replaced by noise
            and flag the record if the prediction changes.
        canary_tolerance: relative change of a prediction the canary attributes to
            nondeterminism rather than to a leak.
        require_sandbox: fail folds instead of running them without Landlock.
        readable_paths: more folders the model may read (e.g. pretrained weights outside
            its submission folder); by default it reads only system folders, the Python
            installation, ``sys.path`` and its submission folder.
        sandbox: use Landlock where the kernel has it (False: for debugging a model that
            needs files the sandbox hides; the record says so).
        protected_paths: more folders the model must not read (e.g. a raw-data mirror); the
            data root, ``$GEOCHEM_BENCH_RAW``, the Hugging Face cache and ``out_dir`` always are.
    """

    out_dir: Path
    seed: int = 0
    seeds: tuple[int, ...] | None = None
    timeout_s: float = 1800.0
    isolation: IsolationMode = "process"
    resume: bool = True
    retry_failed: bool = False
    save_predictions: bool = False
    progress: bool = True
    scene_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    executor: Executor = "local"
    ray_address: str | None = None
    memory_limit_bytes: int | None = field(default_factory=default_memory_limit)
    canary: bool = False
    canary_tolerance: float = 1e-5
    require_sandbox: bool = False
    protected_paths: tuple[Path, ...] = ()
    sandbox: bool = True
    readable_paths: tuple[Path, ...] = ()


@dataclass
class _Outcome:
    prediction: Prediction | None = None
    sites: Prediction | None = None  # what predict_points returned, if the model has it
    failure: Failure | None = None
    runtime: Runtime | None = None
    peak_memory_mb: float | None = None
    gpu: str | None = None
    isolation: Isolation | None = None


class Producer:
    """Where predictions come from: a model run, or files of precomputed predictions."""

    def __call__(
        self,
        task: TaskSpec,
        fold: int,
        inputs: TaskInputs,
        decoy: Scene | None = None,
        sites: NDArray[np.float64] | None = None,
    ) -> _Outcome:
        """The outcome of one fold.

        ``decoy``: a scene built where the model's data API looks (the canary's noise).
        ``sites``: the held-out sites' coordinates (M, 2) of a points or transfer fold, for a
        model's optional ``predict_points``.
        """
        raise NotImplementedError


def run_local(
    submission: Submission, tasks: list[TaskSpec], options: RunOptions
) -> list[ResultRecord]:
    """The local executor: every fold of ``tasks``, one after another on this machine.

    Returns:
        One record per task fold, in task and fold order (resumed ones included).
    """
    info = submission_info(submission, options.seed)
    sweep_private_folders()
    with _ModelRunner(submission, options) as produce:
        return _run_suite(info, tasks, options, produce)


class _ModelRunner(Producer):
    """Runs the submission's model on a fold, confined by the model server or inline."""

    def __init__(self, submission: Submission, options: RunOptions) -> None:
        self.submission = submission
        self.options = options
        self.server = ModelServer() if options.isolation == "process" else None
        self.shared = _SharedInputs() if options.isolation == "process" else None
        self.policy = _RunPolicy.of(submission, options) if self.server is not None else None
        if self.server is not None:
            self.server.prestart()

    def __enter__(self) -> _ModelRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.close()
        if self.shared is not None:
            self.shared.close()

    def __call__(
        self,
        task: TaskSpec,
        fold: int,
        inputs: TaskInputs,
        decoy: Scene | None = None,
        sites: NDArray[np.float64] | None = None,
    ) -> _Outcome:
        if self.server is None or self.shared is None or self.policy is None:
            return _run_inline(self.submission, inputs, self.options.seed, sites)
        return _run_confined(
            self.server, self.shared, self.policy, inputs, self.options, decoy, sites
        )


class _SharedInputs:
    """The covariates of a run's scenes, written once and memory-mapped by every fold.

    Covariates are the bulk of a fold's inputs (Lapland: 29 bands of 1642 x 1361 cells,
    259 MB) and are the same for every fold of a scene; pickling them into every fold's
    private folder would cost more than the fast baselines' whole fold. They are inputs, not
    held-out values, so one read-only file per scene is safe to show every fold of the run.
    """

    def __init__(self) -> None:
        self.folder: Path | None = None
        self._files: dict[int, tuple[Any, Path]] = {}
        self._decoys: dict[int, tuple[Scene, Path]] = {}

    def publish(self, inputs: TaskInputs) -> tuple[TaskInputs, dict[str, str]]:
        """``inputs`` without its covariates, and where the model process finds them."""
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{os.getpid()}-shared-"))
        key = id(inputs.covariates)
        if key not in self._files:
            path = self.folder / f"covariates-{len(self._files)}.npy"
            np.save(path, inputs.covariates)
            path.chmod(0o400)
            # the array is kept alive with its file, so its id cannot be reused by another
            self._files[key] = (inputs.covariates, path)
        stripped = replace(inputs, covariates=np.empty((0, 0, 0), dtype=np.float32))
        return stripped, {"covariates": str(self._files[key][1])}

    def readable(self, data_root: Path) -> tuple[str, ...]:
        """What a fold may read of the shared folder: the covariates and its own data root."""
        if self.folder is None:
            return ()
        covariates = tuple(str(path) for _, path in self._files.values())
        return (*covariates, str(data_root))

    def decoy_root(self, decoy: Scene) -> Path:
        """A data root holding a build of ``decoy`` (written once per run), under a random name.

        With canaries on, every fold's data folder is a decoy: noise in a normal fold, other
        noise in the canary fold, so the two look alike and a model that reads either gains
        nothing.
        """
        from geochem_bench.data.store import built_folder, write_scene

        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{os.getpid()}-shared-"))
        key = id(decoy)
        if key not in self._decoys:
            root = self.folder / f"data-{secrets.token_hex(8)}"
            write_scene(decoy, built_folder(root, decoy.name, decoy.realisation))
            self._decoys[key] = (decoy, root)
        return self._decoys[key][1]

    def close(self) -> None:
        if self.folder is not None:
            model_server.remove_private(self.folder)
            self.folder = None
        self._files.clear()
        self._decoys.clear()


def reusable_record(
    task: TaskSpec, fold: int, info: SubmissionInfo, options: RunOptions
) -> ResultRecord | None:
    """The existing record of a fold if resuming may keep it (see the module docstring)."""
    scene = fold_scene(task, fold, options)
    path = result_path(options.out_dir, info.name, info.version, task.id, fold, options.seed)
    return _reusable(path, info, task, scene, options)


def run_fold(
    submission: Submission,
    task: TaskSpec,
    fold: int,
    options: RunOptions,
    *,
    canary: bool | None = None,
) -> ResultRecord:
    """Run and score one task fold in this process (the model itself per ``isolation``).

    The unit of work of the Ray executor, which runs it as a remote task. Writes nothing;
    the caller writes the record.

    Args:
        submission: the submission.
        task: the task.
        fold: the fold.
        options: how to run it.
        canary: rerun this fold as a canary (default: when ``options.canary`` and the fold
            is the task's randomly drawn canary fold).
    """
    scene = fold_scene(task, fold, options)
    split = task_split(scene, task) if task.protocol != "grid" else None
    with _ModelRunner(submission, options) as produce:
        info = submission_info(submission, options.seed)
        if canary is None:
            canary = options.canary and fold == canary_fold(task)
        decoys = _Decoys(options.canary or canary)
        record, outcome = _fold_record(
            info, task, fold, scene, split, options, produce, decoys.normal(scene)
        )
        if canary and outcome.prediction is not None:
            check = _canary(task, fold, scene, split, options, produce, outcome, decoys)
            record = record.model_copy(update={"canary": check})
        return record


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
    pred_root = Path(pred_dir)
    info = SubmissionInfo(name=name, version=version, source="predictions")
    if not card_path(options.out_dir, name, version).is_file():
        # a card the submitter completed by hand (authors, licence, ...) is kept
        write_card(SubmissionCard(name=name, version=version), options.out_dir)
    none = Isolation(process="none")

    class _FromFiles(Producer):
        def __call__(
            self,
            task: TaskSpec,
            fold: int,
            inputs: TaskInputs,
            decoy: Scene | None = None,
            sites: NDArray[np.float64] | None = None,
        ) -> _Outcome:
            path = pred_root / task.id / f"fold-{fold}.tif"
            if not path.is_file():
                return _Outcome(
                    failure=Failure(
                        kind="missing_prediction", message=f"no prediction file {path}"
                    ),
                    isolation=none,
                )
            try:
                prediction = read_prediction(path, inputs.grid, inputs.elements)
            except InvalidPrediction as exc:
                failure = Failure(kind="invalid_prediction", message=str(exc))
                return _Outcome(failure=failure, isolation=none)
            return _Outcome(prediction=prediction, isolation=none)

    return _run_suite(info, tasks, replace(options, canary=False), _FromFiles())


def _run_suite(
    info: SubmissionInfo, tasks: list[TaskSpec], options: RunOptions, produce: Producer
) -> list[ResultRecord]:
    records: list[ResultRecord] = []
    total = sum(t.n_folds for t in tasks)
    manifest = RunManifest(options.out_dir, info.name, info.version)
    decoys = _Decoys(options.canary)
    with _progress(options.progress, total) as advance:
        for task in tasks:
            paths = {
                fold: result_path(
                    options.out_dir, info.name, info.version, task.id, fold, options.seed
                )
                for fold in task.folds
            }
            previous = {
                fold: _reusable(
                    path, info, task, fold_scene(task, fold, options), options, manifest
                )
                for fold, path in paths.items()
            }
            canary = choose_canary(task, previous.values()) if options.canary else None
            if canary is not None:
                previous[canary] = None
            for fold in task.folds:
                advance(f"{info.name} {task.id} fold {fold}")
                kept = previous[fold]
                if kept is not None:
                    records.append(kept)
                    continue
                # each realisation of a simulated scene has its own survey, so its own split
                scene = fold_scene(task, fold, options)
                split = task_split(scene, task) if task.protocol != "grid" else None
                record, outcome = _fold_record(
                    info, task, fold, scene, split, options, produce, decoys.normal(scene)
                )
                if fold == canary and outcome.prediction is not None:
                    check = _canary(task, fold, scene, split, options, produce, outcome, decoys)
                    record = record.model_copy(update={"canary": check})
                write_result(record, paths[fold])
                manifest.add(paths[fold])
                records.append(record)
    return records


class _Decoys:
    """The noisy scenes of a canary run: one for the normal folds, one for the canary folds.

    Drawn once per scene and run with seeds nobody else knows; both are built where the
    model's data API looks, so a model cannot tell a canary fold by its data folder.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._scenes: dict[tuple[str, int | None], tuple[Scene, Scene]] = {}

    def _pair(self, scene: Scene) -> tuple[Scene, Scene]:
        key = (scene.name, scene.realisation)
        if key not in self._scenes:
            normal = noisy_scene(scene, seed=secrets.randbits(32))
            canary = noisy_scene(scene, seed=secrets.randbits(32))
            self._scenes[key] = (normal, canary)
        return self._scenes[key]

    def normal(self, scene: Scene) -> Scene | None:
        """The decoy every normal fold sees (None without canaries)."""
        return self._pair(scene)[0] if self.enabled else None

    def canary(self, scene: Scene) -> Scene:
        """The decoy the canary fold sees."""
        return self._pair(scene)[1]


def _fold_record(
    info: SubmissionInfo,
    task: TaskSpec,
    fold: int,
    scene: Scene,
    split: Any,
    options: RunOptions,
    produce: Producer,
    decoy: Scene | None = None,
) -> tuple[ResultRecord, _Outcome]:
    """Run and score one fold; the outcome's prediction is None when there is no valid one."""
    inputs = build_inputs(scene, task, fold, seed=options.seed, split=split)
    sites = _sites(scene, task, fold, split)
    outcome = produce(task, fold, inputs, decoy=decoy, sites=sites)
    # only now, with the model gone, do the held-out values exist
    held_out = build_held_out(scene, task, fold, split=split)
    record = _record(info, task, fold, scene, inputs, held_out, outcome, options)
    if options.save_predictions and outcome.prediction is not None:
        path = result_path(options.out_dir, info.name, info.version, task.id, fold, options.seed)
        write_prediction(path.with_suffix(".tif"), outcome.prediction, inputs.grid, inputs.elements)
    return record, outcome


def _sites(scene: Scene, task: TaskSpec, fold: int, split: Any) -> NDArray[np.float64] | None:
    """Coordinates of the held-out sites a model may predict at (points and transfer)."""
    return None if task.protocol == "grid" else held_out_sites(scene, task, fold, split=split)


def fold_scene(task: TaskSpec, fold: int, options: RunOptions) -> Scene:
    """The scene a fold of ``task`` runs on: its realisation's, with the run's scene options."""
    return load_fold_scene(task, fold, **options.scene_options.get(task.scene, {}))


def canary_fold(task: TaskSpec) -> int:
    """The fold of ``task`` rerun as a canary: drawn at random, so a model cannot know it."""
    return secrets.randbelow(task.n_folds)


def choose_canary(task: TaskSpec, reused: Iterable[ResultRecord | None]) -> int | None:
    """The fold of ``task`` to run (again) with its canary, or None if one is reused.

    One canary per task: a resumed task whose reused records include one keeps it; else a
    random fold (a model cannot tell which) is run again with its canary, so the caller must
    not reuse that fold's record.
    """
    if any(record is not None and record.canary is not None for record in reused):
        return None
    return canary_fold(task)


def _canary(
    task: TaskSpec,
    fold: int,
    scene: Scene,
    split: Any,
    options: RunOptions,
    produce: Producer,
    real: _Outcome,
    decoys: _Decoys,
) -> CanaryCheck:
    """Rerun ``fold`` where every held-out value the harness keeps is noise; compare.

    The noisy scene replaces the real one wherever the model could look: it is built in the
    model's data folder (where the normal folds of the run see other noise), and it is what
    the harness holds while the model runs.
    """
    inputs = build_inputs(scene, task, fold, seed=options.seed, split=split)
    sites = _sites(scene, task, fold, split)
    outcome = produce(task, fold, inputs, decoy=decoys.canary(scene), sites=sites)
    assert real.prediction is not None
    check = canary_check(
        real.prediction, outcome.prediction, outcome.failure, inputs, options.canary_tolerance
    )
    if real.sites is None or check.changed:
        return check
    # a model scored at the sites is checked there too: its values there are its score
    at_sites = canary_check(
        real.sites,
        outcome.sites,
        outcome.failure,
        inputs,
        options.canary_tolerance,
        where=np.ones(real.sites.mean.shape, dtype=bool),
    )
    if at_sites.changed:
        return at_sites
    worst = max(check.max_abs_diff or 0.0, at_sites.max_abs_diff or 0.0)
    return check.model_copy(update={"max_abs_diff": worst})


def _reusable(
    path: Path,
    info: SubmissionInfo,
    task: TaskSpec,
    scene: Scene,
    options: RunOptions,
    manifest: RunManifest | None = None,
) -> ResultRecord | None:
    if not options.resume or not path.is_file():
        return None
    manifest = manifest or RunManifest(options.out_dir, info.name, info.version)
    if not manifest.wrote(path):
        _LOG.warning(
            "%s was not written by this harness (or was edited since): its fold is run again",
            path,
        )
        return None
    try:
        record = read_result(path)
    except ValueError:
        return None  # unreadable: run the fold again and overwrite
    if (
        record.benchmark_version != BENCHMARK_VERSION
        or record.task.version != task.version
        or record.dataset.sha256 != scene.fingerprint()
    ):
        return None  # another benchmark, task version or data: a stale record
    if record.submission.fingerprint != info.fingerprint or record.seed != options.seed:
        _LOG.warning(
            "%s was made with other params, code, seed or package version: its fold is run "
            "again (use another --submission-version to keep both)",
            path,
        )
        return None
    if record.status == "failed" and options.retry_failed:
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
    scored_at: Literal["cells", "sites"] = "cells"
    if failure is None:
        try:
            prediction = validate_prediction(outcome.prediction, inputs)
            outcome.prediction = prediction
            if outcome.sites is not None and held_out.values is not None:
                # predict_points: scored at the sites, by the same metrics as the cells
                outcome.sites = validate_site_prediction(
                    outcome.sites, inputs, len(held_out.values)
                )
                prediction, scored_at = outcome.sites, "sites"
            reference = reference_prediction(inputs)
            metrics = score_fold(inputs, held_out, prediction, reference)
            errors = error_blocks(inputs, held_out, prediction, reference)
        except InvalidPrediction as exc:
            failure = Failure(kind="invalid_prediction", message=str(exc))
            outcome.prediction = outcome.sites = None
            scored_at = "cells"
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
        isolation=outcome.isolation,
        scored_at=scored_at,
    )


# --- running the model ---------------------------------------------------------------------


def _run_inline(
    submission: Submission,
    inputs: TaskInputs,
    seed: int,
    sites: NDArray[np.float64] | None = None,
) -> _Outcome:
    inline = Isolation(process="inline")
    try:
        output, runtime, at_sites = model_server.fit_predict(submission, inputs, seed, sites)
    except Exception as exc:
        return _Outcome(failure=model_server.exception_failure(exc), isolation=inline)
    return _Outcome(
        prediction=output,
        sites=_as_prediction(at_sites),
        runtime=runtime,
        peak_memory_mb=peak_rss_mb(),
        gpu=gpu_name(),
        isolation=inline,
    )


def protected_roots(options: RunOptions) -> list[Path]:
    """Folders a model may not read or write: data, raw files, results, Hub cache and token."""
    from geochem_bench.data.sources import default_root

    roots = [default_root(), Path(options.out_dir), *options.protected_paths]
    for variable in ("GEOCHEM_BENCH_RAW", "GEOCHEM_BENCH_MIRROR", "HF_HOME"):
        value = os.environ.get(variable, "")
        if value and "://" not in value:  # a mirror may be a URL
            roots.append(Path(value))
    roots.append(Path.home() / ".cache" / "huggingface")
    return [Path(os.path.realpath(p)) for p in roots]


PRIVATE_PREFIX = "geochem-bench-fold-"


@dataclass(frozen=True)
class _RunPolicy:
    """What confines every fold of a run: worked out once, not per fold."""

    submission: Submission  # with absolute paths (the model process runs elsewhere)
    protected: tuple[Path, ...]
    readable: tuple[str, ...]  # before the run's shared folder and a fold's data root
    hide: tuple[Path, ...]  # made unreadable while a model runs (no Landlock only)

    @classmethod
    def of(cls, submission: Submission, options: RunOptions) -> _RunPolicy:
        protected = protected_roots(options)
        resolved = submission.resolved()
        readable = readable_roots(_submission_folder(resolved), _readable(options))
        landlock = options.sandbox and landlock_abi() > 0
        hide = () if landlock else tuple(_hideable(protected, options))
        return cls(resolved, tuple(protected), readable, hide)


def _run_confined(
    server: ModelServer,
    shared: _SharedInputs,
    policy: _RunPolicy,
    inputs: TaskInputs,
    options: RunOptions,
    decoy: Scene | None,
    sites: NDArray[np.float64] | None = None,
) -> _Outcome:
    import pickle

    # the harness's pid in the name lets a later run sweep what a killed run left behind
    private = Path(tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{os.getpid()}-"))
    try:
        real = Path(os.path.realpath(private))
        if any(real.is_relative_to(root) for root in policy.protected):
            raise model_server.ModelServerError(
                f"the temporary folder {private} lies inside a protected folder; set TMPDIR "
                "to a folder outside the data root and the results folder"
            )
        for sub in ("tmp", "cache", "home-data"):
            (private / sub).mkdir()
        data_root = shared.decoy_root(decoy) if decoy is not None else private / "home-data"
        stripped, mapped = shared.publish(inputs)
        job_file = private / model_server.JOB_FILE
        with open(os.open(job_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
            pickle.dump((policy.submission, stripped, options.seed, sites), fh)
        env = {
            "TMPDIR": str(private / "tmp"),
            "XDG_CACHE_HOME": str(private / "cache"),
            "MPLCONFIGDIR": str(private / "cache"),
            # what the package's own data API sees: nothing, or (with canaries) noise
            "GEOCHEM_BENCH_DATA": str(data_root),
        }
        job = {
            "private_dir": str(private),
            "protected": [str(p) for p in policy.protected],
            "readable": [*policy.readable, *shared.readable(data_root)],
            "mapped": mapped,
            "memory_limit_bytes": options.memory_limit_bytes,
            "require_sandbox": options.require_sandbox,
            "landlock": options.sandbox,
            "env": env,
        }
        # without Landlock, the data and raw folders are made unreadable while the model runs
        with hidden(list(policy.hide)):
            code, facts = server.run(job, options.timeout_s)
        n_sites = None if sites is None else len(sites)
        return _collect(private, code, facts, inputs, options, n_sites)
    finally:
        model_server.remove_private(private)


def sweep_private_folders() -> int:
    """Remove the private fold folders of harness runs that were killed (SIGKILL, power loss).

    Returns:
        How many were removed.
    """
    removed = 0
    for folder in Path(tempfile.gettempdir()).glob(f"{PRIVATE_PREFIX}*-*"):
        pid = folder.name.removeprefix(PRIVATE_PREFIX).split("-")[0]
        try:
            # another run on this machine may remove its own folder between glob and stat
            if not pid.isdigit() or folder.stat().st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)
        except FileNotFoundError:
            continue
        except ProcessLookupError:
            model_server.remove_private(folder)
            removed += 1
        except PermissionError:
            continue
    return removed


def _submission_folder(submission: Submission) -> str | None:
    """Where the submission's code lives: its folder, its file's folder, or its package."""
    if submission.folder is not None:
        return str(submission.folder)
    module_part = submission.model.rpartition(":")[0]
    if module_part.endswith(".py"):
        return str(Path(module_part).parent)
    package = submission.package_source()
    return None if package is None else str(package)


def _readable(options: RunOptions) -> tuple[str, ...]:
    return tuple(str(p) for p in options.readable_paths)


def _hideable(protected: list[Path], options: RunOptions) -> list[Path]:
    """The protected folders that can be hidden by their permissions.

    The data folders only: not the results folder (the harness writes to it between folds),
    not the Hugging Face cache (other programs use it meanwhile), nor folders owned by someone
    else (a shared data folder).
    """
    from geochem_bench.data.sources import default_root

    data = [default_root(), *options.protected_paths]
    if os.environ.get("GEOCHEM_BENCH_RAW"):
        data.append(Path(os.environ["GEOCHEM_BENCH_RAW"]))
    wanted = {Path(os.path.realpath(p)) for p in data}
    return [p for p in protected if p in wanted and p.is_dir() and p.stat().st_uid == os.getuid()]


def _collect(
    private: Path,
    code: int | None,
    facts: dict[str, Any],
    inputs: TaskInputs,
    options: RunOptions,
    n_sites: int | None = None,
) -> _Outcome:
    """Turn what the model left in its private folder into an outcome (nothing trusted).

    ``facts`` come from the worker: the confinement, reported before any submission code
    ran, and the model process's wall time and peak memory as the kernel accounted them.
    """
    note = model_server.read_note(private) or {}
    isolation = _isolation(facts.get("confined") or {})
    accounted = facts.get("accounted") or {}
    if code is None:
        message = f"fit + predict did not finish within {options.timeout_s:g} s and was stopped"
        return _Outcome(failure=Failure(kind="timeout", message=message), isolation=isolation)
    if isinstance(accounted.get("killed"), str):  # the worker's watchdog stopped it
        return _Outcome(
            failure=Failure(kind="memory", message=accounted["killed"][:500]), isolation=isolation
        )
    if "failure" in note:
        try:
            failure = Failure.model_validate(note["failure"])
        except ValueError:
            failure = Failure(kind="crash", message="the model left an unreadable failure note")
        return _Outcome(failure=failure, isolation=isolation)
    if code != 0 or "runtime" not in note:
        killed = code is not None and code > 128
        reason = f"killed by signal {code - 128}" if killed else f"exit code {code}"
        tail = model_server.log_tail(private)
        limit = options.memory_limit_bytes
        hint = (
            f" (out of memory? the limit is {limit / 2**30:.1f} GiB, see --memory-limit)"
            if killed and limit
            else ""
        )
        failure = Failure(
            kind="crash",
            message=f"model process died ({reason}){hint}",
            traceback=tail or None,
        )
        return _Outcome(failure=failure, isolation=isolation)
    try:
        prediction = model_server.read_prediction(private, inputs.output_shape)
        at_sites = None
        if n_sites is not None and (private / model_server.SITES_FILE).exists():
            shape = (len(inputs.elements), n_sites)
            at_sites = model_server.read_prediction(private, shape, model_server.SITES_FILE)
    except InvalidPrediction as exc:
        return _Outcome(
            failure=Failure(kind="invalid_prediction", message=str(exc)), isolation=isolation
        )
    gpu = note.get("gpu")
    return _Outcome(
        prediction=prediction,
        sites=at_sites,
        runtime=_runtime(note.get("runtime"), accounted.get("wall_s")),
        peak_memory_mb=_number(accounted.get("maxrss_mb")),
        gpu=gpu[:100] if isinstance(gpu, str) else None,
        isolation=isolation,
    )


def _as_prediction(output: Any) -> Prediction | None:
    """``predict_points``'s output as a Prediction (unchecked: scoring validates it)."""
    if output is None or isinstance(output, Prediction):
        return output
    return Prediction(mean=output)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and np.isfinite(value) else None


def _runtime(claimed: Any, wall_s: Any) -> Runtime | None:
    """Fit and predict seconds as the model reported them, bounded by the accounted wall time.

    The total is the kernel-side wall time of the model process (imports included); the
    split between fit and predict can only come from the model, so it is clamped to it.
    """
    total = _number(wall_s)
    if total is None:
        return None
    fit = predict = 0.0
    if isinstance(claimed, dict):
        fit = min(max(_number(claimed.get("fit_s")) or 0.0, 0.0), total)
        predict = min(max(_number(claimed.get("predict_s")) or 0.0, 0.0), total - fit)
    return Runtime(fit_s=fit, predict_s=predict, total_s=total)


def _isolation(confined: dict[str, Any]) -> Isolation:
    try:
        return Isolation(process="sandboxed", **confined)
    except (TypeError, ValueError):
        return Isolation(process="sandboxed")


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
