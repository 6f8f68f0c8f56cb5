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


@pytest.mark.parametrize("script", ["tune_fusion_cnn_dev.py", "subblock_variance_dev.py"])
def test_dev_scripts_refuse_test_realisations(script):
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--realisations", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 2
    assert "dev realisations" in run.stderr


def test_subblock_script_prints_every_log_element(benchmarks_on_path, capsys, monkeypatch):
    import subblock_variance_dev

    monkeypatch.setattr(sys, "argv", ["x", "--realisations", "100", "--scales", "16"])
    subblock_variance_dev.main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("realisation scale element")
    assert {line.split()[2] for line in lines[1:]} == {"Cu", "Zn", "Pb", "Ni", "As"}
    for line in lines[1:]:
        assert 0.0 < float(line.split()[3]) < 1.0  # a log10 variance within a block


def test_headroom_oracle_never_loses_to_bicubic(benchmarks_on_path):
    """A least-squares fit of the bicubic residual on the covariates: 0 is one of the fits."""
    from headroom_oracle import oracle_fold

    from geochem_bench.scenes.registry import get_task

    task = get_task("synthetic/all/s16/grid/dev")
    for detail in (False, True):
        table = oracle_fold(task, 0, detail)
        skills = [table[e]["skill"] for e in task.elements]
        assert all(s is not None and s >= -1e-12 for s in skills), skills
        assert table["overall"]["skill"] > 0.01  # the synthetic truth follows its covariates


def test_headroom_oracle_refuses_test_realisations():
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "headroom_oracle.py"), "synthetic/all/s16/grid"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 2
    assert "refusing test realisations" in run.stderr
