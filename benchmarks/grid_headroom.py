"""How much fine detail can a grid scene's covariates explain at best? An oracle, per task.

For every grid-protocol task of a scene with one fixed realisation (a real exhaustive truth,
such as ``sir-samuel-radiometrics``), this prints per element, in the element's analysis
space:

- the RMSE of bicubic upsampling of the fold's lowres grid (the grid protocol's reference);
- the RMSE and skill of the back-projection baseline (its packaged settings);
- an **oracle** headroom: the truth (analysis space, every valid fine cell) fitted by least
  squares on bicubic, an intercept and every covariate band (one-hot class bands included)
  *using the truth itself*, scored with the benchmark's ``score_fold`` against the bicubic
  reference. No model can see the truth, so this is not a baseline: it bounds what a
  linear, per-cell combination of bicubic and the covariates could reach. Bicubic is a
  free regressor: fixing its coefficient at 1 (fitting only the residual) understated the
  bound 2-40 times. ``skill_affine`` is the same fit without covariates (an affine
  rescaling of bicubic), so the covariates' own share is ``skill_oracle - skill_affine``.
  ``r2_residual`` is the share of the variance of truth - bicubic the fit explains;
- the same oracle with each band's own fine detail as further regressors (the band minus
  the bicubic upsampling of its block means at the task's scale): the part of a covariate
  that bicubic cannot know either (``*_detail`` columns);
- ``r2_truth``: the share of the truth's own variance (analysis space) a linear fit on the
  covariates explains, to tell covariates that map the field but not its fine detail from
  covariates that say nothing about it.

A linear oracle bounds what a *linear* use of the covariates could gain, not every model.

Usage::

    python benchmarks/grid_headroom.py sir-samuel-radiometrics
    python benchmarks/grid_headroom.py lapland-radiometrics
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.task import Prediction, TaskInputs
from geochem_bench.errors import InvalidInputError


def covariate_detail(inputs: TaskInputs) -> NDArray[np.float64]:
    """Each covariate band minus the bicubic upsampling of its block means (C, H, W)."""
    from geochem_bench.core.grid import block_mean
    from geochem_bench.models.upsampling import fill_empty_cells, upsample

    bands = np.where(inputs.valid, inputs.covariates.astype(np.float64), np.nan)
    coarse, _ = block_mean(bands, inputs.scale)
    smooth = upsample(fill_empty_cells(coarse), inputs.scale, inputs.grid.shape, "bicubic")
    return bands - smooth


def covariate_design(inputs: TaskInputs, detail: bool = False) -> NDArray[np.float64]:
    """An intercept and every covariate band (with ``detail``, their fine detail too) at
    the valid cells: the oracle's design matrix (N, 1 + C or 1 + 2C)."""
    valid = inputs.valid
    bands = list(inputs.covariates) + (list(covariate_detail(inputs)) if detail else [])
    return np.column_stack(
        [np.ones(int(valid.sum()))] + [band[valid].astype(np.float64) for band in bands]
    )


def explained_share(design: NDArray[np.float64], target: NDArray[np.float64]) -> float:
    """The share of ``target``'s variance around its mean a least-squares fit explains."""
    # lstsq gives the minimum-norm solution: one-hot classes with the intercept are
    # collinear, and the fitted values do not depend on how that is resolved
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    centred = target - target.mean()
    return float(1 - np.sum((target - design @ coef) ** 2) / np.sum(centred**2))


def truth_r2(inputs: TaskInputs, truth: NDArray[np.float32]) -> list[float]:
    """Per element, the share of the truth's variance (analysis space) the covariates explain."""
    design = covariate_design(inputs)
    return [
        explained_share(design, element.to_analysis(truth[e][inputs.valid]).astype(np.float64))
        for e, element in enumerate(inputs.elements)
    ]


def oracle_prediction(
    inputs: TaskInputs,
    truth: NDArray[np.float32],
    reference: NDArray[np.float32],
    detail: bool = False,
    covariates: bool = True,
) -> tuple[NDArray[np.float32], list[float]]:
    """The least-squares fit of the truth on bicubic and the covariates, fitted on the truth.

    Bicubic enters as a free regressor (not with a coefficient fixed at 1), so the fit is
    the best linear, per-cell combination of what bicubic knows and what the covariates say;
    a zero correction is one of its fits, so it never scores below bicubic.

    Args:
        inputs: the fold's inputs (covariates, valid mask, elements).
        truth: the exhaustive truth (E, H, W), natural units: what makes this an oracle.
        reference: the bicubic reference (E, H, W), natural units.
        detail: add each band's fine detail (:func:`covariate_detail`) as regressors.
        covariates: use the covariates at all; without them the fit is an affine rescaling
            of bicubic, the part of the oracle's gain the covariates play no role in.

    Returns:
        The prediction (natural units, NaN off valid) and, per element, the share of the
        variance of the residual truth - bicubic that the fit explains.
    """
    valid = inputs.valid
    bands = covariate_design(inputs, detail) if covariates else np.ones((int(valid.sum()), 1))
    out = np.full(truth.shape, np.nan, dtype=np.float32)
    explained = []
    for e, element in enumerate(inputs.elements):
        base = element.to_analysis(reference[e][valid]).astype(np.float64)
        target = element.to_analysis(truth[e][valid]).astype(np.float64)
        design = np.column_stack([base, bands])
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        fit = design @ coef
        residual = target - base
        explained.append(float(1 - np.sum((target - fit) ** 2) / np.sum(residual**2)))
        out[e][valid] = element.from_analysis(fit)
    return out, explained


def headroom_rows(name: str, **options: Any) -> Iterator[dict[str, Any]]:
    """One row per grid task and element of scene ``name`` (see the module docstring).

    Args:
        name: a registered scene with grid tasks and one fixed realisation.
        **options: the scene loader's options (``root``).
    """
    from geochem_bench.evaluation.reference import reference_prediction
    from geochem_bench.evaluation.scoring import score_fold, validate_prediction
    from geochem_bench.evaluation.submission import load_submission
    from geochem_bench.scenes.registry import load_scene, scenes
    from geochem_bench.tasks.protocols import build_fold

    tasks = [t for t in scenes()[name].tasks if t.protocol == "grid" and not t.realisations]
    if not tasks:
        raise InvalidInputError(
            f"scene {name!r} has no grid task on one fixed realisation (a simulated scene's "
            "truth is known to its generator: measure its headroom on dev realisations)"
        )
    back_projection = load_submission("back-projection").build()
    scene = load_scene(name, **options)
    for task in tasks:
        inputs, held_out = build_fold(scene, task, 0)
        assert held_out.truth is not None
        reference = reference_prediction(inputs)
        bicubic = score_fold(inputs, held_out, Prediction(mean=reference), reference)
        back_projection.fit(inputs)
        projected = validate_prediction(back_projection.predict(inputs), inputs)
        bp = score_fold(inputs, held_out, projected, reference)
        oracle_mean, explained = oracle_prediction(inputs, held_out.truth, reference)
        oracle = score_fold(inputs, held_out, Prediction(mean=oracle_mean), reference)
        detail_mean, explained_detail = oracle_prediction(
            inputs, held_out.truth, reference, detail=True
        )
        detail = score_fold(inputs, held_out, Prediction(mean=detail_mean), reference)
        affine_mean, _ = oracle_prediction(inputs, held_out.truth, reference, covariates=False)
        affine = score_fold(inputs, held_out, Prediction(mean=affine_mean), reference)
        explained_truth = truth_r2(inputs, held_out.truth)
        for e, element in enumerate(inputs.elements):
            symbol = element.symbol
            yield {
                "task": task.id,
                "element": symbol,
                "space": element.analysis_space,
                "rmse_bicubic": bicubic[symbol]["rmse"],
                "rmse_back_projection": bp[symbol]["rmse"],
                "skill_back_projection": bp[symbol]["skill"],
                "skill_affine": affine[symbol]["skill"],
                "rmse_oracle": oracle[symbol]["rmse"],
                "skill_oracle": oracle[symbol]["skill"],
                "r2_residual": explained[e],
                "skill_oracle_detail": detail[symbol]["skill"],
                "r2_residual_detail": explained_detail[e],
                "r2_truth": explained_truth[e],
                "overall_skill_back_projection": bp["overall"]["skill"],
                "overall_skill_affine": affine["overall"]["skill"],
                "overall_skill_oracle": oracle["overall"]["skill"],
                "overall_skill_oracle_detail": detail["overall"]["skill"],
            }


def main(argv: list[str] | None = None) -> None:
    """Print the headroom table of one scene."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", help="a scene with grid tasks and a real truth")
    parser.add_argument("--root", help="data root ($GEOCHEM_BENCH_DATA)")
    args = parser.parse_args(argv)
    options = {"root": args.root} if args.root else {}
    columns = None
    try:
        for row in headroom_rows(args.scene, **options):
            if columns is None:
                columns = list(row)
                print(" ".join(columns))
            print(" ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values()))
    except InvalidInputError as exc:
        parser.error(str(exc))


if __name__ == "__main__":
    main()
