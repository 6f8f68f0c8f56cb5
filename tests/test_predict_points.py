"""The optional ``predict_points`` hook: scored at the held-out sites, checked like predict."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from geochem_bench.core.task import HeldOut
from geochem_bench.evaluation.harness import RunOptions, run_fold
from geochem_bench.evaluation.records import ResultRecord, record_digest
from geochem_bench.evaluation.submission import load_submission
from geochem_bench.scenes.registry import get_task, load_fold_scene
from geochem_bench.tasks.protocols import build_held_out, held_out_sites, task_split

SITE_MODELS = Path(__file__).with_name("site_models.py")
POINTS = "synthetic/cu/s16/points"
TRANSFER = "synthetic/cu/s16/transfer"
GRID = "synthetic/all/s16/grid"


def run(tmp_path: Path, model: str, task: str = POINTS, fold: int = 0, **kw) -> ResultRecord:
    options = RunOptions(out_dir=tmp_path / "results", progress=False, **kw)
    return run_fold(load_submission(f"{SITE_MODELS}:{model}"), get_task(task), fold, options)


@pytest.mark.parametrize("isolation", ["process", "inline"])
@pytest.mark.parametrize("task", [POINTS, TRANSFER])
def test_a_constant_scores_the_same_at_the_sites_as_on_the_cells(tmp_path, isolation, task):
    cells = run(tmp_path / "cells", "ConstantOnCells", task, isolation=isolation)
    sites = run(tmp_path / "sites", "ConstantAtSites", task, isolation=isolation)
    assert cells.status == sites.status == "ok"
    assert cells.scored_at == "cells" and sites.scored_at == "sites"
    assert sites.metrics == cells.metrics
    assert sites.errors == cells.errors


def test_std_at_the_sites_is_scored(tmp_path):
    record = run(tmp_path, "ConstantAtSitesWithStd", isolation="process")
    assert record.status == "ok" and record.scored_at == "sites"
    assert record.metrics["Cu"]["crps"] is not None
    assert record.metrics["Cu"]["coverage_90"] is not None


def test_the_hook_is_not_called_on_grid_tasks_and_none_means_cells(tmp_path):
    grid = run(tmp_path / "grid", "ConstantAtSites", GRID, isolation="inline")
    declined = run(tmp_path / "declined", "DeclinesTheHook", isolation="inline")
    assert grid.status == declined.status == "ok"
    assert grid.scored_at == declined.scored_at == "cells"


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("SitesAsMap", "shape"),
        ("SitesNaN", "NaN/inf"),
        ("SitesInf", "NaN/inf"),
        ("SitesNegative", "non-positive concentrations of Cu"),
        ("SitesFloat64", "float32"),
        ("SitesList", "numpy array"),
        ("SitesHuge", "over the .* byte limit"),  # refused before it is read
        ("SitesBadStd", "std must be finite and >= 0"),
    ],
)
def test_bad_site_values_are_refused(tmp_path, model, message):
    record = run(tmp_path, model, isolation="process")
    assert record.status == "failed" and record.metrics is None
    assert record.failure.kind == "invalid_prediction"
    assert re.search(message, record.failure.message)
    assert "predict_points" in record.failure.message
    assert record.scored_at == "cells"


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("SitesAsMap", "shape"),
        ("SitesHuge", "shape"),
        ("SitesNaN", "NaN/inf"),
        ("SitesList", "numpy array"),
    ],
)
def test_bad_site_values_are_refused_inline_too(tmp_path, model, message):
    record = run(tmp_path, model, isolation="inline")
    assert record.status == "failed" and record.failure.kind == "invalid_prediction"
    assert message in record.failure.message and "predict_points" in record.failure.message


@pytest.mark.parametrize("task", [POINTS, TRANSFER])
def test_the_hook_gets_the_sites_coordinates_and_no_held_out_value(tmp_path, task, monkeypatch):
    spec = get_task(task)
    fold = 2
    saved = tmp_path / "seen.npz"
    monkeypatch.setenv("SITE_RECORDER", str(saved))
    record = run(tmp_path, "Recorder", task, fold, isolation="inline")
    assert record.status == "ok" and record.scored_at == "sites"
    with np.load(saved) as seen:
        xy, seen_ids, target = seen["xy"], seen["ids"], seen["target"]
    scene = load_fold_scene(spec, fold)
    split = task_split(scene, spec)
    test = split.test_mask(spec.unit(fold)[1])
    # exactly the held-out sites, in the held-out values' order
    assert xy.shape == (int(test.sum()), 2) and xy.dtype == np.float64
    assert np.array_equal(xy, np.column_stack([scene.points.x[test], scene.points.y[test]]))
    assert np.array_equal(xy, held_out_sites(scene, spec, fold, split=split))
    held = build_held_out(scene, spec, fold, split=split)
    rows, cols = scene.grid.cell_of(xy[:, 0], xy[:, 1])
    assert np.array_equal(rows, held.rows) and np.array_equal(cols, held.cols)
    # and the inputs still hold no held-out value of the target
    ids = set(scene.points.ids[test].tolist())
    if spec.protocol == "points":
        assert ids.isdisjoint(seen_ids.tolist())
    else:
        at_sites = np.isin(seen_ids, list(ids))
        assert at_sites.sum() == len(ids) and np.isnan(target[at_sites]).all()


def test_held_out_scored_takes_values_at_the_sites():
    held = HeldOut(
        rows=np.array([0, 1, 1]),
        cols=np.array([0, 0, 1]),
        values=np.array([[1.0], [np.nan], [3.0]]),
    )
    field = np.arange(4, dtype=np.float32).reshape(1, 2, 2)
    assert held.scored(field, 0).tolist() == [0.0, 3.0]
    assert held.scored(np.array([[5.0, 6.0, 7.0]]), 0).tolist() == [5.0, 7.0]
    with pytest.raises(ValueError, match="values at 2 sites for 3 held-out sites"):
        held.scored(np.ones((1, 2)), 0)


def test_records_scored_on_cells_keep_their_digest(tmp_path):
    record = run(tmp_path, "ConstantOnCells", isolation="inline")
    sites = record.model_copy(update={"scored_at": "sites"})
    assert record_digest(record) == record_digest(record.model_copy())
    assert "scored_at" not in record.model_dump_json(exclude={"scored_at"})
    assert record_digest(sites) != record_digest(record)
    assert (
        ResultRecord.model_validate_json(record.model_dump_json(exclude={"scored_at"})).scored_at
        == "cells"
    )


def test_the_canary_checks_the_values_at_the_sites(tmp_path):
    options = RunOptions(out_dir=tmp_path / "results", progress=False, canary=True)
    task = get_task(POINTS)
    sub = load_submission(f"{SITE_MODELS}:ConstantAtSites")
    honest = run_fold(sub, task, 0, options, canary=True)
    assert honest.canary is not None and not honest.canary.changed
