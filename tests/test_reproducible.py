"""Rounding to significant digits with arithmetic that is the same on every CPU."""

from __future__ import annotations

import numpy as np
import pytest

from geochem_bench.data import reproducible
from geochem_bench.data.reproducible import round_significant, stable_float32


def test_rounds_like_the_decimal_formatter():
    rng = np.random.default_rng(0)
    values = rng.lognormal(0.0, 8.0, 20_000) * rng.choice([-1.0, 1.0], 20_000)
    expected = np.array([float(f"{v:.6g}") for v in values])
    np.testing.assert_array_equal(round_significant(values, 6), expected)
    assert round_significant(np.array([123.456789]), 3)[0] == 123.0
    assert round_significant(np.array([99999.95]), 6)[0] == 100000.0  # carries into a digit


def test_keeps_what_has_no_significant_digits_to_round():
    values = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 3e-310, 1e305])
    out = round_significant(values)
    np.testing.assert_array_equal(out[[0, 1, 3, 4, 5, 6]], values[[0, 1, 3, 4, 5, 6]])
    assert np.isnan(out[2])


def test_input_is_not_changed_and_shape_is_kept(monkeypatch):
    monkeypatch.setattr(reproducible, "_CHUNK", 7)  # several chunks, one ragged
    values = np.linspace(0.1, 50.0, 60).reshape(3, 4, 5)
    copy = values.copy()
    out = stable_float32(values)
    assert out.shape == values.shape and out.dtype == np.float32
    np.testing.assert_array_equal(values, copy)
    np.testing.assert_array_equal(out, round_significant(copy).astype(np.float32))


def test_digits_are_checked():
    with pytest.raises(ValueError, match=r"in 1\.\.17, got 0"):
        round_significant(np.ones(2), 0)
