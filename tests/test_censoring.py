"""Censored ("below the detection limit") values: kept, trained on at half the limit, scored.

A censored held-out value with limit ``L`` scores a prediction ``p <= L`` as exact and one
above as wrong by ``p - L`` (``HeldOut.pairs``); each fold's metric row counts them
(``n_censored``). The make-task side (``<0.5`` codes) is in ``test_survey_inputs.py``, the
leakage side (held-out limits never reach a model) in ``test_leakage.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from geochem_bench.core.samples import Samples, half_limit
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import HeldOut
from geochem_bench.errors import InvalidInputError
from geochem_bench.evaluation.scoring import (
    ROW_ORDER,
    error_blocks,
    score_fold,
    validate_prediction,
)
from geochem_bench.models.upsampling import upsample_lowres
from geochem_bench.scenes.registry import get_task
from geochem_bench.tasks.protocols import build_fold, build_held_out, task_split

NAN = np.nan


def _held_out(values: list[float], limits: list[float]) -> HeldOut:
    """One element, M samples on the cells (0, 0..M-1) of a 1 x M grid."""
    m = len(values)
    return HeldOut(
        rows=np.zeros(m, dtype=np.intp),
        cols=np.arange(m, dtype=np.intp),
        values=np.array(values, dtype=np.float64)[:, None],
        sample_ids=np.arange(m, dtype=np.int64),
        limits=np.array(limits, dtype=np.float64)[:, None],
    )


def _field(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)[None, None, :]


# --- the rule --------------------------------------------------------------------------------


def test_a_prediction_at_or_below_the_limit_counts_as_exact():
    held = _held_out([0.25, 0.25, 0.25, 3.0], [0.5, 0.5, 0.5, NAN])
    truth, predicted = held.pairs(_field(0.01, 0.3, 0.5, 2.0), 0)
    np.testing.assert_array_equal(truth, [0.5, 0.5, 0.5, 3.0])  # the limit, not L/2
    errors = predicted - truth
    np.testing.assert_allclose(errors[:3], 0.0)  # at or below the limit: exact
    assert errors[3] == pytest.approx(-1.0)  # an uncensored value is scored as always


def test_a_prediction_above_the_limit_is_wrong_by_its_distance_to_the_limit():
    held = _held_out([0.25, 5.0], [0.5, NAN])
    truth, predicted = held.pairs(_field(2.0, 5.0), 0)
    assert predicted[0] - truth[0] == pytest.approx(1.5)  # 2.0 against 0.5, not against 0.25
    assert np.log10(predicted[0]) - np.log10(truth[0]) == pytest.approx(np.log10(4.0))
    assert predicted[1] == truth[1] == 5.0


def test_other_fields_are_read_as_they_are_and_only_scored_censored_values_count():
    held = _held_out([0.25, NAN, 4.0, 0.5], [0.5, NAN, NAN, 1.0])
    std = _field(0.1, 0.2, 0.3, 0.4)
    np.testing.assert_allclose(held.scored(std, 0), [0.1, 0.3, 0.4])  # no limit applied
    assert held.n_censored(0) == 2
    assert held.censoring_row(0) == {"n_censored": 2.0}
    grid = HeldOut(truth=np.ones((1, 2, 2), dtype=np.float32))
    assert grid.censoring_row(0) == {} and grid.n_censored(0) == 0


# --- scoring a fold ----------------------------------------------------------------------------


def _censored_fold(scene: Scene):
    """A synthetic points fold whose low held-out Cu values are censored at 1.5 x their value."""
    inputs, held_out = build_fold(scene, get_task("synthetic/cu/s16/points"), 0)
    values = held_out.values.copy()
    low = values[:, 0] < np.quantile(values[:, 0], 0.3)
    limits = np.full_like(values, np.nan)
    limits[low, 0] = values[low, 0] * 1.5
    censored = dataclasses.replace(held_out, values=half_limit(values, limits), limits=limits)
    return inputs, censored, low


def test_score_fold_scores_and_counts_censored_held_out_values(scene):
    inputs, held_out, low = _censored_fold(scene)
    ref = upsample_lowres(inputs, "bicubic")
    prediction = validate_prediction(upsample_lowres(inputs, "bilinear"), inputs)
    row = score_fold(inputs, held_out, prediction, ref)["Cu"]
    assert row["n"] == len(held_out.values)  # censored values are scored, not dropped
    assert row["n_censored"] == low.sum() > 0
    assert list(row)[:2] == ["n", "n_censored"] == list(ROW_ORDER[:2])
    limit = held_out.limits[:, 0]
    cells = (held_out.rows, held_out.cols)

    def rmse(field: np.ndarray) -> float:
        p = field[0][cells].astype(np.float64)
        t = np.where(low, limit, held_out.values[:, 0])
        p = np.where(low, np.maximum(p, limit), p)  # at or below the limit: exact
        return float(np.sqrt(np.mean((np.log10(p) - np.log10(t)) ** 2)))

    assert row["rmse"] == pytest.approx(rmse(prediction.mean), rel=1e-9)
    # the bicubic reference is scored with the same rule, so skill compares like with like
    assert row["rmse_reference"] == pytest.approx(rmse(ref), rel=1e-9)
    blocks = error_blocks(inputs, held_out, prediction, ref)["Cu"]
    assert np.sqrt(sum(blocks.sse) / sum(blocks.n)) == pytest.approx(row["rmse"], rel=1e-9)
    assert np.sqrt(sum(blocks.sse_reference) / sum(blocks.n)) == pytest.approx(
        row["rmse_reference"], rel=1e-9
    )


def test_a_prediction_below_every_limit_is_exact_on_the_censored_values(scene):
    inputs, held_out, low = _censored_fold(scene)
    exact = np.full(inputs.output_shape, 1e-3, dtype=np.float32)  # far below every limit
    exact[0][held_out.rows[~low], held_out.cols[~low]] = held_out.values[~low, 0]
    row = score_fold(inputs, held_out, validate_prediction(exact, inputs), exact)["Cu"]
    assert row["rmse"] == pytest.approx(0.0, abs=1e-6) and row["n_censored"] == low.sum()


def test_grid_rows_have_no_censoring_count(scene):
    inputs, held_out = build_fold(scene, get_task("synthetic/all/s8/grid"), 0)
    ref = upsample_lowres(inputs)
    table = score_fold(inputs, held_out, validate_prediction(ref, inputs), ref)
    assert "n_censored" not in table["Cu"]


# --- the samples table -----------------------------------------------------------------------


def _samples(limits: np.ndarray | None = None) -> Samples:
    values = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    if limits is not None:
        values = half_limit(values, limits)
    return Samples(
        ids=np.array([1, 2, 3]),
        x=np.zeros(3),
        y=np.zeros(3),
        values=values,
        elements=("Cu", "Zn"),
        limits=limits,
    )


def test_censored_values_hold_half_their_limit():
    limits = np.array([[NAN, 0.5], [NAN, NAN], [2.0, NAN]])
    samples = _samples(limits)
    assert samples.values[0, 1] == 0.25 and samples.values[2, 0] == 1.0
    np.testing.assert_array_equal(samples.censored, np.isfinite(limits))
    with pytest.raises(InvalidInputError, match="half_limit"):
        dataclasses.replace(samples, values=np.ones((3, 2)))
    with pytest.raises(InvalidInputError, match="must be > 0"):
        _samples(np.array([[NAN, -1.0], [NAN, NAN], [NAN, NAN]]))
    with pytest.raises(InvalidInputError, match="shape of values"):
        dataclasses.replace(samples, limits=np.ones((3, 1)))
    assert _samples(np.full((3, 2), NAN)).limits is None  # "nothing censored" has one spelling
    assert not _samples().censored.any()


def test_subsets_carry_limits_and_hidden_values_hide_them():
    samples = _samples(np.array([[NAN, 0.5], [NAN, NAN], [2.0, NAN]]))
    assert samples.subset(np.array([True, False, False])).limits[0, 1] == 0.5
    assert samples.subset(np.array([False, True, False])).limits is None
    hidden = samples.with_hidden(("Zn",), np.array([True, False, False]))
    assert np.isnan(hidden.values[0, 1]) and hidden.limits[2, 0] == 2.0
    assert not hidden.censored[0, 1]
    assert samples.with_hidden(("Cu", "Zn"), np.ones(3, dtype=bool)).limits is None


def test_limits_survive_the_store_and_enter_the_fingerprint(scene, tmp_path):
    from geochem_bench.data.store import read_scene, write_scene

    points = scene.points
    limits = np.full(points.values.shape, np.nan)
    limits[:7, 0] = 0.3
    censored = dataclasses.replace(points, values=half_limit(points.values, limits), limits=limits)
    with_limits = dataclasses.replace(scene, points=censored, _fingerprint=None)
    write_scene(with_limits, tmp_path / "s")
    back = read_scene(tmp_path / "s")
    np.testing.assert_array_equal(back.points.limits, limits)
    np.testing.assert_array_equal(back.points.values, censored.values)
    assert back.fingerprint() == with_limits.fingerprint()
    moved = limits.copy()
    moved[:7, 0] = 0.4
    other = dataclasses.replace(censored, values=half_limit(points.values, moved), limits=moved)
    assert (
        dataclasses.replace(scene, points=other, _fingerprint=None).fingerprint()["points"]
        != with_limits.fingerprint()["points"]
    )
    # a survey without censored values keeps its digest and its files
    write_scene(scene, tmp_path / "plain")
    assert read_scene(tmp_path / "plain").points.limits is None
    assert read_scene(tmp_path / "plain").fingerprint() == scene.fingerprint()


def test_held_out_limits_come_from_the_scene_and_inputs_show_training_limits(scene):
    task = get_task("synthetic/cu/s16/points")
    split = task_split(scene, task)
    points = scene.points
    limits = np.full(points.values.shape, np.nan)
    cu = points.index("Cu")
    limits[::3, cu] = points.values[::3, cu] * 2  # every third sample censored
    censored = dataclasses.replace(
        scene,
        points=dataclasses.replace(points, values=half_limit(points.values, limits), limits=limits),
        _fingerprint=None,
    )
    inputs, held_out = build_fold(censored, task, 0, split=split)
    test = split.test_mask(0)
    np.testing.assert_array_equal(held_out.limits[:, 0], limits[test, cu])
    assert held_out.n_censored(0) == np.isfinite(limits[test, cu]).sum() > 0
    np.testing.assert_array_equal(inputs.points.limits, limits[~test])  # training limits
    assert build_held_out(scene, task, 0, split=split).limits is None  # uncensored scene


def test_the_canary_decoy_keeps_censored_values_censored(scene):
    from geochem_bench.evaluation.canary import noisy_scene

    points = scene.points
    limits = np.full(points.values.shape, np.nan)
    limits[::4, 0] = 1.0
    censored = dataclasses.replace(
        scene,
        points=dataclasses.replace(points, values=half_limit(points.values, limits), limits=limits),
        _fingerprint=None,
    )
    decoy = noisy_scene(censored, seed=3).points
    assert decoy.limits is not None  # the invariant value = limit / 2 held (or it would raise)
    assert decoy.censored.sum() == np.isfinite(limits).sum()
    assert not np.array_equal(decoy.limits, limits, equal_nan=True)
