"""Canary folds: rerun a fold where every held-out value is noise, and see if the model notices.

An honest model sees only its :class:`~geochem_bench.core.task.TaskInputs`, which the canary
leaves bit-for-bit unchanged, so its prediction cannot change. A model that reads held-out
values from anywhere else (the harness's memory, the data cache the package's own API points
at) reads noise in the canary run and predicts something else: its record is flagged.

The canary replaces the values in every place the harness keeps them: the scene it scores
against, and the data folder the model process is told about (``$GEOCHEM_BENCH_DATA``), which
holds a build of the noisy scene. The real data cache is unreadable to a sandboxed model in
both runs.

A procedural scene (``synthetic``, Olinda's simulated geochemistry) can be regenerated from the
package's public code and the public numbers of its test realisations; the canary cannot tell
that apart from an honest model. Only reading a submission's code catches it (verified
submissions are reviewed; see ``docs/realisations.md``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.samples import Samples, half_limit
from geochem_bench.core.scene import Scene
from geochem_bench.core.task import Prediction, TaskInputs
from geochem_bench.data.store import built_folder, write_scene
from geochem_bench.evaluation.records import CanaryCheck, Failure

_NOISE_LOG10_SD = 0.1  # on top of the shuffle, so no decoy value equals a real one


def noisy_scene(scene: Scene, seed: int, data_root: Path | None = None) -> Scene:
    """A copy of ``scene`` with its truth and every sample value replaced by noise.

    The noise is independent of the real values at each place: every element's values are
    shuffled among the samples (and among the valid cells of the truth), then scaled by a
    random factor. The decoy keeps each element's distribution, so it looks like data, but a
    model that copies it learns nothing about the real values: over a task's folds it scores
    far below bicubic (on the synthetic points task, mean skill about -0.40 against -0.01),
    though on a single fold where bicubic itself is poor the noise can come within a few
    hundredths of it or, by chance, above it.

    Args:
        scene: the real scene.
        seed: seed of the noise.
        data_root: if given, the noisy scene is also built there (``<data_root>/<name>/``,
            or its realisation's folder), where the package's data API finds it.
    """
    rng = np.random.default_rng([seed, 0xCA7A])

    def noise(values: np.ndarray, axis_cells: np.ndarray | None = None) -> np.ndarray:
        """Shuffle along the last axis' entries (samples) or the valid cells, then rescale."""
        out = values.copy()
        if axis_cells is None:  # samples: (N, E), shuffle each column
            for e in range(out.shape[1]):
                known = np.flatnonzero(np.isfinite(out[:, e]))
                out[known, e] = out[rng.permutation(known), e]
        else:  # truth: (E, H, W), shuffle each element over the valid cells
            for e in range(out.shape[0]):
                layer = out[e]
                cells = np.flatnonzero(axis_cells.ravel() & np.isfinite(layer).ravel())
                flat = layer.ravel()
                flat[cells] = flat[rng.permutation(cells)]
                out[e] = flat.reshape(layer.shape)
        factor = 10.0 ** rng.normal(0.0, _NOISE_LOG10_SD, out.shape)
        return (out * factor).astype(values.dtype)

    truth = None if scene.truth is None else noise(scene.truth, scene.valid)
    points = scene.points
    if points is not None:
        values, limits = (
            (noise(points.values), None)
            if points.limits is None
            else noise_censored(points.values, points.limits, rng)
        )
        points = Samples(
            ids=points.ids,
            x=points.x,
            y=points.y,
            values=values,
            elements=points.elements,
            limits=limits,
        )
    noisy = dataclasses.replace(scene, truth=truth, points=points, _fingerprint=None)
    if data_root is not None:
        write_scene(noisy, built_folder(data_root, scene.name, scene.realisation))
    return noisy


def noise_censored(
    values: np.ndarray, limits: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The samples' noise of :func:`noisy_scene` for a survey with censored values.

    A censored value travels with its detection limit: both are shuffled by one permutation
    and scaled by one factor, and the value is half its noisy limit again.
    """
    values, limits = values.copy(), limits.copy()
    for e in range(values.shape[1]):
        known = np.flatnonzero(np.isfinite(values[:, e]))
        order = rng.permutation(known)
        values[known, e], limits[known, e] = values[order, e], limits[order, e]
    factor = 10.0 ** rng.normal(0.0, _NOISE_LOG10_SD, values.shape)
    limits = limits * factor
    return half_limit(values * factor, limits), limits


def canary_check(
    prediction: Prediction,
    canary: Prediction | None,
    failure: Failure | None,
    inputs: TaskInputs,
    tolerance: float,
    where: NDArray[np.bool_] | None = None,
) -> CanaryCheck:
    """Compare the real run's prediction with the canary run's, where a prediction is due.

    Args:
        prediction: the validated prediction of the real run.
        canary: the canary run's prediction (None if it failed).
        failure: why the canary run failed, if it did.
        inputs: the fold's inputs (where predictions are required).
        tolerance: relative change allowed (nondeterministic models, e.g. GPU kernels).
        where: what to compare (default: every valid cell of each element's map); the
            values at the held-out sites compare everywhere.
    """
    if canary is None:
        reason = failure.message if failure is not None else "no prediction"
        return CanaryCheck(
            changed=True,
            tolerance=tolerance,
            message=f"the model succeeded on the real fold but not on its canary: {reason}",
        )
    real = np.asarray(prediction.mean, dtype=np.float64)
    other = np.asarray(canary.mean, dtype=np.float64)
    if real.shape != other.shape:
        return CanaryCheck(
            changed=True, tolerance=tolerance, message="the canary prediction has another shape"
        )
    if where is None:
        where = np.broadcast_to(inputs.valid, real.shape)
    a, b = real[where], other[where]
    same_nan = np.isnan(a) == np.isnan(b)
    finite = np.isfinite(a) & np.isfinite(b)
    diff = np.abs(a[finite] - b[finite])
    allowed = tolerance * np.maximum(np.abs(a[finite]), np.abs(b[finite])) + 1e-12
    changed = bool(not same_nan.all() or (diff > allowed).any())
    return CanaryCheck(
        changed=changed,
        max_abs_diff=float(diff.max()) if diff.size else 0.0,
        tolerance=tolerance,
        message=(
            "the prediction changed when the held-out values were replaced by noise: the model "
            "reads them from somewhere other than its inputs"
            if changed
            else None
        ),
    )
