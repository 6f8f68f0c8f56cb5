from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from geochem_bench.evaluation.executors import evaluate
from geochem_bench.evaluation.harness import RunOptions
from geochem_bench.evaluation.records import load_results, read_result
from geochem_bench.evaluation.submission import load_submission
from geochem_bench.scenes.registry import list_tasks

ROOT = Path(__file__).resolve().parents[1]
BROKEN = Path(__file__).with_name("broken_models.py")
POINTS = "synthetic/cu/s16/points"
GRID = "synthetic/all/s16/grid"


def options(tmp_path: Path, **kw) -> RunOptions:
    return RunOptions(out_dir=tmp_path / "results", progress=False, **kw)


def test_same_submission_same_seed_identical_metrics(tmp_path):
    sub = load_submission(ROOT / "baselines" / "bicubic")
    tasks = list_tasks([GRID, POINTS])
    first = evaluate(sub, tasks, options(tmp_path / "a"))
    second = evaluate(sub, tasks, options(tmp_path / "b"))
    assert [r.metrics for r in first] == [r.metrics for r in second]
    assert all(r.status == "ok" for r in first) and len(first) == 3 * (1 + 5)  # 3 realisations


def test_seed_controls_random_models(tmp_path):
    sub = load_submission(f"{BROKEN}:NoisyRandom")
    tasks = list_tasks([GRID])
    a = evaluate(sub, tasks, options(tmp_path / "a", seed=1))
    b = evaluate(sub, tasks, options(tmp_path / "b", seed=1))
    c = evaluate(sub, tasks, options(tmp_path / "c", seed=2))
    assert a[0].metrics == b[0].metrics
    assert a[0].metrics != c[0].metrics


def test_a_stochastic_submission_runs_three_seeds_and_ranks(tmp_path):
    """A card saying stochastic = true: seeds 0, 1, 2, one record file per fold and seed."""
    folder = tmp_path / "noisy"
    folder.mkdir()
    (folder / "model.py").write_text(BROKEN.read_text())
    (folder / "submission.toml").write_text(
        '[submission]\nname = "noisy"\nversion = "1"\nmodel = "model.py:NoisyRandom"\n'
        "stochastic = true\n"
    )
    sub = load_submission(folder)
    records = evaluate(sub, list_tasks([GRID]), options(tmp_path))
    assert [r.seed for r in records] == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # 3 realisations each
    assert all(r.submission.stochastic for r in records)
    assert len({json.dumps(r.metrics, sort_keys=True) for r in records}) == 9
    folder_out = tmp_path / "results" / "noisy" / "1" / "synthetic" / "all" / "s16" / "grid"
    assert sorted(p.name for p in folder_out.glob("fold-0*.json")) == [
        "fold-0-seed-1.json",
        "fold-0-seed-2.json",
        "fold-0.json",
    ]
    from geochem_bench.board.leaderboard import build_leaderboard

    board = build_leaderboard(records, n_boot=200, suite_task_ids=[GRID])
    (score,) = board.tasks
    assert score.n_seeds == 3
    # one seed is not enough for a stochastic submission: the task is left out, with why
    alone = build_leaderboard(records[:3], n_boot=200, suite_task_ids=[GRID])
    assert alone.tasks == [] and "ranked on seeds [0, 1, 2]" in alone.incomplete[0].reason


@pytest.mark.parametrize(
    ("model", "kind", "message"),
    [
        ("Raises", "exception", "model exploded during fit"),
        ("ReturnsNaN", "invalid_prediction", "NaN/inf"),
        ("WrongShape", "invalid_prediction", "shape"),
        ("WrongDtype", "invalid_prediction", "float32"),
        ("ReturnsList", "invalid_prediction", "numpy array"),
        ("Crashes", "crash", "exit code 3"),
    ],
)
def test_broken_submissions_become_failed_records(tmp_path, model, kind, message, monkeypatch):
    private_parent = tmp_path / "tmp"
    private_parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_parent))
    sub = load_submission(f"{BROKEN}:{model}")
    records = evaluate(sub, list_tasks([GRID]), options(tmp_path))
    assert len(records) == 3 and all(r.status == "failed" for r in records)  # 3 realisations
    record = records[0]
    assert record.status == "failed" and record.metrics is None
    assert record.failure.kind == kind and message in record.failure.message
    on_disk = read_result(tmp_path / "results" / model / "0" / GRID / "fold-0.json")
    assert on_disk.failure.kind == kind
    # the model's private folder is gone, and nothing but records went to the results folder
    assert not (tmp_path / "results" / ".tmp").exists()
    assert not list(private_parent.iterdir())


def test_timeout_is_enforced_and_the_run_goes_on(tmp_path):
    sub = load_submission(f"{BROKEN}:Sleeps")
    start = time.perf_counter()
    records = evaluate(sub, list_tasks([GRID]), options(tmp_path, timeout_s=1.0))
    assert time.perf_counter() - start < 20
    assert [r.failure.kind for r in records] == ["timeout"] * 3  # one fold per realisation
    assert "1 s" in records[0].failure.message


def test_a_failing_fold_does_not_stop_the_others(tmp_path):
    sub = load_submission(f"{BROKEN}:FailsOnFold")
    records = evaluate(sub, list_tasks([POINTS, GRID]), options(tmp_path))
    status = [(r.task.id, r.fold, r.status) for r in records]
    assert status.count((POINTS, 1, "failed")) == status.count((GRID, 1, "failed")) == 1
    assert sum(s == "ok" for *_, s in status) == 14 + 2  # the others, 3 realisations each


def test_resume_skips_finished_and_retry_failed(tmp_path):
    sub = load_submission(f"{BROKEN}:FailsOnFold")
    opts = options(tmp_path)
    evaluate(sub, list_tasks([POINTS]), opts)
    folder = tmp_path / "results" / "FailsOnFold" / "0" / POINTS
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}
    (folder / "fold-3.json").unlink()
    time.sleep(0.01)
    evaluate(sub, list_tasks([POINTS]), opts)
    after = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.json")}
    assert after.keys() == stamps.keys()
    changed = {k for k in after if k == "fold-3.json" or after[k] != stamps[k]}
    assert changed == {"fold-3.json"}
    opts.retry_failed = True
    evaluate(sub, list_tasks([POINTS]), opts)
    assert (folder / "fold-1.json").stat().st_mtime_ns != stamps["fold-1.json"]


def test_inline_isolation_scores_the_same(tmp_path):
    sub = load_submission(ROOT / "baselines" / "idw")
    a = evaluate(sub, list_tasks([POINTS]), options(tmp_path / "a"))
    b = evaluate(sub, list_tasks([POINTS]), options(tmp_path / "b", isolation="inline"))
    assert [r.metrics for r in a] == [r.metrics for r in b]


def test_interrupted_run_resumes(tmp_path):
    out = tmp_path / "results"
    cmd = [
        sys.executable,
        "-m",
        "geochem_bench.cli.main",
        "evaluate",
        f"{BROKEN}:SlowBicubic",
        "--tasks",
        POINTS,
        "--out",
        str(out),
        "--name",
        "slow",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = out / "slow" / "0" / POINTS
    deadline = time.time() + 60
    while time.time() < deadline and len(list(folder.glob("fold-*.json"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(folder.glob("fold-*.json"))
    assert 2 <= len(done) < 15, "the run should have been interrupted midway"
    for path in done:
        json.loads(path.read_text())  # complete files only: writes are atomic
    # a fold is finished once the run manifest lists it: a kill between writing a record and
    # listing it leaves a complete file that resume rightly runs again (it cannot tell it
    # from a record dropped in by someone else)
    listed = json.loads((out / "slow" / "0" / "run-manifest.json").read_text())["records"]
    stamps = {p.name: p.stat().st_mtime_ns for p in done if f"{POINTS}/{p.name}" in listed}
    assert stamps, "at least one finished fold was listed before the kill"
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = [r for r in load_results(out) if r.submission.name == "slow"]
    assert [r.fold for r in records] == list(range(15))  # 3 realisations x 5 spatial folds
    assert all(r.status == "ok" for r in records)
    for name, stamp in stamps.items():
        assert (folder / name).stat().st_mtime_ns == stamp  # finished folds were not redone


def test_two_evaluations_writing_one_folder_lose_and_mix_nothing(tmp_path):
    """Two processes run overlapping suites into one results folder at the same time."""
    import subprocess
    import sys

    from geochem_bench.evaluation.records import load_results

    def launch(model: str) -> subprocess.Popen[bytes]:
        code = (
            "import sys; from geochem_bench.cli.main import main; "
            f"sys.exit(main(['evaluate', '{model}', '--tasks', 'synthetic/*', "
            f"'--out', r'{tmp_path}', '--no-resume', '--isolation', 'inline']))"
        )
        return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)

    runs = [launch(m) for m in ("baselines/bicubic", "baselines/bicubic", "baselines/nearest")]
    assert [p.wait(timeout=300) for p in runs] == [0, 0, 0]
    records = load_results(tmp_path)  # every file parses: no torn or mixed writes
    per_submission = {}
    for r in records:
        per_submission.setdefault(r.submission.name, set()).add((r.task.id, r.fold))
    assert set(per_submission) == {"bicubic", "nearest"}
    assert len(per_submission["bicubic"]) == len(per_submission["nearest"]) == 3 * 13
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary file left behind
    for r in records:
        assert r.status == "ok" and r.task.id.startswith("synthetic/")
