from __future__ import annotations

import numpy as np
import pytest

from geochem_bench.tasks.splits import SampleSplit, spatial_block_kfold


def make_points(rng, n=400):
    x = rng.uniform(0, 10_000, n)
    y = rng.uniform(-10_000, 0, n)
    return np.arange(n, dtype=np.int64), x, y


def test_split_is_deterministic_and_balanced(rng):
    ids, x, y = make_points(rng)
    a = spatial_block_kfold(ids, x, y, n_folds=5, block_size=1000.0, origin=(0.0, 0.0), seed=3)
    b = spatial_block_kfold(ids, x, y, n_folds=5, block_size=1000.0, origin=(0.0, 0.0), seed=3)
    np.testing.assert_array_equal(a.folds, b.folds)
    counts = np.bincount(a.folds, minlength=5)
    assert counts.sum() == 400 and counts.max() - counts.min() <= 12
    c = spatial_block_kfold(ids, x, y, n_folds=5, block_size=1000.0, origin=(0.0, 0.0), seed=4)
    assert not np.array_equal(a.folds, c.folds)


def test_whole_blocks_go_to_one_fold(rng):
    ids, x, y = make_points(rng)
    split = spatial_block_kfold(ids, x, y, n_folds=4, block_size=2500.0, origin=(0.0, 0.0), seed=0)
    block = np.floor(x / 2500).astype(int) * 100 + np.floor(-y / 2500).astype(int)
    for b in np.unique(block):
        assert len(np.unique(split.folds[block == b])) == 1
    for f in range(4):
        assert (split.train_mask(f) ^ split.test_mask(f)).all()


def test_save_and_load_round_trip(tmp_path, rng):
    ids, x, y = make_points(rng, 50)
    split = spatial_block_kfold(ids, x, y, n_folds=3, block_size=2000.0, origin=(0.0, 0.0), seed=1)
    split.save(tmp_path / "split.json")
    loaded = SampleSplit.load(tmp_path / "split.json")
    np.testing.assert_array_equal(loaded.folds, split.folds)
    np.testing.assert_array_equal(loaded.sample_ids, split.sample_ids)
    assert loaded.n_folds == 3 and loaded.method == "spatial-block"
    assert loaded.params == {"block_size": 2000.0, "origin": [0.0, 0.0], "seed": 1}
    assert not list(tmp_path.glob("*.tmp"))


def test_errors_say_what_to_do(tmp_path, rng):
    ids, x, y = make_points(rng, 20)
    with pytest.raises(ValueError, match="fewer than the 5 folds"):
        spatial_block_kfold(ids, x, y, n_folds=5, block_size=20_000.0, origin=(0.0, 0.0), seed=0)
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(ValueError, match="not a geochem-bench split file"):
        SampleSplit.load(tmp_path / "bad.json")
    split = spatial_block_kfold(ids, x, y, n_folds=2, block_size=2000.0, origin=(0.0, 0.0), seed=0)
    with pytest.raises(ValueError, match=r"fold must be in 0\.\.1"):
        split.test_mask(2)


def test_fixed_split_holds_out_given_ids():
    split = SampleSplit.fixed(np.arange(10), np.array([2, 5]), "official validation set")
    assert split.n_folds == 1 and split.method == "official"
    np.testing.assert_array_equal(np.flatnonzero(split.test_mask(0)), [2, 5])
    assert split.train_mask(0).sum() == 8
