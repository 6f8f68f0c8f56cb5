"""The report beside a fused map: what was mapped, with what, and how accurate to expect it.

``report.md`` (for people), ``report.png`` (the map, the samples over it, the predictive
std, and every method's cross-validated skill with its interval) and ``report.json`` (the
same facts for machines). The accuracy is the method's cross-validation **on this survey**
(its spatial folds, scored and bootstrapped as the board scores them), not a figure from the
benchmark's own scenes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geochem_bench.core.atomic import write_text_atomic

if TYPE_CHECKING:
    from geochem_bench.mapping.element_map import ElementMap
    from geochem_bench.mapping.survey_view import SurveyView

#: Longest side, in pixels, at which the figure reads a map (from the COG's overviews).
PREVIEW_CELLS = 1024


def write_report(maps: Sequence[ElementMap], out: Path, survey: SurveyView) -> list[Path]:
    """Write ``report.json``, ``report.png`` and ``report.md`` into ``out``."""
    facts = report_facts(maps, survey)
    paths = [out / "report.json", out / "report.png", out / "report.md"]
    write_text_atomic(paths[0], json.dumps(facts, indent=1) + "\n")
    _figure(maps, survey, paths[1])
    write_text_atomic(paths[2], _markdown(facts))
    return paths


def report_facts(maps: Sequence[ElementMap], survey: SurveyView) -> dict[str, Any]:
    """The report's facts as plain JSON types (``report.json``)."""
    from geochem_bench import __version__

    return {
        "survey": str(survey.folder.resolve()),
        "scene": survey.name,
        "grid": {
            "height": survey.grid.height,
            "width": survey.grid.width,
            "crs": survey.grid.crs,
            "transform": list(survey.grid.transform)[:6],
        },
        "valid_cells": survey.valid_cells,
        "input_sha256": survey.sha256,
        "geochem_bench_version": __version__,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "elements": {m.element: _element_facts(m) for m in maps},
    }


def _element_facts(m: ElementMap) -> dict[str, Any]:
    def interval(i: Any) -> dict[str, float | None]:
        return {"estimate": i.estimate, "low": i.low, "high": i.high}

    return {
        "unit": m.unit,
        "analysis_space": m.analysis_space,
        "map": m.path.name,
        "bands": ["mean (natural units)"] + ([f"std ({m.analysis_space})"] if m.has_std else []),
        "method": m.method,
        "method_version": m.version,
        "samples": m.n_samples,
        "source": "lowres grid" if m.from_grid else "samples",
        "streamed": m.streamed,
        "task": m.task_id,
        "cross_validated_on": m.choice.task_id,
        "accuracy_measures": m.accuracy_note,
        "why": m.choice.reason,
        "not_scored": m.choice.left_out,
        "cross_validation": [
            {
                "method": s.submission,
                "version": s.version,
                "folds": s.n_folds,
                "seeds": s.n_seeds,
                "skill": interval(s.skill),
                "rmse": interval(s.rmse[m.element]),
                "mae_natural": s.mae_natural[m.element],
                "bias": s.bias.get(m.element),
            }
            for s in m.choice.scores
        ],
    }


def _markdown(facts: dict[str, Any]) -> str:
    lines = [
        f"# Geochemical map of `{facts['scene']}`",
        "",
        f"Grid {facts['grid']['height']} rows x {facts['grid']['width']} columns "
        f"({facts['grid']['crs'] or 'local coordinates'}), {facts['valid_cells']} valid cells; "
        f"geochem-bench {facts['geochem_bench_version']}, {facts['date']}.",
        "",
        "![map, samples and cross-validated skill](report.png)",
        "",
        "Accuracy is each method's cross-validation on this survey, scored as the benchmark "
        "board scores: for an element mapped from samples, the survey's spatial-block folds "
        "(every sample held out once, the method fitted on the others), *skill* being 1 - MSE "
        "/ MSE of the training-sample mean; for an element downscaled from a lowres grid, "
        "Wald's protocol one scale up, *skill* being 1 - MSE / MSE of bicubic upsampling. "
        "Skill is in the element's analysis space (> 0 beats the reference, 1 is perfect); the "
        "95 % intervals are the board's block bootstrap. RMSE is in the analysis space; MAE "
        "is in natural units (mean over folds). A map from samples is fitted on every sample, "
        "so it is at least as well informed as the folds were.",
    ]
    for symbol, e in facts["elements"].items():
        lines += [
            "",
            f"## {symbol} ({e['unit']})",
            "",
            f"- map: `{e['map']}` (Cloud-Optimized GeoTIFF; bands: {', '.join(e['bands'])})",
            f"- method: **{e['method']} {e['method_version']}**, "
            + (
                "downscaling the survey's lowres grid"
                if e["source"] == "lowres grid"
                else f"fitted on all {e['samples']} samples"
            ),
            f"- why: {e['why']}",
            f"- mapped as task `{e['task']}`, cross-validated on task "
            f"`{e['cross_validated_on']}`; the accuracy measures "
            f"{e['accuracy_measures']}",
            "",
            f"| method | skill [95 % CI] | RMSE ({e['analysis_space']}) [95 % CI] | "
            f"MAE ({e['unit']}) | bias ({e['analysis_space']}) |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in e["cross_validation"]:
            name = f"**{row['method']}**" if row["method"] == e["method"] else row["method"]
            bias = row["bias"]
            lines.append(
                f"| {name} {row['version']} | {_fmt(row['skill'], True)} | "
                f"{_fmt(row['rmse'], False)} | {row['mae_natural']:.4g} | "
                + (f"{bias:+.3f}" if bias is not None else "")
                + " |"
            )
        for name, why in sorted(e["not_scored"].items()):
            lines.append(f"| {name} | not scored: {why} | | | |")
    return "\n".join(lines) + "\n"


def _fmt(interval: dict[str, float | None], signed: bool) -> str:
    spec = "+.3f" if signed else ".3f"
    text = format(interval["estimate"], spec)
    if interval["low"] is not None and interval["high"] is not None:
        text += f" [{format(interval['low'], spec)}, {format(interval['high'], spec)}]"
    return text


def _figure(maps: Sequence[ElementMap], scene: SurveyView, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm, Normalize

    rows = len(maps)
    fig, axes = plt.subplots(rows, 3, figsize=(15, 4.6 * rows), squeeze=False)
    left, bottom, right, top = scene.grid.bounds
    extent = (left, right, bottom, top)
    points = scene.points
    for r, m in enumerate(maps):
        mean, std = _preview(m.path)
        ax_map, ax_std, ax_cv = axes[r]
        values = points.column(m.element) if points is not None else None
        finite = mean[np.isfinite(mean)]
        log = m.analysis_space == "log10" and finite.size and finite.min() > 0
        lo, hi = np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
        norm = LogNorm(lo, hi) if log else Normalize(lo, hi)
        image = ax_map.imshow(mean, extent=extent, norm=norm, cmap="viridis")
        if points is not None and values is not None:
            seen = np.isfinite(values)
            ax_map.scatter(
                points.x[seen],
                points.y[seen],
                c=values[seen],
                norm=norm,
                cmap="viridis",
                s=14,
                edgecolors="white",
                linewidths=0.6,
            )
        fig.colorbar(image, ax=ax_map, label=f"{m.element} ({m.unit})", shrink=0.8)
        ax_map.set_title(f"{m.element}: {m.method} {m.version}, samples over it")
        if std is not None:
            shown = ax_std.imshow(std, extent=extent, cmap="magma")
            fig.colorbar(shown, ax=ax_std, label=f"std ({m.analysis_space})", shrink=0.8)
            ax_std.set_title("predictive standard deviation")
        else:
            ax_std.text(0.5, 0.5, f"{m.method} gives no predictive std", ha="center")
            ax_std.set_axis_off()
        _skill_panel(ax_cv, m)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _skill_panel(ax: Any, m: ElementMap) -> None:
    scores = m.choice.scores
    names = [f"{s.submission} {s.version}" for s in scores]
    est = np.array([s.skill.estimate for s in scores])
    low = np.array([s.skill.low if s.skill.low is not None else s.skill.estimate for s in scores])
    high = np.array(
        [s.skill.high if s.skill.high is not None else s.skill.estimate for s in scores]
    )
    y = np.arange(len(scores))[::-1]
    colours = ["#0072B2" if s.submission == m.method else "#999999" for s in scores]
    ax.barh(y, est, color=colours)
    # a percentile interval need not hold the estimate (a mean of per-fold skills): clip
    xerr = [np.maximum(est - low, 0.0), np.maximum(high - est, 0.0)]
    ax.errorbar(est, y, xerr=xerr, fmt="none", ecolor="black", capsize=3)
    ax.set_yticks(y, names)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("cross-validated skill (95 % CI)")
    ax.set_title("methods on this survey")


def _preview(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Band 1 and 2 of a map, read from its overviews at most ``PREVIEW_CELLS`` a side."""
    import rasterio

    with rasterio.open(path) as src:
        factor = max(1, int(np.ceil(max(src.height, src.width) / PREVIEW_CELLS)))
        shape = (max(1, src.height // factor), max(1, src.width // factor))
        data = src.read(out_shape=(src.count, *shape), masked=True).astype(np.float64)
    bands = data.filled(np.nan)
    return bands[0], (bands[1] if len(bands) > 1 else None)
