"""Hostile submissions against the harness: none may see the test, escape a limit or forge.

Each test runs one model of ``tests/hostile_models.py`` and asserts the exact outcome: it
scores no better than the honest model it falls back to, fails with a stated reason, or is
flagged by its canary fold. Where this machine lacks Landlock or user namespaces the tests
assert the fallback's behaviour (and the record's ``isolation`` says which was in force).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import uuid
from pathlib import Path

import pytest

from geochem_bench.data.store import write_scene
from geochem_bench.evaluation.executors import evaluate
from geochem_bench.evaluation.harness import RunOptions
from geochem_bench.evaluation.records import result_path, write_result
from geochem_bench.evaluation.sandbox import landlock_abi, namespaces_available
from geochem_bench.evaluation.submission import load_submission
from geochem_bench.scenes.registry import list_tasks, load_scene

HOSTILE = Path(__file__).with_name("hostile_models.py")
POINTS = "synthetic/cu/s16/points"
GRID = "synthetic/all/s16/grid"
LANDLOCK = landlock_abi() > 0
#: How a denied write shows: Landlock or permissions (EACCES), or the read-only mount tree.
DENIED = re.compile(r"PermissionError|Read-only file system")


def run(tmp_path: Path, model: str, task: str = POINTS, **kw):
    options = RunOptions(out_dir=tmp_path / "results", progress=False, **kw)
    return evaluate(load_submission(f"{HOSTILE}:{model}"), list_tasks([task]), options)


def skills(records) -> list[float | None]:
    return [r.metrics["overall"]["skill"] if r.metrics else None for r in records]


@pytest.fixture
def cache_with_scene(tmp_path, monkeypatch) -> Path:
    """A data cache holding the synthetic scene's build, held-out samples included."""
    root = tmp_path / "cache"
    write_scene(load_scene("synthetic"), root / "synthetic")
    monkeypatch.setenv("GEOCHEM_BENCH_DATA", str(root))
    monkeypatch.setenv("HOSTILE_DATA_ROOT", str(root))
    return root


@pytest.mark.parametrize("task", [POINTS, GRID])
def test_reading_the_harness_memory_finds_nothing(tmp_path, task):
    honest = run(tmp_path / "honest", "_Honest", task)
    cheat = run(tmp_path / "cheat", "StackReader", task)
    assert skills(cheat) == skills(honest)
    assert all(r.status == "ok" and r.isolation.process == "sandboxed" for r in cheat)


def test_the_data_cache_is_out_of_reach(tmp_path, cache_with_scene):
    honest = run(tmp_path / "honest", "_Honest")
    cheat = run(tmp_path / "cheat", "CacheReader")
    assert skills(cheat) == skills(honest), cheat[0].failure  # before: +1.000 on every fold
    assert cheat[0].isolation.filesystem == ("landlock" if LANDLOCK else "none")


def test_without_landlock_the_cache_is_hidden_by_permissions(tmp_path, cache_with_scene):
    honest = run(tmp_path / "honest", "_Honest")
    cheat = run(tmp_path / "cheat", "CacheReader", sandbox=False)
    assert skills(cheat) == skills(honest)
    assert cheat[0].isolation.filesystem == "none"
    assert os.access(cache_with_scene, os.R_OK)  # permissions restored after the run


def test_a_model_cannot_write_the_cache(tmp_path, cache_with_scene):
    before = {p: p.read_bytes() for p in cache_with_scene.rglob("*") if p.is_file()}
    (record, *_) = run(tmp_path, "CacheWriter")
    after = {p: p.read_bytes() for p in cache_with_scene.rglob("*") if p.is_file()}
    assert after == before
    assert record.status == "failed" and DENIED.search(record.failure.message)


def test_a_model_cannot_write_into_the_results_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOSTILE_RESULTS", str(tmp_path / "results"))
    (record, *_) = run(tmp_path, "ResultsForger")
    assert not (tmp_path / "results" / "forged.json").exists()
    assert record.status == "failed" and DENIED.search(record.failure.message)


def canaried(records):
    (record,) = [r for r in records if r.canary is not None]  # one canary fold per task
    return record


def test_canary_flags_a_model_that_reads_the_data_api(tmp_path, cache_with_scene):
    # with the sandbox off, the cheat reads whatever $GEOCHEM_BENCH_DATA shows it: nothing in
    # a real run, the canary's noise in the canary run
    honest = run(tmp_path / "honest", "_Honest", canary=True, sandbox=False)
    cheat = run(tmp_path / "cheat", "CacheReader", canary=True, sandbox=False)
    assert canaried(honest).canary.changed is False
    flagged = canaried(cheat).canary
    assert flagged.changed is True and "reads them from somewhere" in flagged.message


def test_canary_leaves_honest_models_unflagged_on_every_protocol(tmp_path):
    for task in (POINTS, GRID):
        records = run(tmp_path / task.replace("/", "_"), "_Honest", task, canary=True)
        check = canaried(records).canary
        assert check.changed is False and check.max_abs_diff == 0.0


def test_the_canary_fold_is_random(tmp_path):
    folds = {canaried(run(tmp_path / str(k), "_Honest", canary=True)).fold for k in range(6)}
    assert len(folds) > 1  # fails with probability 5 * (1/5)**6 = 0.03 %


def test_resume_adds_a_missing_canary_by_rerunning_one_fold_only(tmp_path):
    first = run(tmp_path, "_Honest")
    again = run(tmp_path, "_Honest", canary=True)
    rerun = [a for a, f in zip(again, first, strict=True) if a.timestamp != f.timestamp]
    assert len(rerun) == 1 and rerun[0].canary is not None
    third = run(tmp_path, "_Honest", canary=True)
    assert [r.timestamp for r in third] == [r.timestamp for r in again]


def test_closing_inherited_descriptors_does_not_escape_the_timeout(tmp_path):
    done: list = []
    worker = threading.Thread(
        target=lambda: done.append(run(tmp_path, "ClosesFds", timeout_s=2)), daemon=True
    )
    worker.start()
    worker.join(120)  # before: the harness waited on the closed pipe forever
    assert done, "the harness did not return after the model closed its descriptors"
    assert {r.failure.kind for r in done[0]} == {"timeout"}


def _alive(marker: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if marker.encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def test_a_detached_grandchild_dies_with_the_model(tmp_path, monkeypatch):
    marker = f"hostile-{uuid.uuid4().hex}"
    monkeypatch.setenv("HOSTILE_MARKER", marker)
    records = run(tmp_path, "Grandchild", timeout_s=3)
    assert {r.failure.kind for r in records} == {"timeout"}
    assert _alive(marker) == []  # before: one survivor per fold


def test_memory_limit_is_enforced(tmp_path, monkeypatch):
    monkeypatch.setenv("HOSTILE_BYTES", str(2 * 2**30))
    records = run(tmp_path, "MemoryHog", memory_limit_bytes=512 * 2**20)
    assert {r.failure.kind for r in records} == {"memory"}
    assert records[0].isolation.memory_limit_mb == 512


def test_the_model_has_no_network(tmp_path, monkeypatch):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    monkeypatch.setenv("HOSTILE_PORT", str(server.getsockname()[1]))
    accepted: list = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept())
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        records = run(tmp_path, "Networked")
    finally:
        stop.set()
        thread.join()
        server.close()
    assert all(r.status == "ok" for r in records)
    if namespaces_available():
        assert accepted == [] and records[0].isolation.network == "namespace"
    else:
        assert records[0].isolation.network == "open"


def test_held_out_values_are_built_only_after_the_model_returned(tmp_path, monkeypatch):
    import geochem_bench.evaluation.harness as harness

    calls: list[str] = []
    real_inputs, real_held_out = harness.build_inputs, harness.build_held_out
    monkeypatch.setattr(
        harness, "build_inputs", lambda *a, **k: calls.append("inputs") or real_inputs(*a, **k)
    )
    monkeypatch.setattr(
        harness,
        "build_held_out",
        lambda *a, **k: calls.append("held_out") or real_held_out(*a, **k),
    )
    real_run = harness.ModelServer.run
    monkeypatch.setattr(
        harness.ModelServer,
        "run",
        lambda self, *a, **k: calls.append("model") or real_run(self, *a, **k),
    )
    run(tmp_path, "_Honest", GRID)
    assert calls == ["inputs", "model", "held_out"] * 3  # one fold per realisation


def test_resume_refuses_records_it_did_not_write_and_other_fingerprints(tmp_path, caplog):
    first = run(tmp_path, "_Honest")
    path = result_path(tmp_path / "results", "_Honest", "0", POINTS, 1)
    # a record written by someone else (here: a copy of fold 0 edited into fold 1's place)
    forged = first[0].model_copy(update={"fold": 1}).model_dump_json()
    path.write_text(forged.replace('"skill": 0.0', '"skill": 0.9'))
    again = run(tmp_path, "_Honest")
    assert f"{path} was not written by this harness" in caplog.text
    assert again[1].timestamp != first[1].timestamp  # rerun, not kept
    assert again[0].timestamp == first[0].timestamp  # its own records are reused
    # another seed is another fingerprint and other files: nothing is reused
    other = run(tmp_path, "_Honest", seed=1)
    assert all(o.timestamp != a.timestamp for o, a in zip(other, again, strict=True))
    # a record of this seed that another fingerprint wrote is run again, with why
    path_1 = result_path(tmp_path / "results", "_Honest", "0", POINTS, 0, seed=1)
    forged_1 = other[0].model_copy(
        update={"submission": other[0].submission.model_copy(update={"fingerprint": "0" * 64})}
    )
    write_result(forged_1, path_1)
    caplog.clear()
    run(tmp_path, "_Honest", seed=1)
    assert (
        "was made with other params, code, seed or package version" in caplog.text
        or "was not written by this harness" in caplog.text
    )
    assert len({r.submission.fingerprint for r in again + other}) == 2


def test_dev_shm_is_no_channel_between_folds(tmp_path, monkeypatch):
    monkeypatch.setenv("HOSTILE_MARKER", f"hostile-{uuid.uuid4().hex}")
    honest = run(tmp_path / "honest", "_Honest")
    cheat = run(tmp_path / "cheat", "ShmCrossFold")  # red team, before: folds 1-4 at +1.000
    assert skills(cheat) == skills(honest)
    assert not (Path("/dev/shm") / os.environ["HOSTILE_MARKER"]).exists()


def test_a_model_reads_only_its_allowlist(tmp_path, monkeypatch):
    # a data folder the harness was never told about (an old data root, a raw mirror)
    elsewhere = tmp_path / "elsewhere"
    write_scene(load_scene("synthetic"), elsewhere / "synthetic")
    monkeypatch.setenv("HOSTILE_DATA_ROOT", str(elsewhere))
    honest = run(tmp_path / "honest", "_Honest")
    cheat = run(tmp_path / "cheat", "ReadsOutsideTheAllowlist")
    if LANDLOCK:
        assert skills(cheat) == skills(honest)  # red team, before: +1.000 on every fold
    else:  # without Landlock nothing stops a same-user read: the record says so
        assert cheat[0].isolation.filesystem == "none"


def test_runtime_and_memory_come_from_the_kernel_not_the_model(tmp_path):
    (record, *_) = run(tmp_path, "FakesItsNote")
    assert record.status == "ok"
    assert record.runtime.total_s >= 0.5  # it slept 0.5 s; its note claimed 2e-6 s
    assert record.peak_memory_mb > 10  # its note claimed 1 MB


@pytest.mark.parametrize(
    ("model", "message"),
    [("FifoPrediction", "not a regular file"), ("NpzBomb", "has shape (20000, 20000, 1000)")],
)
def test_hostile_output_files_cannot_hang_or_crash_the_harness(tmp_path, model, message):
    done: list = []
    worker = threading.Thread(target=lambda: done.append(run(tmp_path, model)), daemon=True)
    worker.start()
    worker.join(120)
    assert done, f"the harness hung on {model}'s output"
    assert {r.failure.kind for r in done[0]} == {"invalid_prediction"}
    assert message in done[0][0].failure.message


def test_a_symlinked_log_does_not_copy_a_secret_into_the_record(tmp_path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("hf_SECRET_TOKEN")
    monkeypatch.setenv("HOSTILE_SECRET", str(secret))
    (record, *_) = run(tmp_path, "LogExfiltrator")
    assert record.status == "failed"
    assert "hf_SECRET_TOKEN" not in record.model_dump_json()


def test_a_killed_runs_private_folders_are_swept(tmp_path, monkeypatch):
    import tempfile

    from geochem_bench.evaluation.harness import PRIVATE_PREFIX, sweep_private_folders

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / f"{PRIVATE_PREFIX}999999999-abc"  # no such process
    alive = tmp_path / f"{PRIVATE_PREFIX}{os.getpid()}-abc"
    dead.mkdir()
    alive.mkdir()
    assert sweep_private_folders() == 1
    assert not dead.exists() and alive.exists()


def test_sweeping_survives_a_folder_another_run_removes_meanwhile(tmp_path, monkeypatch):
    """Two runs on one machine: a folder listed by the sweep may be gone when it is stat'ed
    (this once crashed a run that started while another finished a fold)."""
    import tempfile
    from pathlib import Path

    from geochem_bench.evaluation.harness import PRIVATE_PREFIX, sweep_private_folders

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    vanished = tmp_path / f"{PRIVATE_PREFIX}{os.getpid()}-gone"
    real_glob = Path.glob
    monkeypatch.setattr(
        Path, "glob", lambda self, pattern: iter([vanished, *real_glob(self, pattern)])
    )
    assert sweep_private_folders() == 0


def test_sysv_shared_memory_is_no_channel_between_folds(tmp_path, monkeypatch):
    monkeypatch.setenv("HOSTILE_KEY", str(uuid.uuid4().int & 0xFFFF))
    honest = run(tmp_path / "honest", "_Honest")
    first = run(tmp_path / "cheat1", "SysVChannel")
    second = run(tmp_path / "cheat2", "SysVChannel")  # red team, before: +1.000 on all folds
    assert skills(first) == skills(honest) and skills(second) == skills(honest)


def test_metadata_of_readable_files_is_no_channel(tmp_path):
    (record, *_) = run(tmp_path, "MetadataChannel")
    if namespaces_available():  # the mount tree is read-only in the model's namespace
        assert record.status == "ok", record.failure
    else:
        assert record.isolation.processes == "process-group"


def test_memory_limit_binds_the_whole_process_tree(tmp_path, monkeypatch):
    monkeypatch.setenv("HOSTILE_BYTES", str(300 * 2**20))
    records = run(tmp_path, "ForkHog", GRID, memory_limit_bytes=768 * 2**20, timeout_s=60)
    assert len(records) == 3  # one fold per realisation
    for record in records:
        assert record.failure.kind == "memory"
        assert "together, over the 768 MiB memory limit" in record.failure.message


def test_with_canaries_every_fold_sees_a_decoy_not_an_empty_folder(tmp_path, cache_with_scene):
    # the cheat pastes whatever the data folder shows: noise in every fold, so it gains
    # nothing, and the canary fold's other noise changes its prediction. The noise's seeds are
    # secret, so the comparison is over the task, not per fold: per fold, bicubic scores
    # -0.22..+0.19 and pasted noise up to -0.19, 0.07 below bicubic at the closest in six runs
    # (in CI one fold's noise beat bicubic); the means sit near -0.01 and -0.40, the cheat's
    # varying by about 0.02 (standard deviation) between runs.
    honest = skills(run(tmp_path / "honest", "_Honest", canary=True, sandbox=False))
    cheat = run(tmp_path / "cheat", "CacheReader", canary=True, sandbox=False)
    pasted = skills(cheat)
    assert sum(pasted) / len(pasted) < sum(honest) / len(honest) - 0.2, (pasted, honest)
    assert canaried(cheat).canary.changed is True


def test_private_folders_left_unreadable_by_a_model_are_still_removed(tmp_path):
    from geochem_bench.evaluation.model_server import remove_private

    private = tmp_path / "private"
    (private / "a" / "b").mkdir(parents=True)
    (private / "a" / "b" / "f").write_text("x")
    (private / "a").chmod(0)
    remove_private(private)
    assert not private.exists()


def test_a_packaged_model_imported_lazily_can_read_its_code(tmp_path):
    """With an editable install the package is not on sys.path (a finder maps it); a model
    module the server did not preload must still be readable inside the sandbox."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    argv = [sys.executable, "-m", "geochem_bench.cli.main", "evaluate", "guided-filter"]
    argv += ["--tasks", GRID, "--out", str(tmp_path / "out")]
    result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
