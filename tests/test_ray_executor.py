"""The Ray executor against the local one: same files, failures isolated per fold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import ray  # the dev extra installs it; users get it with geochem-bench[ray]

from geochem_bench.evaluation.executors import evaluate
from geochem_bench.evaluation.harness import RunOptions
from geochem_bench.evaluation.submission import load_submission
from geochem_bench.scenes.registry import list_tasks

ROOT = Path(__file__).resolve().parents[1]
PROVENANCE = ("timestamp", "runtime", "peak_memory_mb", "hardware")


def comparable(path: Path) -> dict:
    """A record without the fields that say when and where it ran."""
    data = json.loads(path.read_text())
    for key in PROVENANCE:
        data.pop(key)
    if data.get("failure"):
        data["failure"].pop("traceback", None)
    return data


@pytest.fixture(scope="module")
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_local_and_ray_write_the_same_results(tmp_path, ray_cluster):
    tasks = list_tasks(["synthetic/all/s16/grid", "synthetic/cu/s16/points"])
    for name in ("bicubic", "idw"):
        submission = load_submission(ROOT / "baselines" / name)
        evaluate(submission, tasks, RunOptions(tmp_path / "local", progress=False))
        evaluate(submission, tasks, RunOptions(tmp_path / "ray", progress=False, executor="ray"))
    local = sorted(p.relative_to(tmp_path / "local") for p in (tmp_path / "local").rglob("*.json"))
    remote = sorted(p.relative_to(tmp_path / "ray") for p in (tmp_path / "ray").rglob("*.json"))
    # 3 realisations x (1 + 5) folds per submission, plus its card and run manifest
    assert local == remote and len(local) == 2 * (18 + 2)
    for rel in local:
        if rel.name.startswith("fold-"):
            assert comparable(tmp_path / "local" / rel) == comparable(tmp_path / "ray" / rel)


def test_a_killed_worker_fails_its_fold_only_and_resume_reruns_nothing(tmp_path, ray_cluster):
    tasks = list_tasks(["synthetic/cu/s16/points"])
    submission = load_submission("tests/broken_models.py:KillsItsWorker", name="killer")
    # inline: the model runs in the Ray worker itself (a sandboxed model cannot reach it)
    options = RunOptions(tmp_path, progress=False, executor="ray", isolation="inline")
    records = evaluate(submission, tasks, options)
    expected = ["ok", "ok", "failed"] + ["ok"] * 12  # 15 folds: 3 realisations x 5
    assert [r.status for r in records] == expected
    assert records[2].failure.kind == "crash" and "Ray task failed" in records[2].failure.message
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("fold-*.json")}
    again = evaluate(submission, tasks, options)  # resume: every fold has a record
    assert [r.status for r in again] == expected
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("fold-*.json")} == before


def test_ray_runs_one_canary_fold_per_task(tmp_path, ray_cluster):
    tasks = list_tasks(["synthetic/all/s16/grid", "synthetic/cu/s16/points"])
    submission = load_submission(ROOT / "baselines" / "bicubic")
    options = RunOptions(tmp_path, progress=False, executor="ray", canary=True)
    records = evaluate(submission, tasks, options)
    for task in tasks:
        checks = [r.canary for r in records if r.task.id == task.id and r.canary is not None]
        assert len(checks) == 1 and checks[0].changed is False
    again = evaluate(submission, tasks, options)  # resume keeps the canaries it has
    assert [r.timestamp for r in again] == [r.timestamp for r in records]
