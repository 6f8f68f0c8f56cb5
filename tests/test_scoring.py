from __future__ import annotations

import numpy as np
import pytest

from geochem_bench.core.task import Prediction
from geochem_bench.evaluation.scoring import (
    InvalidPrediction,
    error_blocks,
    score_fold,
    validate_prediction,
)
from geochem_bench.models.upsampling import upsample_lowres
from geochem_bench.scenes.registry import get_task
from geochem_bench.tasks.protocols import build_fold


@pytest.fixture()
def grid_fold(scene):
    return build_fold(scene, get_task("synthetic/all/s8/grid"), 0)


def test_perfect_prediction_scores_perfectly(grid_fold):
    inputs, held_out = grid_fold
    truth = np.nan_to_num(held_out.truth, nan=1.0).astype(np.float32)
    table = score_fold(
        inputs, held_out, validate_prediction(truth, inputs), upsample_lowres(inputs)
    )
    for symbol in ("Cu", "Fe"):
        row = table[symbol]
        assert (
            row["rmse"] == 0
            and row["r2"] == pytest.approx(1.0)
            and row["skill"] == pytest.approx(1.0)
        )
        assert row["psnr"] is None  # infinite PSNR is recorded as null
        assert row["ssim"] == pytest.approx(1.0)
        assert row["coherence"] == pytest.approx(0.0, abs=1e-6)
        assert row["n"] == inputs.valid.sum()
    assert table["overall"]["ergas"] == pytest.approx(0.0)


def test_reference_scores_zero_skill_and_log_space(grid_fold):
    inputs, held_out = grid_fold
    ref = upsample_lowres(inputs)
    table = score_fold(inputs, held_out, validate_prediction(ref, inputs), ref)
    assert table["Cu"]["skill"] == pytest.approx(0.0)
    t = np.log10(held_out.truth[0][inputs.valid])
    p = np.log10(ref[0][inputs.valid].astype(np.float64))
    assert table["Cu"]["rmse"] == pytest.approx(np.sqrt(np.mean((t - p) ** 2)), rel=1e-6)
    fe = inputs.elements[5]
    assert fe.analysis_space == "linear"
    t = held_out.truth[5][inputs.valid].astype(np.float64)
    assert table["Fe"]["rmse"] == pytest.approx(
        np.sqrt(np.mean((t - ref[5][inputs.valid]) ** 2)), rel=1e-6
    )


def test_std_adds_probabilistic_scores(scene):
    inputs, held_out = build_fold(scene, get_task("synthetic/cu/s16/points"), 0)
    ref = upsample_lowres(inputs)
    std = np.full_like(ref, 0.5)
    table = score_fold(inputs, held_out, validate_prediction(Prediction(ref, std), inputs), ref)
    assert table["Cu"]["crps"] > 0 and 0 <= table["Cu"]["coverage_90"] <= 1
    assert "ssim" not in table["Cu"]  # grid-only metrics are absent for point tasks


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda a: a.astype(np.float64), "float32"),
        (lambda a: a[:, :-1], "shape"),
        (lambda a: np.where(np.ones_like(a, bool), np.nan, a).astype(np.float32), "NaN/inf"),
        (lambda a: -a, "non-positive"),
        (lambda a: a.tolist(), "numpy array"),
    ],
)
def test_invalid_predictions_are_explained(grid_fold, mutate, message):
    inputs, _ = grid_fold
    with pytest.raises(InvalidPrediction, match=message):
        validate_prediction(mutate(upsample_lowres(inputs)), inputs)


def test_nan_off_the_valid_mask_is_fine(grid_fold):
    inputs, _ = grid_fold
    pred = upsample_lowres(inputs)
    assert np.isnan(pred[:, ~inputs.valid]).all()
    validate_prediction(pred, inputs)


def test_nan_in_held_out_truth_is_skipped(scene):
    import dataclasses

    inputs, held_out = build_fold(scene, get_task("synthetic/cu/s16/points"), 0)
    values = held_out.values.copy()
    values[:5, 0] = np.nan  # e.g. samples not analysed for Cu
    partial = dataclasses.replace(held_out, values=values)
    ref = upsample_lowres(inputs)
    full = score_fold(inputs, held_out, validate_prediction(ref, inputs), ref)["Cu"]
    some = score_fold(inputs, partial, validate_prediction(ref, inputs), ref)["Cu"]
    assert some["n"] == full["n"] - 5
    t, _p = partial.pairs(ref, 0)
    assert np.isfinite(t).all() and t.size == some["n"]


@pytest.mark.parametrize(
    ("task_id", "edge"), [("synthetic/all/s8/grid", 32), ("synthetic/cu/s16/points", None)]
)
def test_error_blocks_sum_to_the_recorded_rmse(scene, task_id, edge):
    inputs, held_out = build_fold(scene, get_task(task_id), 0)
    ref = upsample_lowres(inputs, "bicubic")
    prediction = validate_prediction(upsample_lowres(inputs, "bilinear"), inputs)
    table = score_fold(inputs, held_out, prediction, ref)
    blocks = error_blocks(inputs, held_out, prediction, ref)
    for symbol, b in blocks.items():
        assert b.block_edge_cells == edge
        n = sum(b.n)
        assert n == table[symbol]["n"]
        assert np.sqrt(sum(b.sse) / n) == pytest.approx(table[symbol]["rmse"], rel=1e-9)
        assert np.sqrt(sum(b.sse_reference) / n) == pytest.approx(
            table[symbol]["rmse_reference"], rel=1e-9
        )
    if edge is not None:  # 256 / 32 = 8 blocks a side, minus blocks wholly under the lake
        assert 1 < len(blocks["Cu"].n) <= 64 and max(blocks["Cu"].n) == 32 * 32
    else:
        assert set(blocks["Cu"].n) == {1}


def test_bicubic_is_measurably_incoherent(grid_fold):
    """Bicubic interpolation does not keep block means: its coherence error is > 0."""
    inputs, held_out = grid_fold
    reference = upsample_lowres(inputs)
    table = score_fold(inputs, held_out, validate_prediction(reference, inputs), reference)
    for symbol in ("Cu", "Fe"):
        assert table[symbol]["coherence"] > 1e-3, symbol
