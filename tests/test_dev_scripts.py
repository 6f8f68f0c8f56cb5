"""The maintainers' dev-realisation scripts under benchmarks/ still run on today's code.

The CNN's tuning script once broke silently when tasks learned their realisations (it built
folds of a test-realisation task on a dev scene); these smoke tests catch that.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def benchmarks_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))


def test_cnn_dev_skill_runs_on_a_dev_realisation(benchmarks_on_path):
    from tune_fusion_cnn_dev import dev_skill

    skill = dev_skill("synthetic/cu/s16/points", 100, 0, {"steps": 2, "finetune_steps": 1})
    assert math.isfinite(skill)


def test_cnn_dev_skill_refuses_a_test_realisation_when_called_directly(benchmarks_on_path):
    from tune_fusion_cnn_dev import dev_skill

    from geochem_bench.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="not a dev realisation"):
        dev_skill("synthetic/cu/s16/points", 0, 0, {"steps": 2, "finetune_steps": 1})


@pytest.mark.parametrize(
    "script",
    [
        "tune_fusion_cnn_dev.py",
        "subblock_variance_dev.py",
        "atpk_dev.py",
        "fusion_cnn_oof_stride_dev.py",
    ],
)
def test_dev_scripts_refuse_test_realisations(script):
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--realisations", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 2
    assert "dev realisations" in run.stderr


def test_atpk_dev_scores_a_model_on_a_dev_realisation(benchmarks_on_path):
    from atpk_dev import dev_scores

    from geochem_bench.errors import InvalidInputError
    from geochem_bench.models.area_to_point import AreaToPointKriging

    scores = dev_scores("synthetic/all/s16/grid", 100, AreaToPointKriging(radius=1))
    assert set(scores) == {"skill", "abs_bias", "coherence"}
    assert math.isfinite(scores["skill"]) and scores["coherence"] >= 0
    with pytest.raises(InvalidInputError, match="not a dev realisation"):
        dev_scores("synthetic/all/s16/grid", 0, AreaToPointKriging(radius=1))


def test_subblock_script_prints_every_log_element(benchmarks_on_path, capsys, monkeypatch):
    import subblock_variance_dev

    monkeypatch.setattr(sys, "argv", ["x", "--realisations", "100", "--scales", "16"])
    subblock_variance_dev.main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("realisation scale element")
    assert {line.split()[2] for line in lines[1:]} == {"Cu", "Zn", "Pb", "Ni", "As"}
    for line in lines[1:]:
        assert 0.0 < float(line.split()[3]) < 1.0  # a log10 variance within a block


def test_grid_headroom_oracle_finds_covariate_signal_and_runs_on_a_scene(
    benchmarks_on_path, fake_data, capsys
):
    """The oracle recovers a residual that is linear in a covariate, and the script runs."""
    import grid_headroom
    import numpy as np

    from geochem_bench.evaluation.reference import reference_prediction
    from geochem_bench.scenes.registry import get_task
    from geochem_bench.tasks.protocols import build_fold

    scene = fake_data.build("sir-samuel-radiometrics")
    inputs, held_out = build_fold(scene, get_task("sir-samuel-radiometrics/all/s8/grid"), 0)
    reference = reference_prediction(inputs)
    tpi = np.nan_to_num(inputs.covariates[scene.band_names.index("tpi_300")])
    truth = reference + 0.05 * tpi  # a residual the covariates explain exactly
    _, explained = grid_headroom.oracle_prediction(inputs, truth, reference)
    assert explained == pytest.approx([1.0, 1.0], abs=1e-6)
    _, explained = grid_headroom.oracle_prediction(inputs, held_out.truth, reference)
    assert all(0.0 <= r2 < 1.0 for r2 in explained)  # the fake's residual is not linear
    grid_headroom.main(["sir-samuel-radiometrics", "--root", str(fake_data.root)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("task element space rmse_bicubic")
    assert [line.split()[:2] for line in lines[1:]] == [
        [f"sir-samuel-radiometrics/all/s{s}/grid", e] for s in (4, 8, 16) for e in ("K", "U")
    ]
    with pytest.raises(SystemExit):
        grid_headroom.main(["olinda"])  # simulated: measured on dev realisations only
    with pytest.raises(SystemExit):
        grid_headroom.main(["olinda", "--realisations", "0"])  # a test realisation
    with pytest.raises(SystemExit):
        grid_headroom.main(["sir-samuel-radiometrics", "--realisations", "100"])


def test_grid_headroom_runs_on_a_dev_realisation_of_a_simulated_scene(benchmarks_on_path, capsys):
    """On the synthetic scene the bound is averaged over the folds of dev realisations."""
    import grid_headroom

    rows = list(grid_headroom.headroom_rows("synthetic", [100]))
    folds = {(r["task"], r["fold"]) for r in rows}
    assert {task for task, _ in folds} == {f"synthetic/all/s{s}/grid" for s in (4, 8, 16)}
    assert all(r["skill_oracle"] >= -1e-9 for r in rows)
    means = grid_headroom.fold_means(rows)
    assert len(means) == len({(r["task"], r["element"]) for r in rows})
    assert all(m["folds"] == len(folds) // 3 for m in means)


@pytest.mark.parametrize("name", ["sir-samuel-radiometrics", "lapland-radiometrics"])
def test_grid_headroom_oracle_never_loses_to_bicubic(benchmarks_on_path, fake_data, name):
    """A zero correction is one of the oracle's fits, so its skill is never below 0."""
    import grid_headroom

    from geochem_bench.scenes.registry import scenes

    fake_data.build(name)
    rows = list(grid_headroom.headroom_rows(name, root=fake_data.root))
    assert rows and {row["task"] for row in rows} == {t.id for t in scenes()[name].tasks}
    for row in rows:
        assert row["skill_oracle"] >= -1e-9 and row["skill_oracle_detail"] >= -1e-9, row
        assert row["skill_oracle_detail"] >= row["skill_oracle"] - 1e-9  # more regressors
        assert 0.0 <= row["r2_truth"] <= 1.0 + 1e-9


def test_cnn_ablation_bootstrap_pairs_the_same_blocks(benchmarks_on_path):
    """Identical runs differ by exactly 0 in every replicate; a better map scores higher."""
    import numpy as np
    from tune_fusion_cnn_dev import bootstrap_skill

    rng = np.random.default_rng(0)
    ref = rng.uniform(1.0, 2.0, size=(2, 16))
    run = {"sse": 0.5 * ref, "sse_ref": ref, "n": np.ones((2, 16))}
    better = {"sse": 0.25 * ref, "sse_ref": ref, "n": np.ones((2, 16))}
    draws = [rng.integers(0, 16, size=(50, 16))]
    same = bootstrap_skill([run], draws) - bootstrap_skill([run], draws)
    assert np.array_equal(same, np.zeros(50))
    # skill = 1 - sqrt(sse / sse_ref): 1 - sqrt(0.5) and 1 - sqrt(0.25) in every replicate
    np.testing.assert_allclose(bootstrap_skill([run], draws), 1 - np.sqrt(0.5))
    assert (bootstrap_skill([better], draws) > bootstrap_skill([run], draws)).all()
