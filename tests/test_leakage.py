"""Held-out samples must never influence anything a model receives for their fold.

Each check perturbs some samples at their source, builds the scene again and compares what a
model receives, bit for bit. Two perturbations (``kind``):

* ``values``: their concentrations are multiplied by :data:`FACTOR`;
* ``locations``: each is moved to a valid cell far away that holds no sample.

Real scenes are built again from their seeded fakes (``tests/data/<scene>/data.py``) with the
survey edited before it is written, so that a scene *build* that depends on the samples (a
valid mask grown by the sample cells, covariates painted at them) is caught, not only the
protocols. The synthetic scene has no raw files (its generator draws the survey after the
valid mask and the covariates): its sample table is swapped in the built scene.

The split is held fixed: which samples a spatial-block fold holds out is decided by where they
lie; the question is what the inputs reveal once the split is given.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from geochem_bench.core.samples import Samples, half_limit
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import TaskInputs, TaskSpec
from geochem_bench.scenes.registry import get_task, load_scene
from geochem_bench.tasks.protocols import build_fold, split_name, task_split
from geochem_bench.tasks.splits import SampleSplit

#: How much a ``values`` perturbation scales the chosen concentrations: a drastic change.
FACTOR = 7.5
KINDS = ("values", "locations")


@dataclasses.dataclass(frozen=True, eq=False)
class Perturbation:
    """A change to the samples ``ids``; a ``SampleEdit`` (``tests/conftest.py``).

    Attributes:
        kind: ``"values"`` or ``"locations"``.
        ids: the sample ids changed.
        columns: ``values``: the element symbols scaled by :data:`FACTOR`.
        x: ``locations``: the new x of each of ``ids``.
        y: ``locations``: the new y of each of ``ids``.
    """

    kind: str
    ids: NDArray[np.int64]
    columns: tuple[str, ...] = ()
    x: NDArray[np.float64] | None = None
    y: NDArray[np.float64] | None = None

    @property
    def key(self) -> str:
        """A name of the change (edited builds are reused by it)."""
        digest = hashlib.sha256(f"{self.kind} {self.columns}".encode())
        for array in (self.ids, self.x, self.y):
            if array is not None:
                digest.update(np.ascontiguousarray(array).tobytes())
        return f"{self.kind}-{digest.hexdigest()[:16]}"

    def __call__(
        self,
        ids: NDArray[np.int64],
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        values: dict[str, NDArray[np.float64]],
    ) -> None:
        at = np.isin(ids, self.ids)
        assert at.sum() == len(self.ids), "the edit must reach every chosen sample"
        if self.kind == "values":
            for symbol in self.columns:
                values[symbol][at] *= FACTOR
            return
        assert self.x is not None and self.y is not None
        order = {int(i): k for k, i in enumerate(self.ids)}
        k = np.array([order[int(i)] for i in np.asarray(ids)[at]], dtype=np.intp)
        x[at], y[at] = self.x[k], self.y[k]


#: Builds a scene again from its sources with a perturbation of its survey.
Rebuild = Callable[[Perturbation], Scene]


def swap_samples(scene: Scene) -> Rebuild:
    """A :data:`Rebuild` that applies the change to the sample table of the built scene."""

    def rebuild(change: Perturbation) -> Scene:
        pts = scene.points
        assert pts is not None
        x, y = pts.x.copy(), pts.y.copy()
        values = {s: pts.values[:, k].copy() for k, s in enumerate(pts.elements)}
        change(pts.ids, x, y, values)
        table = np.column_stack([values[s] for s in pts.elements])
        # censored entries keep their limits (a values change does not reach them)
        table = table if pts.limits is None else half_limit(table, pts.limits)
        points = Samples(pts.ids, x, y, table, pts.elements, pts.limits)
        return dataclasses.replace(
            scene, points=points, splits=dict(scene.splits), _fingerprint=None
        )

    return rebuild


def _far_free_cells(scene: Scene, rows: NDArray[np.intp]) -> tuple[NDArray[np.float64], ...]:
    """Centres of distinct valid cells holding no sample, each far from the sample it gets.

    Far: at least half as far as the farthest such cell (a seeded choice among them), so
    that a leak through the coarse grid or the spatial blocks would show too.
    """
    assert scene.points is not None
    grid = scene.grid
    r, c = grid.cell_of(scene.points.x, scene.points.y)
    free = scene.valid.copy()
    free[r, c] = False
    fr, fc = np.nonzero(free)
    taken = np.zeros(fr.size, dtype=bool)
    rng = np.random.default_rng(0)
    chosen = np.empty(len(rows), dtype=np.intp)
    for k, i in enumerate(rows):
        d2 = (fr - r[i]).astype(np.float64) ** 2 + (fc - c[i]).astype(np.float64) ** 2
        d2[taken] = -1.0
        far = np.flatnonzero(d2 >= 0.25 * d2.max())
        chosen[k] = rng.choice(far)
        taken[chosen[k]] = True
    return grid.centres(fr[chosen], fc[chosen])


def perturbation(
    scene: Scene,
    task: TaskSpec,
    rows: NDArray[np.intp],
    kind: str,
    columns: tuple[str, ...] | None = None,
) -> Perturbation:
    """The ``kind`` perturbation of the samples at ``rows`` of the scene's table.

    Args:
        scene: the scene.
        task: the task (a ``values`` perturbation of a points task scales every element, since
            its held-out samples are withheld entirely; of a transfer task, the targets only,
            since the covariables are measured at the held-out sites by design).
        rows: rows of ``scene.points`` to change.
        kind: ``"values"`` or ``"locations"``.
        columns: ``values``: the elements scaled, instead of the task's choice.
    """
    assert scene.points is not None
    ids = scene.points.ids[rows]
    if kind == "values":
        if columns is None:
            columns = scene.points.elements if task.protocol == "points" else task.elements
        return Perturbation("values", ids, columns=tuple(columns))
    assert kind == "locations", kind
    x, y = _far_free_cells(scene, rows)
    return Perturbation("locations", ids, x=x, y=y)


def perturbed_scene(
    task: TaskSpec, change: Perturbation, rebuild: Rebuild, split: SampleSplit
) -> Scene:
    """The scene built again with ``change``, with the task's ``split`` pinned."""
    changed = rebuild(change)
    return dataclasses.replace(
        changed, splits={**changed.splits, split_name(task): split}, _fingerprint=None
    )


def _assert_same_array(a: Any, b: Any, what: str) -> None:
    np.testing.assert_array_equal(a, b, err_msg=what)
    assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f"{what}: not bit-for-bit equal"


def assert_same_inputs(a: TaskInputs, b: TaskInputs, movable: Any = None) -> None:
    """Every field of two TaskInputs is equal, arrays bit for bit.

    Args:
        a: inputs of the scene as built.
        b: inputs of the perturbed scene.
        movable: sample ids whose points-table coordinates may differ (the held-out sites of
            a transfer task, which the task shows by design).
    """
    for field in dataclasses.fields(TaskInputs):
        name = f"TaskInputs.{field.name}"
        va, vb = getattr(a, field.name), getattr(b, field.name)
        if field.name == "points":
            assert (va is None) == (vb is None), name
            if va is None:
                continue
            _assert_same_array(va.ids, vb.ids, f"{name}.ids")
            keep = ~np.isin(va.ids, movable) if movable is not None else slice(None)
            for attr in ("x", "y"):
                _assert_same_array(
                    getattr(va, attr)[keep], getattr(vb, attr)[keep], f"{name}.{attr}"
                )
            _assert_same_array(va.values, vb.values, f"{name}.values")
            assert va.elements == vb.elements, f"{name}.elements"
            # detection limits are information about a value too: None on both, or equal
            assert (va.limits is None) == (vb.limits is None), f"{name}.limits"
            if va.limits is not None:
                _assert_same_array(va.limits, vb.limits, f"{name}.limits")
        elif isinstance(va, np.ndarray):
            _assert_same_array(va, vb, name)
        else:
            assert va == vb, name


def _inputs_differ(a: TaskInputs, b: TaskInputs) -> bool:
    try:
        assert_same_inputs(a, b)
    except AssertionError:
        return True
    return False


def assert_held_out_samples_change_no_input(
    scene: Scene, task: TaskSpec, kind: str, rebuild: Rebuild | None = None
) -> None:
    """Perturb every fold's held-out samples; the fold's inputs must stay bit-for-bit equal.

    Only the folds of ``scene``'s realisation are checked (a fold runs on the scene of its
    realisation): call it once per realisation of a simulated scene.

    Args:
        scene: the scene as built.
        task: a points or transfer task of the scene.
        kind: ``"values"`` or ``"locations"`` (see the module docstring).
        rebuild: builds the scene again with a perturbed survey (default:
            :func:`swap_samples`, which only reaches the protocols, not the scene's build).
    """
    rebuild = rebuild or swap_samples(scene)
    split = task_split(scene, task)
    folds = [f for f in task.folds if task.unit(f)[0] == scene.realisation]
    assert folds, f"{task.id} has no fold on realisation {scene.realisation}"
    for fold in folds:
        rows = np.flatnonzero(split.test_mask(task.unit(fold)[1]))
        change = perturbation(scene, task, rows, kind)
        changed = perturbed_scene(task, change, rebuild, split)
        base, held = build_fold(scene, task, fold, split=split)
        other, held_changed = build_fold(changed, task, fold, split=split)
        # a transfer task shows the held-out sites (their covariables are measured there)
        transfer = kind == "locations" and task.protocol == "transfer"
        assert_same_inputs(base, other, movable=change.ids if transfer else None)
        np.testing.assert_array_equal(held.sample_ids, held_changed.sample_ids)
        if kind == "values":  # the perturbation was real
            assert not np.array_equal(held.values, held_changed.values, equal_nan=True)
        else:
            assert held.rows is not None and held.cols is not None
            moved = (held.rows != held_changed.rows) | (held.cols != held_changed.cols)
            assert moved.all()


@pytest.mark.parametrize("kind", KINDS)
def test_held_out_samples_change_no_input(point_task, kind):
    from geochem_bench.scenes.registry import load_scene

    assert point_task.realisations  # every test realisation of the synthetic scene
    for realisation in point_task.realisations:
        scene = load_scene("synthetic", realisation=realisation)
        assert_held_out_samples_change_no_input(scene, point_task, kind)


def _sample_tasks() -> list[tuple[str, str]]:
    from geochem_bench.scenes import SCENES

    return [(cls.name, t.id) for cls in SCENES for t in cls.tasks if t.protocol != "grid"]


def _scene_and_rebuild(
    scene_name: str, fake_data: Any, realisation: int | None = None
) -> tuple[Scene, Rebuild]:
    """A registered scene (real ones on their seeded fakes) and how to build it again."""
    from geochem_bench.scenes.registry import load_scene

    if scene_name == "synthetic":
        scene = load_scene(scene_name, realisation=realisation)
        return scene, swap_samples(scene)

    def rebuild(change: Perturbation) -> Scene:
        return fake_data.build_edited(scene_name, change, key=change.key)

    return fake_data.build(scene_name), rebuild


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("scene_name", "task_id"), _sample_tasks())
def test_no_registered_task_leaks_held_out_samples(scene_name, task_id, kind, fake_data):
    """Every points and transfer task of every scene (real scenes on their seeded fakes), on
    every realisation of a simulated scene."""
    from geochem_bench.scenes.registry import get_task

    task = get_task(task_id)
    for realisation in task.realisations or (None,):
        scene, rebuild = _scene_and_rebuild(scene_name, fake_data, realisation)
        assert_held_out_samples_change_no_input(scene, task, kind, rebuild)


def test_training_values_do_change_inputs(scene, point_task):
    """Control: the comparison above is able to see a change."""
    split = task_split(scene, point_task)
    train_rows = np.flatnonzero(split.train_mask(0))
    change = perturbation(scene, point_task, train_rows, "values", columns=point_task.elements)
    changed = perturbed_scene(point_task, change, swap_samples(scene), split)
    base, _ = build_fold(scene, point_task, 0, split=split)
    other, _ = build_fold(changed, point_task, 0, split=split)
    assert _inputs_differ(base, other)


def test_split_does_not_depend_on_values(scene, point_task):
    everything = np.arange(len(scene.points))
    change = perturbation(scene, point_task, everything, "values", scene.points.elements)
    changed = swap_samples(scene)(change)
    np.testing.assert_array_equal(
        task_split(scene, point_task).folds, task_split(changed, point_task).folds
    )


# --- the check catches leaks ---------------------------------------------------------------


def test_the_check_catches_a_valid_mask_grown_by_the_sample_cells(scene, point_task):
    """A build that adds every sample's cell to ``valid`` (the old Lapland IOCG build) leaks
    the held-out locations; moving the samples shows it, scaling their values cannot."""
    swap = swap_samples(scene)
    rows, cols = scene.grid.cell_of(scene.points.x, scene.points.y)
    core = scene.valid.copy()
    core[rows, cols] = False  # the mask the rasters alone would give

    def leaky(change: Perturbation) -> Scene:
        changed = swap(change)
        r, c = changed.grid.cell_of(changed.points.x, changed.points.y)
        valid = core.copy()
        valid[r, c] = True
        return dataclasses.replace(changed, valid=valid, _fingerprint=None)

    base = leaky(Perturbation("values", scene.points.ids[:0]))  # as the leaky build makes it
    assert_held_out_samples_change_no_input(base, point_task, "values", leaky)
    with pytest.raises(AssertionError, match=r"TaskInputs\.valid"):
        assert_held_out_samples_change_no_input(base, point_task, "locations", leaky)


@pytest.mark.parametrize("kind", KINDS)
def test_the_check_catches_inputs_built_with_the_held_out_samples(
    scene, point_task, kind, monkeypatch
):
    """A protocol that lets the held-out samples into the coarse grid is caught by both."""
    import geochem_bench.tasks.protocols as protocols

    if point_task.protocol == "points":  # the table of every sample instead of the training one
        monkeypatch.setattr(Samples, "subset", lambda self, mask: self)
    else:  # the target known at every measured site, held-out ones included

        def everywhere(values, train, task, fold):
            return np.isfinite(values).all(axis=1)

        monkeypatch.setattr(protocols, "_transfer_subset", everywhere)
    with pytest.raises(AssertionError, match=r"TaskInputs\.lowres"):
        assert_held_out_samples_change_no_input(scene, point_task, kind)


# --- the torch splits ----------------------------------------------------------------------


def _val_rows(split: SampleSplit, task: TaskSpec, fold: int) -> NDArray[np.intp]:
    """The samples FusionDataset sets aside for ``val``: the held-out blocks of the next
    spatial fold of the fold's realisation."""
    return np.flatnonzero(split.test_mask((task.unit(fold)[1] + 1) % split.n_folds))


def _assert_same_patches(
    a: dict[str, Any], b: dict[str, Any], split: str, allowed: frozenset[str] = frozenset()
) -> None:
    assert a.keys() == b.keys(), split
    for key in a.keys() - allowed:
        _assert_same_array(a[key], b[key], f"{split} {key}")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("scene_name", "task_id"), _sample_tasks())
def test_torch_train_and_val_see_neither_held_out_nor_val_samples(
    scene_name, task_id, kind, fake_data, monkeypatch
):
    """``train`` and ``val`` patches must not depend on the fold's held-out samples at all,
    nor on the val samples apart from val's own targets: a lowres built with them lets val
    samples equal their lowres cell."""
    import geochem_bench.torch.datasets as datasets
    from geochem_bench.scenes.registry import get_task

    # the last fold: of the last realisation of a simulated scene, and its next spatial fold
    # wraps round to the realisation's first
    task = get_task(task_id)
    fold = task.folds[-1]
    scene, rebuild = _scene_and_rebuild(scene_name, fake_data, task.unit(fold)[0])
    split = task_split(scene, task)

    def build(which: Scene, name: str) -> dict[str, Any]:
        monkeypatch.setattr(datasets, "load_fold_scene", lambda task, fold, **_: which)
        dataset = datasets.FusionDataset(task=task_id, split=name, fold=fold, transforms=None)
        patches = [dataset[i] for i in range(len(dataset))]
        return {k: np.stack([p[k].numpy() for p in patches]) for k in patches[0]}

    base = {name: build(scene, name) for name in ("train", "val")}
    assert "lowres" in base["val"] and "lowres_up" in base["val"]
    held_out = np.flatnonzero(split.test_mask(task.unit(fold)[1]))
    changed = perturbed_scene(task, perturbation(scene, task, held_out, kind), rebuild, split)
    for name in ("train", "val"):
        _assert_same_patches(base[name], build(changed, name), name)
    if split.n_folds < 2:  # a shipped one-fold split: val has no samples
        assert not np.isfinite(base["val"]["sample_values"]).any()
        return
    change = perturbation(scene, task, _val_rows(split, task, fold), kind, columns=task.elements)
    changed = perturbed_scene(task, change, rebuild, split)
    _assert_same_patches(base["train"], build(changed, "train"), "train")
    val = build(changed, "val")
    _assert_same_patches(
        base["val"], val, "val", frozenset({"sample_values", "sample_mask", "mask"})
    )
    assert not np.array_equal(  # the perturbation reached val's own targets
        base["val"]["sample_values"], val["sample_values"], equal_nan=True
    )


def _censored(scene: Scene, rows: NDArray[np.intp], columns: list[int]) -> Scene:
    """The scene with the chosen values scaled by 7.5 and every other chosen row censored.

    The censored rows get a limit of 3x their new value, so a held-out limit that leaks shows.
    """
    points = scene.points
    assert points is not None
    values = points.values.copy()
    limits = np.full_like(values, np.nan) if points.limits is None else points.limits.copy()
    block = np.ix_(rows, columns)
    values[block] *= FACTOR
    limits[block] *= FACTOR
    censor = np.ix_(rows[::2], columns)
    limits[censor] = values[censor] * 3.0  # NaN where not measured: stays uncensored
    changed = Samples(
        points.ids, points.x, points.y, half_limit(values, limits), points.elements, limits
    )
    return dataclasses.replace(scene, points=changed, _fingerprint=None)


def assert_held_out_limits_change_no_input(scene: Scene, task: TaskSpec) -> None:
    """Censor (and change) every fold's held-out values: no input may change."""
    assert scene.points is not None
    split = task_split(scene, task)
    target = [scene.points.index(s) for s in task.elements]
    every = list(range(len(scene.points.elements)))
    columns = every if task.protocol == "points" else target
    for fold in [f for f in task.folds if task.unit(f)[0] == scene.realisation]:
        rows = np.flatnonzero(split.test_mask(task.unit(fold)[1]))
        changed = _censored(scene, rows, columns)
        base, held = build_fold(scene, task, fold, split=split)
        other, held_changed = build_fold(changed, task, fold, split=split)
        assert_same_inputs(base, other)
        assert held_changed.limits is not None  # the held-out values were censored
        assert held.limits is None or not np.array_equal(
            held.limits, held_changed.limits, equal_nan=True
        )


def test_held_out_detection_limits_change_no_input(point_task):
    from geochem_bench.scenes.registry import load_scene

    for realisation in point_task.realisations:
        scene = load_scene("synthetic", realisation=realisation)
        assert_held_out_limits_change_no_input(scene, point_task)


def test_a_leaked_held_out_limit_is_caught(monkeypatch):
    """Control: a transfer fold that hides target values but keeps their limits must fail."""
    original = Samples.with_hidden

    def leaky_with_hidden(self, symbols, rows):
        hidden = original(self, symbols, rows)
        if self.limits is None:
            return hidden
        # the bug: limits kept on hidden rows, so their censored values come back as L / 2
        values = half_limit(hidden.values, self.limits)
        return Samples(hidden.ids, hidden.x, hidden.y, values, hidden.elements, self.limits)

    monkeypatch.setattr(Samples, "with_hidden", leaky_with_hidden)
    with pytest.raises(AssertionError, match=r"lowres|points"):  # the first input it reaches
        assert_held_out_limits_change_no_input(
            load_scene("synthetic", realisation=0), get_task("synthetic/cu/s16/transfer")
        )
