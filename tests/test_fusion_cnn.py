"""The reference fusion CNN: runs on every protocol, deterministically, saves hashed weights."""

from __future__ import annotations

import hashlib
import json

import pytest

from geochem_bench.cli.main import main
from geochem_bench.core.task import TaskSpec
from geochem_bench.evaluation.executors import evaluate
from geochem_bench.evaluation.harness import RunOptions

TINY = {"steps": 3, "finetune_steps": 2, "batch": 2, "fine_crop": 32}


@pytest.mark.parametrize("protocol", ["grid", "points", "transfer"])
def test_fusion_cnn_smoke(tmp_path, protocol):
    from geochem_bench.evaluation.submission import Submission

    n_folds = 1 if protocol == "grid" else 2
    task = TaskSpec(
        "synthetic", ("Cu",), 16, protocol, n_spatial_folds=n_folds, target_fraction=0.5
    )
    sub = Submission(
        name="cnn",
        version="test",
        model="geochem_bench.models.fusion_cnn:FusionCNN",
        params=TINY,
    )
    first = evaluate(sub, [task], RunOptions(tmp_path / "a", progress=False))
    second = evaluate(sub, [task], RunOptions(tmp_path / "b", progress=False))
    assert all(r.status == "ok" for r in first), [r.failure for r in first]
    assert [r.metrics for r in first] == [r.metrics for r in second]  # seeded and deterministic


def test_train_cnn_writes_hashed_weights(tmp_path):
    config = tmp_path / "cnn.toml"
    config.write_text("[params]\n" + "\n".join(f"{k} = {v}" for k, v in TINY.items()) + "\n")
    out = tmp_path / "weights"
    assert (
        main(
            [
                *("train-cnn", "synthetic/all/s16/grid", "--out", str(out)),
                *("--config", str(config), "--accelerator", "cpu", "--devices", "1"),
                *("--strategy", "auto"),
            ]
        )
        == 0
    )
    meta = json.loads((out / "weights.json").read_text())
    assert meta["task"] == "synthetic/all/s16/grid" and meta["config"]["steps"] == 3
    assert set(meta["sha256"]) == {f"{el}.pt" for el in ("Cu", "Zn", "Pb", "Ni", "As", "Fe")}
    for name, digest in meta["sha256"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


def test_predict_needs_fit():
    from geochem_bench.models.fusion_cnn import FusionCNN
    from geochem_bench.scenes.registry import get_task, load_scene
    from geochem_bench.tasks.protocols import build_fold

    inputs, _ = build_fold(load_scene("synthetic"), get_task("synthetic/all/s16/grid"), 0)
    with pytest.raises(RuntimeError, match="fit"):
        FusionCNN().predict(inputs)
