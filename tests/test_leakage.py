"""Held-out samples must never influence anything a model receives for their fold."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from geochem_bench.core.samples import Samples
from geochem_bench.core.task import TaskInputs
from geochem_bench.tasks.protocols import build_fold, task_split


def _perturbed(scene, rows, columns):
    values = scene.points.values.copy()
    values[np.ix_(rows, columns)] *= 7.5  # drastic change of the chosen values
    points = Samples(
        scene.points.ids, scene.points.x, scene.points.y, values, scene.points.elements
    )
    return dataclasses.replace(scene, points=points, _fingerprint=None)


def _assert_same_inputs(a: TaskInputs, b: TaskInputs) -> None:
    for field in dataclasses.fields(TaskInputs):
        va, vb = getattr(a, field.name), getattr(b, field.name)
        if field.name == "points":
            for attr in ("ids", "x", "y", "values"):
                np.testing.assert_array_equal(
                    getattr(va, attr), getattr(vb, attr), err_msg=f"points.{attr}"
                )
        elif isinstance(va, np.ndarray):
            np.testing.assert_array_equal(va, vb, err_msg=field.name)
        else:
            assert va == vb, field.name


def _inputs_differ(a: TaskInputs, b: TaskInputs) -> bool:
    try:
        _assert_same_inputs(a, b)
    except AssertionError:
        return True
    return False


def assert_held_out_values_change_no_input(scene_of, task) -> None:
    """Perturb every fold's held-out values; the fold's inputs must stay bit-for-bit equal.

    ``scene_of(realisation)``: the scene of a realisation (a fold runs on its own).
    """
    for fold in task.folds:
        realisation, spatial = task.unit(fold)
        scene = scene_of(realisation)
        split = task_split(scene, task)
        target = [scene.points.index(s) for s in task.elements]
        # points protocol: held-out samples are withheld entirely; transfer: their targets
        columns = list(range(len(scene.points.elements))) if task.protocol == "points" else target
        test_rows = np.flatnonzero(split.test_mask(spatial))
        changed = _perturbed(scene, test_rows, columns)
        base, held = build_fold(scene, task, fold, split=split)
        other, held_changed = build_fold(changed, task, fold, split=task_split(changed, task))
        _assert_same_inputs(base, other)
        assert not np.array_equal(held.values, held_changed.values)  # the perturbation was real


def test_held_out_values_change_no_input(point_task):
    from geochem_bench.scenes.registry import load_scene

    assert point_task.realisations  # every test realisation of the synthetic scene
    assert_held_out_values_change_no_input(
        lambda r: load_scene("synthetic", realisation=r), point_task
    )


def _sample_tasks() -> list[tuple[str, str]]:
    from geochem_bench.scenes import SCENES

    return [(cls.name, t.id) for cls in SCENES for t in cls.tasks if t.protocol != "grid"]


@pytest.mark.parametrize(("scene_name", "task_id"), _sample_tasks())
def test_no_registered_task_leaks_held_out_values(scene_name, task_id, fake_data):
    """Every points and transfer task of every scene (real scenes on their seeded fakes)."""
    from geochem_bench.scenes.registry import get_task, load_scene

    task = get_task(task_id)

    def scene_of(realisation):
        if scene_name == "synthetic":
            return load_scene(scene_name, realisation=realisation)
        return fake_data.build(scene_name, realisation=realisation)

    assert_held_out_values_change_no_input(scene_of, task)


def test_training_values_do_change_inputs(scene, point_task):
    """Control: the comparison above is able to see a change."""
    split = task_split(scene, point_task)
    train_rows = np.flatnonzero(split.train_mask(0))
    target = [scene.points.index(s) for s in point_task.elements]
    changed = _perturbed(scene, train_rows, target)
    base, _ = build_fold(scene, point_task, 0, split=split)
    other, _ = build_fold(changed, point_task, 0, split=split)
    assert _inputs_differ(base, other)


def test_split_does_not_depend_on_values(scene, point_task):
    changed = _perturbed(
        scene, np.arange(len(scene.points)), list(range(len(scene.points.elements)))
    )
    np.testing.assert_array_equal(
        task_split(scene, point_task).folds, task_split(changed, point_task).folds
    )


# --- the torch splits ----------------------------------------------------------------------


def _val_rows(scene, task, fold):
    """The samples FusionDataset sets aside for ``val``: the held-out blocks of the next
    spatial fold of the fold's realisation."""
    split = task_split(scene, task)
    return np.flatnonzero(split.test_mask((task.unit(fold)[1] + 1) % split.n_folds))


@pytest.mark.parametrize(("scene_name", "task_id"), _sample_tasks())
def test_validation_samples_change_nothing_train_receives_nor_val_lowres(
    scene_name, task_id, fake_data, monkeypatch
):
    """``train`` and ``val`` patches must not depend on the val samples, apart from val's
    own targets: a lowres built with them lets val samples equal their lowres cell."""
    import geochem_bench.torch.datasets as datasets
    from geochem_bench.scenes.registry import get_task, load_fold_scene

    # the last fold: of the last realisation of a simulated scene, and its next spatial fold
    # wraps round to the realisation's first
    task = get_task(task_id)
    fold = task.folds[-1]
    if scene_name == "synthetic":
        scene = load_fold_scene(task, fold)
    else:
        scene = fake_data.build(scene_name, realisation=task.unit(fold)[0])
    monkeypatch.setattr(datasets, "load_fold_scene", lambda task, fold, **_: scene)
    if task_split(scene, task).n_folds < 2:  # a shipped one-fold split: val has no samples
        val = datasets.FusionDataset(task=task_id, split="val", fold=fold, transforms=None)
        assert not np.isfinite(val._fields["sample_values"]).any()
        return
    target = [scene.points.index(s) for s in task.elements]
    changed = _perturbed(scene, _val_rows(scene, task, fold), target)

    def build(which, split):
        monkeypatch.setattr(datasets, "load_fold_scene", lambda task, fold, **_: which)
        dataset = datasets.FusionDataset(task=task_id, split=split, fold=fold, transforms=None)
        patches = [dataset[i] for i in range(len(dataset))]
        return {k: np.stack([p[k].numpy() for p in patches]) for k in patches[0]}

    free = {"sample_values", "sample_mask", "mask"}  # val's own targets
    for split, allowed in (("train", set()), ("val", free)):
        base, other = build(scene, split), build(changed, split)
        assert "lowres" in base and "lowres_up" in base
        for key in base.keys() - allowed:
            np.testing.assert_array_equal(base[key], other[key], err_msg=f"{split} {key}")
    val_before, val_after = build(scene, "val"), build(changed, "val")
    assert not np.array_equal(  # the perturbation reached val's own targets
        val_before["sample_values"], val_after["sample_values"], equal_nan=True
    )
