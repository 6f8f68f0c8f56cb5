"""Running an untrusted model on one fold: a clean fork server and its confined workers.

The harness starts one *model server* per run (a new ``python`` running :func:`serve`): a
fresh interpreter that has never seen a scene or a
held-out value, that preloads the trusted scientific stack (numpy, scipy, the package's models)
and then, for each fold, forks a worker. The worker starts its own session, leaves the
server's pipes (its stdout and stderr go to a log file in the fold's private folder), enters
new user/network/PID namespaces where the kernel allows, and forks the model process, which
caps its memory, applies the Landlock ruleset (:mod:`geochem_bench.evaluation.sandbox`), and
only then unpickles the fold's inputs and imports the submission's code.

The harness talks only to the server, over its stdin/stdout, and never reads anything the
model could hold open: the model returns its prediction as ``prediction.npz`` plus a small
JSON note in its private folder, which the harness reads with size limits and without pickle.
Every wait has a deadline; on timeout the harness kills the worker's process group, and the
model (PID 1 of its namespace, or adopted by the server as subreaper) takes every process it
started down with it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pickle
import select
import shutil
import signal
import stat
import subprocess
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from geochem_bench.core.task import Prediction, TaskInputs
from geochem_bench.errors import GeochemBenchError, InvalidPrediction
from geochem_bench.evaluation.provenance import gpu_name, peak_rss_mb
from geochem_bench.evaluation.records import Failure, FailureKind, Runtime
from geochem_bench.evaluation.sandbox import (
    Confined,
    SandboxPolicy,
    become_subreaper,
    die_with_parent,
    drop_capabilities,
    enter_namespaces,
    landlock_abi,
    limit_memory,
    mount_private_proc,
    private_mounts,
    restrict_filesystem,
)
from geochem_bench.evaluation.submission import Submission

JOB_FILE = "job.pkl"
NOTE_FILE = "result.json"
PREDICTION_FILE = "prediction.npz"
SITES_FILE = "sites.npz"  # what predict_points returned, if the model has the hook
LOG_FILE = "model.log"

#: Environment variables a model never sees (tokens, and where the data lives).
SECRET_ENV = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_API_TOKEN",
    "GEOCHEM_BENCH_DATA",
    "GEOCHEM_BENCH_RAW",
)
_NOTE_LIMIT = 1 << 20  # a result note is a few hundred bytes; refuse anything huge


class ModelServerError(GeochemBenchError, RuntimeError):
    """The model server could not be started or stopped answering."""


# --- the model side (runs in the confined process) ------------------------------------------


def seed_everything(seed: int) -> None:
    """Seed Python, numpy's legacy global state, and torch when the model has loaded it."""
    import random

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - legacy global state some models still use
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def fit_predict(
    submission: Submission, inputs: TaskInputs, seed: int, sites: np.ndarray | None = None
) -> tuple[Any, Runtime, Any]:
    """Build the submission's model, fit it on the fold and predict (timed).

    With ``sites`` (the held-out sites' coordinates of a points or transfer fold), a model
    that has the optional ``predict_points`` hook is asked for its values there too.

    Returns:
        ``predict``'s output, the runtime (``predict_points`` counts as predicting), and
        ``predict_points``'s output (None without sites, without the hook, or when it
        returned None).
    """
    model = submission.build()
    seed_everything(seed)  # after build: the model's imports (torch) are loaded by now
    t0 = time.perf_counter()
    model.fit(inputs)
    t1 = time.perf_counter()
    output = model.predict(inputs)
    at_sites = None
    hook = getattr(model, "predict_points", None)
    if sites is not None and callable(hook):
        at_sites = hook(inputs, sites.copy())  # a copy: the harness keeps its own
    t2 = time.perf_counter()
    return output, Runtime(fit_s=t1 - t0, predict_s=t2 - t1, total_s=t2 - t0), at_sites


def exception_failure(exc: BaseException, kind: FailureKind = "exception") -> Failure:
    """A failure record from the exception being handled."""
    if isinstance(exc, MemoryError):
        kind = "memory"
    return Failure(
        kind=kind, message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()
    )


def output_arrays(
    output: Any, hook: str = "predict", shape: str = "(E, H, W)"
) -> dict[str, np.ndarray]:
    """The arrays of a model's output (a Prediction or a bare array), checked to be numeric."""
    if isinstance(output, Prediction):
        arrays = {"mean": output.mean}
        if output.std is not None:
            arrays["std"] = output.std
    else:
        arrays = {"mean": output}
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray) or value.dtype == object:
            raise InvalidPrediction(
                f"{hook}() returned {type(value).__name__} for {key}; return a float32 numpy "
                f"array {shape} or a geochem_bench.core.task.Prediction"
            )
    return arrays


def _model_main(job: dict[str, Any], namespaces: bool, private_shm: bool, report_fd: int) -> int:
    """The model process: confine, report the confinement, load the fold, fit and predict.

    The confinement is reported through ``report_fd`` to the (trusted) worker *before* any
    submission code is imported, so a model cannot lie about the sandbox it ran in.
    """
    private = Path(job["private_dir"])
    note: dict[str, Any] = {}
    try:
        policy = SandboxPolicy(
            protected=tuple(job["protected"]),
            readable=tuple(job["readable"]),
            private_dir=str(private),
            memory_limit_bytes=job["memory_limit_bytes"],
            private_shm=private_shm,
        )
        if namespaces:
            mount_private_proc()  # PID 1 of its namespace; refused where /proc is masked
        filesystem = "none"
        if job["landlock"] and landlock_abi() > 0:
            try:
                restrict_filesystem(policy)
                filesystem = "landlock"
            except OSError:
                filesystem = "none"
        limit_memory(policy.memory_limit_bytes)
        drop_capabilities()
        confined = Confined(
            filesystem=filesystem,
            network="namespace" if namespaces else "open",
            processes="pid-namespace" if namespaces else "process-group",
            memory_limit_mb=(
                None
                if policy.memory_limit_bytes is None
                else int(policy.memory_limit_bytes // 2**20)
            ),
        )
        os.write(report_fd, json.dumps(asdict(confined)).encode())
        os.close(report_fd)
        if filesystem == "none" and job["require_sandbox"]:
            raise ModelServerError(
                "Landlock is not available on this machine (Linux >= 5.13 with Landlock "
                "enabled is needed), and this run requires a sandbox (--require-sandbox)"
            )
        for key in (*SECRET_ENV, "PWD", "OLDPWD"):
            os.environ.pop(key, None)
        os.environ.update(job["env"])
        os.chdir(private)
        with open(private / JOB_FILE, "rb") as handle:
            submission, inputs, seed, sites = pickle.load(handle)  # written by the harness
        if "covariates" in job.get("mapped", {}):
            # copy-on-write: a model may change its covariates in place, never the file
            covariates = np.load(job["mapped"]["covariates"], mmap_mode="c")
            inputs = dataclasses.replace(inputs, covariates=covariates)
        output, runtime, at_sites = fit_predict(submission, inputs, seed, sites)
        arrays = output_arrays(output)
        np.savez(private / PREDICTION_FILE, **arrays)  # type: ignore[arg-type]
        if at_sites is not None:
            site_arrays = output_arrays(at_sites, "predict_points", "(E, M)")
            np.savez(private / SITES_FILE, **site_arrays)  # type: ignore[arg-type]
        note.update(runtime=runtime.model_dump(), peak=peak_rss_mb(), gpu=gpu_name())
    except InvalidPrediction as exc:
        note["failure"] = Failure(kind="invalid_prediction", message=str(exc)).model_dump()
    except BaseException as exc:
        note["failure"] = exception_failure(exc).model_dump()
    try:
        (private / NOTE_FILE).write_text(json.dumps(note))
    except OSError:
        return 71
    return 0


def _close_all_but(keep: int) -> None:
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)


def _worker(job: dict[str, Any], report_fd: int) -> int:
    """The forked worker: own session, no inherited pipes, namespaces, then the model.

    The worker runs no submission code. It relays to the server, through ``report_fd``, the
    model's confinement report (written before the model imports anything), then the wall
    time and peak memory of the model process as the kernel accounted them, so a model
    cannot forge either.
    """
    os.setsid()
    private = Path(job["private_dir"])
    log = os.open(private / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    _close_all_but(report_fd)  # the server's pipes to the harness included
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - fd 1 outlives us
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    namespaces = enter_namespaces()
    private_shm = namespaces and private_mounts(str(private), job["memory_limit_bytes"])
    model_r, model_w = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(model_r)
        os.close(report_fd)
        die_with_parent()
        code = 70
        try:
            code = _model_main(job, namespaces, private_shm, model_w)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(model_w)
    report = _read_all(model_r, 65536)
    os.close(model_r)
    os.write(report_fd, report.replace(b"\n", b" ") + b"\n")
    status, accounted = _watch(pid, namespaces, job["memory_limit_bytes"])
    accounted["wall_s"] = time.perf_counter() - started
    os.write(report_fd, json.dumps(accounted).encode() + b"\n")
    os.close(report_fd)
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


#: Processes a model may run at once (its threads do not count): far above any honest use
#: (a DataLoader or scikit-learn pool), far below what exhausts the host.
MAX_PROCESSES = 256


def _watch(pid: int, namespaces: bool, limit_bytes: int | None) -> tuple[int, dict[str, Any]]:
    """Wait for the model process, policing its whole process tree on the way.

    ``RLIMIT_AS`` binds each process alone; a model that forks could use N times the
    limit. Every few hundred milliseconds the worker adds up the resident memory of every
    process of the model (its PID namespace, else its session) and kills the model when the
    sum passes the limit or the processes pass :data:`MAX_PROCESSES`.

    Returns:
        The wait status, and what the worker accounted: ``maxrss_mb`` (the peak of the
        tree's summed RSS, or the largest process's when higher), and ``killed`` with the
        reason when it killed the model.
    """
    import signal as signals

    mine = _tree_key(pid, namespaces)
    page = os.sysconf("SC_PAGE_SIZE")
    peak, interval = 0, 0.05
    accounted: dict[str, Any] = {}
    # a pidfd becomes readable the moment the model exits: no fold waits out a polling tick
    exited = os.pidfd_open(pid)
    try:
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            select.select([exited], [], [], interval)
            interval = min(2 * interval, 0.25)
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            rss, count = _tree_usage(mine, namespaces, page)
            peak = max(peak, rss)
            reason = None
            if limit_bytes is not None and rss > limit_bytes:
                reason = (
                    f"the model's {count} process(es) used {rss / 2**20:.0f} MiB together, "
                    f"over the {limit_bytes / 2**20:.0f} MiB memory limit (--memory-limit)"
                )
            elif count > MAX_PROCESSES:
                reason = (
                    f"the model ran {count} processes at once, over the limit of {MAX_PROCESSES}"
                )
            if reason is not None:
                accounted["killed"] = reason
                os.kill(pid, signals.SIGKILL)
    finally:
        os.close(exited)
    accounted["maxrss_mb"] = max(peak, usage.ru_maxrss * 1024) / 2**20
    return status, accounted


def _tree_key(pid: int, namespaces: bool) -> str:
    """What the model's processes share: its PID namespace, else its session."""
    try:
        return os.readlink(f"/proc/{pid}/ns/pid") if namespaces else str(os.getsid(pid))
    except OSError:
        return ""


def _tree_usage(key: str, namespaces: bool, page: int) -> tuple[int, int]:
    """Summed resident bytes and number of the processes that share ``key``."""
    total = count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if namespaces:
                if os.readlink(f"/proc/{entry.name}/ns/pid") != key:
                    continue
            elif str(os.getsid(int(entry.name))) != key:
                continue
            with open(f"/proc/{entry.name}/statm") as statm:
                total += int(statm.read().split()[1]) * page
            count += 1
        except (OSError, ValueError, IndexError):
            continue
    return total, count


def _read_all(fd: int, limit: int) -> bytes:
    data = b""
    while len(data) < limit:
        chunk = os.read(fd, limit - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _kill_orphans() -> None:
    """Kill and reap every child the server adopted as subreaper (a model's leftovers)."""
    me = os.getpid()
    for _ in range(3):
        children: list[int] = []
        for task in Path(f"/proc/{me}/task").iterdir():
            try:
                children += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
        if not children:
            return
        for pid in children:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def serve() -> None:
    """The server loop: one JSON job per stdin line; JSON events on stdout."""
    # warm the trusted stack once, so each forked worker starts in milliseconds
    import scipy.ndimage  # noqa: F401

    import geochem_bench.models
    import geochem_bench.models.upsampling  # noqa: F401

    become_subreaper()
    out = sys.stdout.buffer

    def send(event: dict[str, Any]) -> None:
        out.write(json.dumps(event).encode() + b"\n")
        out.flush()

    send({"event": "ready", "pid": os.getpid()})
    for line in sys.stdin.buffer:
        job = json.loads(line)
        if job.get("op") == "stop":
            break
        report_r, report_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                os.close(report_r)
                code = _worker(job, report_w)
            finally:
                os._exit(code)
        os.close(report_w)
        send({"event": "started", "pid": pid})
        _, status = os.waitpid(pid, 0)
        _kill_orphans()
        lines = _read_all(report_r, 65536).splitlines()
        os.close(report_r)
        facts: list[Any] = []
        for line in lines[:2]:
            try:
                facts.append(json.loads(line))
            except ValueError:
                facts.append(None)
        confined = facts[0] if facts else None
        accounted = facts[1] if len(facts) > 1 else None
        code = os.waitstatus_to_exitcode(status)
        send({"event": "exited", "code": code, "confined": confined, "accounted": accounted})


# --- the harness side -------------------------------------------------------------------------


# -c rather than -m: runpy warns when the package import has already loaded the module
_SERVER_MAIN = "from geochem_bench.evaluation.model_server import serve; serve()"


class ModelServer:
    """The harness's handle on a model server (started lazily, restarted when it dies)."""

    def __init__(self, startup_timeout_s: float = 120.0) -> None:
        self.startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._ready = False

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def prestart(self) -> None:
        """Launch the server now and wait for it only at the first fold.

        Its start (a fresh interpreter importing numpy and scipy, about half a second) then
        overlaps with the harness loading the scene and building the first fold's inputs.
        """
        if self._process is None:
            self._process, self._buffer, self._ready = self._launch(), b"", False

    def _launch(self) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
        # the server must import the same code as the harness (editable installs, tests)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and Path(p).exists())
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        process = subprocess.Popen(
            [sys.executable, "-c", _SERVER_MAIN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd="/",
            close_fds=True,
            start_new_session=True,  # Ctrl-C in the terminal reaches the harness, not the server
        )
        return process

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self.close()
            self._process, self._buffer, self._ready = self._launch(), b"", False
        process = self._process
        if self._ready:
            return process
        ready = self._read_event(self.startup_timeout_s)
        if ready is None or ready.get("event") != "ready":
            self.close()
            raise ModelServerError(
                f"the model server did not start; run `python -c '{_SERVER_MAIN}'` to see why"
            )
        self._ready = True
        return process

    def _read_event(self, timeout_s: float) -> dict[str, Any] | None:
        """The server's next event, or None when ``timeout_s`` passes or the server died."""
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        event: dict[str, Any] = json.loads(line)
        return event

    def run(self, job: dict[str, Any], timeout_s: float) -> tuple[int | None, dict[str, Any]]:
        """Run one job: its exit code (None when killed at the timeout) and the worker's facts.

        The facts are ``{"confined": {...}, "accounted": {"wall_s", "maxrss_mb"}}``, each
        possibly missing (a model killed before it was confined, or at the timeout).

        Raises:
            ModelServerError: the server died or stopped answering (it is restarted next time).
        """
        process = self._start()
        assert process.stdin is not None
        try:
            process.stdin.write(json.dumps(job).encode() + b"\n")
            process.stdin.flush()
        except OSError as exc:
            self.close()
            raise ModelServerError(f"the model server stopped: {exc}") from exc
        started = self._read_event(60.0)
        if started is None or started.get("event") != "started":
            self.close()
            raise ModelServerError("the model server did not start the fold")
        worker = int(started["pid"])
        try:
            exited = self._read_event(timeout_s)
        except BaseException:  # Ctrl-C: take the model down before going
            self._kill(worker)
            self.close()
            raise
        if exited is not None:
            return int(exited["code"]), exited
        self._kill(worker)
        exited = self._read_event(30.0)
        if exited is None:
            self.close()
        return None, exited or {}

    @staticmethod
    def _kill(worker: int) -> None:
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(OSError):
                kill(worker, signal.SIGKILL)

    def close(self) -> None:
        """Stop the server and everything it started."""
        process, self._process, self._ready = self._process, None, False
        if process is None:
            return
        # between folds the server holds nothing worth a graceful exit: its session (the
        # server and any straggler) is killed at once rather than waited for
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def _open_regular(path: Path) -> int:
    """Open a file the model left, for reading, only if it is a regular file itself.

    Refuses symlinks (a model could point one at a protected file the harness can read),
    FIFOs and devices (a read would block forever or never end).

    Raises:
        OSError: missing, a symlink, or not a regular file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path.name} is not a regular file")
    return fd


def read_private(path: Path, limit: int) -> bytes:
    """The bytes of a file the model left, read as untrusted.

    Refuses symlinks (a model could point one at a protected file the harness can read),
    FIFOs and devices (a read would block forever or never end), and anything over ``limit``.

    Raises:
        OSError: the file is missing, not a regular file, or too big.
    """
    fd = _open_regular(path)
    try:
        info = os.fstat(fd)
        if info.st_size > limit:
            raise OSError(f"{path.name} is {info.st_size} bytes, over the {limit} byte limit")
        return _read_all(fd, limit)
    finally:
        os.close(fd)


def read_note(private: Path) -> dict[str, Any] | None:
    """The model's result note, or None when it left none (or something absurd)."""
    try:
        note = json.loads(read_private(private / NOTE_FILE, _NOTE_LIMIT))
    except (OSError, ValueError, RecursionError):
        return None
    return note if isinstance(note, dict) else None


def read_prediction(
    private: Path, shape: tuple[int, ...], name: str = PREDICTION_FILE
) -> Prediction:
    """The model's prediction, checked against the expected shape before anything is loaded.

    ``name``: :data:`PREDICTION_FILE` (``predict``'s map, (E, H, W)) or :data:`SITES_FILE`
    (``predict_points``'s values, (E, M)).

    Raises:
        InvalidPrediction: missing, not an ``.npz`` of the right arrays, or another shape
            (a header claiming a huge array is refused before memory is allocated).
    """
    import io
    import zipfile

    what = "predict_points output" if name == SITES_FILE else "prediction"
    expected = int(np.prod(shape)) * 8  # float64 at most
    try:
        data = read_private(private / name, 2 * expected + (1 << 20))
        arrays: dict[str, np.ndarray] = {}
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member_name in archive.namelist():
                key = member_name.removesuffix(".npy")
                size = archive.getinfo(member_name).file_size
                if key not in {"mean", "std"}:
                    raise InvalidPrediction(f"unexpected member {member_name!r} in the {what}")
                if size > expected + 4096:
                    raise InvalidPrediction(
                        f"{what} {key} is {size} bytes, more than any array of the expected "
                        f"shape {shape} needs"
                    )
                with archive.open(member_name) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    header = read_header(member)  # (shape, fortran order, dtype)
                    if tuple(header[0]) != shape:
                        raise InvalidPrediction(
                            f"{what} {key} has shape {tuple(header[0])}, expected {shape}"
                        )
                with archive.open(member_name) as member:
                    arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, MemoryError) as exc:
        raise InvalidPrediction(f"unreadable {what}: {exc}") from exc
    if "mean" not in arrays:
        raise InvalidPrediction(f"the {what} has no 'mean' array")
    return Prediction(mean=arrays["mean"], std=arrays.get("std"))


def log_tail(private: Path, limit: int = 4000) -> str:
    """The end of what the model printed (for failure messages); never follows a symlink."""
    try:
        fd = _open_regular(private / LOG_FILE)
    except OSError:
        return ""
    try:
        size = os.fstat(fd).st_size
        os.lseek(fd, max(0, size - limit), os.SEEK_SET)
        return _read_all(fd, limit).decode(errors="replace")
    finally:
        os.close(fd)


def remove_private(private: Path) -> None:
    """Delete a fold's private folder, whatever modes the model left on what is inside."""
    _unlock(str(private))
    shutil.rmtree(private, ignore_errors=True)


def _unlock(folder: str) -> None:
    """Give back read/write/search on every real folder under ``folder``.

    A model may have made some mode 000, which would stop a non-root harness removing them.
    """
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return  # a symlink is removed, never followed
        os.chmod(folder, 0o700)
        with os.scandir(folder) as entries:
            subfolders = [e.path for e in entries if e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for subfolder in subfolders:
        _unlock(subfolder)
