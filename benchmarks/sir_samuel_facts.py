"""The facts of the sir-samuel scene quoted in its card, measured on a build of it.

Usage (real data: build it first with ``geochem-bench download sir-samuel --mirror RAW``)::

    python benchmarks/sir_samuel_facts.py [--root DATA_ROOT]

Prints three Markdown tables:

* candidate target elements: coverage, declared detection limit, values censored at it,
  skewness, and how the covariates relate to them (Pearson r with Bouguer gravity, Spearman
  rho with magnetics, in-sample R^2 of a least-squares fit on every covariate band);
* every task fold: training and held-out samples, censored values of the targets, and the
  RMSE of the training-mean reference in analysis space (the pinned reference sums of
  ``geochem_bench.board.pins``, so the same numbers the board checks records against);
* the cross-media shift: mean log10 of each target at the alluvium sites minus at the
  sheetwash + soil sites.

Values are the scene's: a censored value counts as half its limit (the project's
substitution; docs/scoring.md, section 4).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from geochem_bench.board.pins import task_pin
from geochem_bench.core.scene import Scene
from geochem_bench.scenes.sir_samuel import CROSS_MEDIA, DETECTION_LIMITS, TARGETS, SirSamuel
from geochem_bench.tasks.protocols import build_fold, task_split

#: Elements compared when choosing the targets.
CANDIDATES = ("Ni", "Cr", "Co", "Cu", "Zn", "As", "Sb", "Pb")


def _at_samples(scene: Scene) -> NDArray[np.float64]:
    """Covariate bands at the sample cells, (N, C)."""
    assert scene.points is not None
    rows, cols = scene.grid.cell_of(scene.points.x, scene.points.y)
    return scene.covariates[:, rows, cols].T.astype(np.float64)


def element_rows(scene: Scene, candidates: tuple[str, ...] = CANDIDATES) -> list[dict]:
    """One row of facts per candidate element (see the module docstring)."""
    points = scene.points
    assert points is not None
    bands = _at_samples(scene)
    gravity = bands[:, scene.band_names.index("bouguer_gravity_um_s2")]
    magnetics = bands[:, scene.band_names.index("mag_rtp_nT")]
    design = np.column_stack([np.ones(len(points)), bands])
    rows = []
    for symbol in candidates:
        value = points.column(symbol)
        known = np.isfinite(value)
        log = np.log10(value[known])
        fit, *_ = np.linalg.lstsq(design[known], log, rcond=None)
        residual = log - design[known] @ fit
        n_censored = int(points.censored[:, points.index(symbol)].sum())
        rows.append(
            {
                "element": symbol,
                "coverage": f"{int(known.sum())}/{len(points)}",
                "limit": DETECTION_LIMITS.get(symbol),
                "censored": n_censored,
                "censored_fraction": n_censored / len(points),
                "median": float(np.median(value[known])),
                "skew_log10": float(stats.skew(log)),
                "skew_natural": float(stats.skew(value[known])),
                "r_gravity": float(stats.pearsonr(log, gravity[known])[0]),
                "rho_magnetics": float(stats.spearmanr(log, magnetics[known])[0]),
                "r2_covariates": float(1.0 - residual.var() / log.var()),
            }
        )
    return rows


def fold_rows(scene: Scene, root: str | Path | None = None) -> list[dict]:
    """One row per task fold and target (see the module docstring).

    Args:
        scene: the built scene.
        root: its data root (the pinned reference sums are computed on the build there).
    """
    rows = []
    for task in SirSamuel.tasks:
        split = task_split(scene, task)
        pin = task_pin(task, root=root)
        for fold in task.folds:
            inputs, held_out = build_fold(scene, task, fold, split=split)
            assert inputs.points is not None and held_out.values is not None
            for e, element in enumerate(inputs.elements):
                column = inputs.points.index(element.symbol)
                known = np.isfinite(inputs.points.values[:, column])
                facts = pin.folds[fold][element.symbol]
                rows.append(
                    {
                        "task": task.id,
                        "fold": fold,
                        "element": element.symbol,
                        "n_train": int(known.sum()),
                        "n_held_out": int(np.isfinite(held_out.values[:, e]).sum()),
                        "censored_train": int(inputs.points.censored[known, column].sum()),
                        "censored_held_out": held_out.n_censored(e),
                        "rmse_training_mean": math.sqrt(facts.sse_reference / facts.n),
                        "sse": facts.sse_reference,
                        "n": facts.n,
                    }
                )
    return rows


def media_shift(scene: Scene) -> list[dict]:
    """Mean log10 at the alluvium sites minus at the sheetwash + soil sites, per target."""
    points = scene.points
    assert points is not None
    alluvium = scene.splits[CROSS_MEDIA].test_mask(0)
    rows = []
    for symbol in TARGETS:
        log = np.log10(points.column(symbol))
        rows.append(
            {
                "element": symbol,
                "alluvium": float(log[alluvium].mean()),
                "sheetwash_soil": float(log[~alluvium].mean()),
                "difference": float(log[alluvium].mean() - log[~alluvium].mean()),
                "n_alluvium": int(alluvium.sum()),
                "n_sheetwash_soil": int((~alluvium).sum()),
            }
        )
    return rows


def _table(rows: list[dict], keys: list[str]) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.3f}"
        return "-" if v is None else str(v)

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the tables (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="data root of the built scene ($GEOCHEM_BENCH_DATA)")
    args = parser.parse_args(argv)
    scene = SirSamuel.load(root=args.root)
    keys = list(element_rows(scene)[0])
    print(_table(element_rows(scene), keys), end="\n\n")
    rows = fold_rows(scene, args.root)
    print(_table(rows, [k for k in rows[0] if k not in ("sse", "n")]), end="\n\n")
    for task in SirSamuel.tasks:  # pooled over folds: sqrt(sum sse / sum n)
        for symbol in task.elements:
            mine = [r for r in rows if r["task"] == task.id and r["element"] == symbol]
            pooled = math.sqrt(sum(r["sse"] for r in mine) / sum(r["n"] for r in mine))
            print(f"{task.id} {symbol}: pooled training-mean RMSE {pooled:.3f}")
    print()
    print(_table(media_shift(scene), list(media_shift(scene)[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
