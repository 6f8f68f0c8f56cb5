"""Numbered realisations of the simulated scenes: scenes, fold mapping, runs, records, board."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from geochem_bench import BENCHMARK_VERSION
from geochem_bench.board.leaderboard import record_problem
from geochem_bench.board.pins import Pins, scene_pin, task_pin
from geochem_bench.board.validation import check_record
from geochem_bench.core.task import TaskSpec
from geochem_bench.evaluation.executors import evaluate
from geochem_bench.evaluation.harness import RunOptions
from geochem_bench.evaluation.records import TaskInfo, read_result, record_digest
from geochem_bench.evaluation.submission import load_submission
from geochem_bench.scenes import SCENES
from geochem_bench.scenes.olinda import SIMULATION, Olinda, draw_simulation
from geochem_bench.scenes.registry import (
    dev_task,
    get_task,
    load_fold_scene,
    load_scene,
)
from geochem_bench.scenes.synthetic import Synthetic, SyntheticConfig, generate_synthetic
from geochem_bench.tasks.protocols import build_held_out, build_inputs, task_split

from .conftest import load_generator

ROOT = Path(__file__).resolve().parents[1]
SIMULATED = (Synthetic, Olinda)
GRID = "synthetic/all/s16/grid"
POINTS = "synthetic/cu/s16/points"


# --- folds and realisations ----------------------------------------------------------------


def test_evaluation_folds_are_realisation_major():
    task = TaskSpec("synthetic", ("Cu",), 16, "points", n_spatial_folds=5, realisations=(0, 1, 2))
    assert (task.n_folds, task.n_spatial_folds, list(task.folds)) == (15, 5, list(range(15)))
    assert [task.unit(k) for k in (0, 4, 5, 7, 14)] == [(0, 0), (0, 4), (1, 0), (1, 2), (2, 4)]
    assert all(task.fold_of(*task.unit(k)) == k for k in task.folds)
    with pytest.raises(ValueError, match=r"folds 0\.\.14, got fold 15"):
        task.unit(15)
    with pytest.raises(ValueError, match="runs on realisations"):
        task.fold_of(7, 0)
    fixed = TaskSpec("meuse", ("Zn",), 10, "points", n_spatial_folds=5)
    assert fixed.n_folds == 5 and fixed.unit(3) == (None, 3) and fixed.fold_of(None, 3) == 3
    described = task.to_dict()
    assert described["n_folds"] == 15 and described["n_spatial_folds"] == 5
    assert described["realisations"] == [0, 1, 2] and described["dev"] is False
    assert TaskInfo(**described).unit(7) == (1, 2)  # what the board reads from a record


def test_task_realisations_are_checked():
    with pytest.raises(ValueError, match="repeat"):
        TaskSpec("synthetic", ("Cu",), 8, "grid", realisations=(1, 1))
    with pytest.raises(ValueError, match=">= 0"):
        TaskSpec("synthetic", ("Cu",), 8, "grid", realisations=(-1,))
    with pytest.raises(ValueError, match="dev realisations it runs on"):
        TaskSpec("synthetic", ("Cu",), 8, "grid", dev=True)
    with pytest.raises(ValueError, match="n_folds 6 is not 5 spatial"):
        TaskInfo(**{**get_task(POINTS).to_dict(), "n_folds": 6})


def test_simulated_scenes_declare_test_and_dev_realisations():
    for cls in SCENES:
        if cls in SIMULATED:
            assert cls.test_realisations == (0, 1, 2)
            assert cls.dev_realisations == tuple(range(100, 110))
            assert all(t.realisations == cls.test_realisations for t in cls.tasks)
            # v2 moved every simulated task to version 2; the grid tasks with a linear element
            # moved on to 3 when its coherence changed definition
            assert all(int(t.version) >= 2 and not t.dev for t in cls.tasks)
        else:  # real surveys: one fixed realisation
            assert cls.test_realisations == cls.dev_realisations == ()
            assert all(not t.realisations for t in cls.tasks), cls.name


def test_dev_tasks_run_on_the_dev_realisations():
    task = get_task(f"{POINTS}/dev")
    assert task == dev_task(get_task(POINTS)) and task.dev and task.id == f"{POINTS}/dev"
    assert task.realisations == Synthetic.dev_realisations and task.n_folds == 50
    assert dev_task(task) is task
    with pytest.raises(ValueError, match="not simulated"):
        dev_task(get_task("meuse/zn/s10/points"))
    with pytest.raises(ValueError, match="these are: olinda, synthetic"):
        get_task("meuse/zn/s10/points/dev")


# --- scenes --------------------------------------------------------------------------------


def test_synthetic_realisations_differ_and_repeat():
    a = generate_synthetic(SyntheticConfig(height=64, width=64, seed=1))
    again = generate_synthetic(SyntheticConfig(height=64, width=64, seed=1))
    other = generate_synthetic(SyntheticConfig(height=64, width=64, seed=2))
    assert a.fingerprint() == again.fingerprint()
    for key in ("covariates", "truth", "points"):
        assert a.fingerprint()[key] != other.fingerprint()[key], key
    assert a.realisation == 1 and a.options["realisation"] == 1 and a.options["seed"] == 1
    # the survey's sample locations differ too: each realisation has its own split
    assert not np.array_equal(a.points.x[:20], other.points.x[:20])


def test_scene_loader_takes_a_realisation():
    scene = load_scene("synthetic", realisation=2, size=48)
    assert scene.realisation == 2 and scene.options["realisation"] == 2
    assert load_scene("synthetic", size=48).realisation == 0  # the first test realisation
    with pytest.raises(ValueError, match="realisation=3, not seed="):
        Synthetic.load(seed=3)
    with pytest.raises(ValueError, match="integer >= 0"):
        load_scene("synthetic", realisation=-1)
    with pytest.raises(ValueError, match="one fixed realisation"):
        load_scene("meuse", realisation=1)  # refused before any file is read


def test_olinda_realisations_share_the_bands_not_the_truth(fake_data):
    first = fake_data.build("olinda")
    second = fake_data.build("olinda", realisation=1)
    assert (first.realisation, second.realisation) == (0, 1)
    assert second.options == {"simulation": "olinda-v2", "realisation": 1}
    same, differ = first.fingerprint(), second.fingerprint()
    assert same["covariates"] == differ["covariates"] and same["valid"] == differ["valid"]
    assert same["truth"] != differ["truth"]
    for r in (0, 1):  # each realisation in its own folder
        assert (fake_data.root / "olinda" / f"realisation-{r}" / "manifest.json").is_file()
    assert fake_data.build("olinda", realisation=1).fingerprint() == differ


def test_olinda_draws_each_realisations_parameters_from_the_prior():
    draws = [draw_simulation(r) for r in (0, 1, 2, 100)]
    assert draw_simulation(1) == draws[1]
    for sim in draws:
        lo, hi = SIMULATION.residual_range_m
        assert lo <= sim.residual_range_m <= hi
        for element in sim.elements:
            assert SIMULATION.sigma_cells[0] <= element.sigma_cells <= SIMULATION.sigma_cells[1]
            share = SIMULATION.residual_share
            assert share[0] <= element.residual_share <= share[1]
    sigmas = {round(e.sigma_cells, 6) for sim in draws for e in sim.elements}
    assert len(sigmas) == 3 * len(draws)  # no sigma a hand-matched generator could count on


# --- folds on the right realisation --------------------------------------------------------


def test_a_fold_is_built_from_its_realisation_only():
    task = get_task(GRID)
    scene = load_fold_scene(task, 1)
    assert scene.realisation == 1
    build_inputs(scene, task, 1)
    other = load_fold_scene(task, 0)
    wrong = r"fold 1 of task .* runs on realisation 1 .* the scene given is realisation 0"
    for build in (build_inputs, build_held_out):
        with pytest.raises(ValueError, match=wrong):
            build(other, task, 1)


def test_points_split_is_per_realisation():
    task = get_task(POINTS)
    splits = [task_split(load_fold_scene(task, task.fold_of(r, 0)), task) for r in (0, 1)]
    assert not np.array_equal(splits[0].sample_ids, splits[1].sample_ids) or not np.array_equal(
        splits[0].folds, splits[1].folds
    )
    for fold in task.folds:
        scene = load_fold_scene(task, fold)
        inputs = build_inputs(scene, task, fold)
        held = build_held_out(scene, task, fold)
        split = task_split(scene, task)
        spatial = task.unit(fold)[1]
        np.testing.assert_array_equal(held.sample_ids, split.sample_ids[split.test_mask(spatial)])
        assert not np.isin(held.sample_ids, inputs.points.ids).any()


# --- runs, records, pins and the board -----------------------------------------------------


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    """bicubic on the three test realisations of the x16 grid task (inline: fast)."""
    out = tmp_path_factory.mktemp("run") / "results"
    records = evaluate(
        load_submission(ROOT / "baselines" / "bicubic"),
        [get_task(GRID)],
        RunOptions(out_dir=out, progress=False, isolation="inline"),
    )
    return out, records


def test_records_carry_their_realisation_and_its_data(grid_run):
    out, records = grid_run
    task = get_task(GRID)
    assert [r.fold for r in records] == [0, 1, 2] and all(r.status == "ok" for r in records)
    for record in records:
        scene = load_fold_scene(task, record.fold)
        assert record.realisation == record.fold == scene.realisation
        assert record.dataset.options["realisation"] == record.fold
        assert record.dataset.sha256 == scene.fingerprint()
        assert record.task.realisations == [0, 1, 2] and record.task.n_spatial_folds == 1
    assert len({r.dataset.sha256["truth"] for r in records}) == 3
    on_disk = read_result(out / "bicubic" / "1.0.0" / GRID / "fold-2.json")
    assert on_disk.realisation == 2 and on_disk.schema_version == "1.4.0"


def test_pins_and_validation_follow_the_realisation_of_each_fold(grid_run):
    _, records = grid_run
    task = get_task(GRID)
    pins = Pins(
        benchmark_version=BENCHMARK_VERSION,
        scenes={"synthetic": scene_pin(Synthetic)},
        tasks={task.id: task_pin(task)},
    )
    assert sorted(pins.scenes["synthetic"].realisations) == [0, 1, 2]
    assert len(pins.tasks[task.id].folds) == 3
    assert all(check_record(r, pins) == [] for r in records)
    swapped = records[1].model_copy(update={"realisation": 2})
    assert check_record(swapped, pins) == [
        f"fold 1 of {GRID} runs on realisation 1, the record says 2"
    ]
    other_data = records[1].model_copy(update={"dataset": records[2].dataset})
    (reason,) = check_record(other_data, pins)
    assert "its dataset is realisation 2: rerun it" in reason
    # another realisation's reference sums do not pass for this fold's either
    moved = records[1].model_copy(
        update={"fold": 2, "realisation": 2, "dataset": records[2].dataset}
    )
    reasons = check_record(moved, pins)
    assert reasons and all("official fold has" in r or "pinned bicubic" in r for r in reasons)


def test_dev_runs_never_reach_the_board(tmp_path, capsys):
    from geochem_bench.cli.main import main

    out = tmp_path / "results"
    argv = ["evaluate", "bicubic", "--tasks", GRID, "--realisations", "dev", "--out", str(out)]
    assert main([*argv, "--isolation", "inline", "--synthetic-size", "32"]) == 0
    paths = sorted((out / "bicubic" / "1.0.0" / GRID / "dev").glob("fold-*.json"))
    assert len(paths) == 10
    record = read_result(paths[3])
    assert record.task.dev and record.task.id == f"{GRID}/dev" and record.realisation == 103
    reason = record_problem(record, paths[3], out)
    assert reason is not None and "public dev realisations, for tuning" in reason
    capsys.readouterr()
    assert main([*argv[:3], "meuse/zn/s10/points", *argv[4:]]) == 2
    assert "none of the chosen tasks has dev realisations" in capsys.readouterr().err


def test_older_records_keep_their_digest():
    """Schema 1.3.0 fields at their defaults stay out of the digest verifications vouch for."""
    folder = ROOT / "leaderboard" / "v1" / "results" / "bicubic"
    report = json.loads(next(folder.glob("*/verification.json")).read_text())
    for fold in report["folds"]:
        path = next(folder.glob(f"*/{fold['task']}/fold-{fold['fold']}.json"))
        assert record_digest(read_result(path)) == fold["record_sha256"]


# --- the same bytes whatever the CPU's SIMD and BLAS kernels -------------------------------

_DIGESTS = """
import json, sys
from pathlib import Path
from geochem_bench.scenes.olinda import Olinda
from geochem_bench.scenes.synthetic import Synthetic
size, raw, realisations = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
out = {}
for r in realisations:
    out[f"synthetic {r}"] = Synthetic.load(realisation=r, size=size).fingerprint()
base = Olinda.build(Path(raw))
for r in realisations:
    out[f"olinda {r}"] = Olinda.realise(base, r).fingerprint()
print(json.dumps(out))
"""


def _kernel_settings() -> list[dict[str, str]]:
    """Environments that make numpy and OpenBLAS take other kernels on this CPU."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the kernel switches below are x86-64 feature names")
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    def available(*names: str) -> str:
        return " ".join(n for n in names if n in __cpu_dispatch__ and __cpu_features__.get(n))

    no_avx512 = available("X86_V4", "AVX512_ICL", "AVX512_SKX", "AVX512_SPR")
    settings = [{"NPY_DISABLE_CPU_FEATURES": no_avx512}] if no_avx512 else []
    no_avx2 = available("X86_V4", "AVX512_ICL", "AVX512_SKX", "AVX512_SPR", "X86_V3", "AVX2")
    if no_avx2:
        settings.append({"NPY_DISABLE_CPU_FEATURES": no_avx2, "OPENBLAS_CORETYPE": "Prescott"})
    settings.append({"OPENBLAS_CORETYPE": "Haswell"})
    return settings


def _digests(env: dict[str, str], size: int, raw: Path, realisations: list[int]) -> dict:
    environment = {**os.environ, **env}
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _DIGESTS, str(size), str(raw), json.dumps(realisations)],
        env=environment,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_simulated_scenes_are_the_same_bytes_with_other_cpu_kernels(tmp_path):
    load_generator("olinda")(tmp_path / "olinda")  # Olinda's simulation on its seeded fake
    settings = _kernel_settings()[:1]  # AVX-512 off (where present): the one seen to differ
    reference = _digests({}, 64, tmp_path, [0, 100])
    for env in settings:
        assert _digests(env, 64, tmp_path, [0, 100]) == reference, env


@pytest.mark.slow
@pytest.mark.real_data
def test_official_realisations_are_the_same_bytes_with_other_cpu_kernels():
    from .conftest import require_raw

    raw = require_raw()
    reference = _digests({}, 256, raw, [0, 1, 2, 100])
    for env in _kernel_settings():
        assert _digests(env, 256, raw, [0, 1, 2, 100]) == reference, env
