"""How much fine detail can a grid scene's covariates explain at best? An oracle, per task.

For every grid-protocol task of a scene, this prints per element, in the element's analysis
space, on the scene's one fixed realisation (a real exhaustive truth, such as
``sir-samuel-radiometrics``) or, for a simulated scene, averaged over the folds of the *dev*
realisations given with ``--realisations`` (the same generator as the test realisations, so
the same headroom in expectation, without looking at a test truth):

- the RMSE of bicubic upsampling of the fold's lowres grid (the grid protocol's reference);
- the RMSE and skill of the back-projection baseline (its packaged settings);
- an **oracle** headroom: the truth (analysis space, every valid fine cell) fitted by least
  squares on bicubic, the back-projection baseline's map, an intercept and every covariate
  band (one-hot class bands included) *using the truth itself*, scored with the benchmark's
  ``score_fold`` against the bicubic reference. No model can see the truth, so this is not
  a baseline: it bounds what a linear, per-cell combination of the best covariate-free maps
  and the covariates could reach. The maps are free regressors: fixing bicubic's
  coefficient at 1 (fitting only the residual) understated the bound 2-40 times.
  ``skill_affine`` is the same fit without covariates, so the covariates' own share is
  ``skill_oracle - skill_affine``. ``r2_residual`` is the share of the variance of
  truth - bicubic the fit explains;
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
    python benchmarks/grid_headroom.py synthetic --realisations 100 101 102
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
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
    others: Sequence[NDArray[np.float32]] = (),
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
        others: further maps (E, H, W), natural units, entered as free regressors beside
            bicubic (the back-projection baseline's map: the best covariate-free map).

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
        extra = [element.to_analysis(o[e][valid]).astype(np.float64) for o in others]
        design = np.column_stack([base, *extra, bands])
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        fit = design @ coef
        residual = target - base
        explained.append(float(1 - np.sum((target - fit) ** 2) / np.sum(residual**2)))
        out[e][valid] = element.from_analysis(fit)
    return out, explained


def headroom_rows(
    name: str, realisations: Sequence[int] = (), **options: Any
) -> Iterator[dict[str, Any]]:
    """One row per grid task, fold and element of scene ``name`` (see the module docstring).

    Args:
        name: a registered scene with grid tasks.
        realisations: a simulated scene's dev realisations to measure on (required there;
            a test realisation is refused by the dev task).
        **options: the scene loader's options (``root``).
    """
    from geochem_bench.evaluation.reference import reference_prediction
    from geochem_bench.evaluation.scoring import score_fold, validate_prediction
    from geochem_bench.evaluation.submission import load_submission
    from geochem_bench.scenes.registry import dev_task, load_fold_scene, scenes
    from geochem_bench.tasks.protocols import build_fold

    tasks = [t for t in scenes()[name].tasks if t.protocol == "grid"]
    if not tasks:
        raise InvalidInputError(f"scene {name!r} has no grid task")
    simulated = any(t.realisations for t in tasks)
    if simulated and not realisations:
        raise InvalidInputError(
            f"scene {name!r} is simulated: give its dev realisations with --realisations "
            "(a test truth is never used, not even for a bound)"
        )
    if realisations and not simulated:
        raise InvalidInputError(f"scene {name!r} has one fixed realisation: drop --realisations")
    back_projection = load_submission("back-projection").build()
    units = []
    for task in tasks:
        if simulated:
            dev = dev_task(task)
            unknown = sorted(set(realisations) - set(dev.realisations))
            if unknown:
                raise InvalidInputError(
                    f"{unknown} are not dev realisations of {task.id} "
                    f"(dev: {list(dev.realisations)}): never measure on test realisations"
                )
            task = dev.on_realisations(tuple(realisations), dev=True)
        units.extend((task, fold) for fold in (task.folds if simulated else [0]))
    for task, fold in units:
        inputs, held_out = build_fold(load_fold_scene(task, fold, **options), task, fold)
        assert held_out.truth is not None
        reference = reference_prediction(inputs)
        bicubic = score_fold(inputs, held_out, Prediction(mean=reference), reference)
        back_projection.fit(inputs)
        projected = validate_prediction(back_projection.predict(inputs), inputs)
        bp = score_fold(inputs, held_out, projected, reference)
        # back-projection's map is a regressor too: the oracle then starts from the best
        # covariate-free map, and its gain over that is what the covariates could add
        others = (projected.mean,)
        oracle_mean, explained = oracle_prediction(inputs, held_out.truth, reference, others=others)
        oracle = score_fold(inputs, held_out, Prediction(mean=oracle_mean), reference)
        detail_mean, explained_detail = oracle_prediction(
            inputs, held_out.truth, reference, detail=True, others=others
        )
        detail = score_fold(inputs, held_out, Prediction(mean=detail_mean), reference)
        affine_mean, _ = oracle_prediction(
            inputs, held_out.truth, reference, covariates=False, others=others
        )
        affine = score_fold(inputs, held_out, Prediction(mean=affine_mean), reference)
        explained_truth = truth_r2(inputs, held_out.truth)
        for e, element in enumerate(inputs.elements):
            symbol = element.symbol
            yield {
                "task": task.id.removesuffix("/dev"),
                "fold": fold,
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


def best_official(board_csv: str) -> dict[str, tuple[str, float, float, float]]:
    """Per task, the submission with the highest skill on a rendered board's CSV, with its
    95 % interval: ``(name version, estimate, low, high)``."""
    import csv

    best: dict[str, tuple[str, float, float, float]] = {}
    with open(board_csv, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["metric"] != "skill" or row["element"] or "@" in row["task"]:
                continue
            entry = (
                f"{row['submission']} {row['version']}",
                float(row["estimate"]),
                float(row["ci_low"]),
                float(row["ci_high"]),
            )
            if row["task"] not in best or entry[1] > best[row["task"]][1]:
                best[row["task"]] = entry
    return best


def markdown_table(rows: list[dict[str, Any]], board_csv: str | None) -> str:
    """The card's headroom table: per element and per task (overall), the best official
    submission from ``board_csv`` beside the oracle bounds."""
    best = best_official(board_csv) if board_csv else {}
    lines = [
        "| task | element | bicubic RMSE | back-projection skill | oracle: bicubic and "
        "back-projection | oracle: + covariates | oracle: + covariate detail | best official "
        "submission [95 % CI] |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        for i, r in enumerate(mine):
            name = f"`{task}`" if i == 0 else ""
            lines.append(
                f"| {name} | {r['element']} | {r['rmse_bicubic']:.4f} | "
                f"{r['skill_back_projection']:+.3f} | {r['skill_affine']:+.4f} | "
                f"{r['skill_oracle']:+.4f} | {r['skill_oracle_detail']:+.4f} | |"
            )
        r = mine[0]
        top = best.get(task)
        cell = f"{top[0]}: {top[1]:+.3f} [{top[2]:+.3f}, {top[3]:+.3f}]" if top else ""
        lines.append(
            f"| | overall | | **{r['overall_skill_back_projection']:+.3f}** | "
            f"{r['overall_skill_affine']:+.4f} | **{r['overall_skill_oracle']:+.4f}** | "
            f"{r['overall_skill_oracle_detail']:+.4f} | {cell} |"
        )
    return "\n".join(lines)


def fold_means(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows averaged over folds: one per task and element (a fixed scene has one fold)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["element"]), []).append(row)
    out = []
    for mine in groups.values():
        mean: dict[str, Any] = {
            k: (float(np.mean([r[k] for r in mine])) if isinstance(v, float) else v)
            for k, v in mine[0].items()
            if k != "fold"
        }
        mean["folds"] = len(mine)
        out.append(mean)
    return out


def main(argv: list[str] | None = None) -> None:
    """Print the headroom table of one scene."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", help="a scene with grid tasks and a real truth")
    parser.add_argument("--root", help="data root ($GEOCHEM_BENCH_DATA)")
    parser.add_argument(
        "--realisations",
        nargs="+",
        type=int,
        default=[],
        help="a simulated scene's dev realisations (required there; test ones are refused)",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the card's table instead of columns"
    )
    parser.add_argument(
        "--board", help="a rendered leaderboard.csv: add each task's best official submission"
    )
    args = parser.parse_args(argv)
    options = {"root": args.root} if args.root else {}
    try:
        rows = fold_means(list(headroom_rows(args.scene, args.realisations, **options)))
    except InvalidInputError as exc:
        parser.error(str(exc))
    if args.markdown:
        print(markdown_table(rows, args.board))
        return
    print(" ".join(rows[0]))
    for row in rows:
        print(" ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values()))


if __name__ == "__main__":
    main()
