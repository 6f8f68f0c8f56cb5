"""Figures of a task fold: truth or held-out samples, lowres, covariates, predictions, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.task import HeldOut, TaskInputs

_RGB_BANDS = ("red", "green", "blue")


def covariates_rgb(inputs: TaskInputs) -> NDArray[np.float64]:
    """A display RGB from the covariates.

    Uses the red/green/blue bands if present, else the first three.
    """
    return stretch_rgb(inputs.covariates[rgb_band_indices(inputs.band_names)])


def rgb_band_indices(band_names: tuple[str, ...]) -> list[int]:
    """Indices of the red, green and blue bands, or of the first three bands."""
    names = [n.lower() for n in band_names]
    if all(b in names for b in _RGB_BANDS):
        return [names.index(b) for b in _RGB_BANDS]
    return [min(i, len(names) - 1) for i in range(3)]


def stretch_rgb(bands: NDArray[np.floating]) -> NDArray[np.float64]:
    """(3, H, W) bands to an (H, W, 3) image, each stretched between its 2nd and 98th percentile."""
    rgb = np.moveaxis(np.asarray(bands, dtype=np.float64), 0, -1).copy()
    for c in range(3):
        band = rgb[..., c]
        finite = band[np.isfinite(band)]
        lo, hi = np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0)
        rgb[..., c] = np.clip((band - lo) / max(hi - lo, 1e-12), 0, 1)
    return np.nan_to_num(rgb)


def plot_fold(
    inputs: TaskInputs,
    held_out: HeldOut,
    predictions: dict[str, NDArray[np.floating]] | None = None,
    element: str | None = None,
    path: str | Path | None = None,
) -> Any:
    """Draw one task fold for one element.

    Panels: truth (grid protocol) or held-out samples; the lowres input; covariates RGB with
    the training samples; then for each prediction the predicted field and its error (in
    analysis space: on every cell for the grid protocol, at held-out samples otherwise).

    Args:
        inputs: the fold's inputs.
        held_out: the fold's held-out values.
        predictions: named predictions (E, H, W) in natural units.
        element: element symbol to draw (default: the first target).
        path: where to save a PNG; the figure is returned either way.

    Returns:
        The matplotlib figure.
    """
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    predictions = predictions or {}
    symbols = [e.symbol for e in inputs.elements]
    e = symbols.index(element) if element else 0
    el = inputs.elements[e]
    label = f"{el.symbol} ({'log10 ' if el.analysis_space == 'log10' else ''}{el.unit})"
    extent = _extent(inputs)
    lowres = el.to_analysis(inputs.lowres[e])
    truth = el.to_analysis(held_out.truth[e]) if held_out.truth is not None else None
    reference = truth if truth is not None else lowres
    vmin, vmax = np.nanpercentile(reference, [1, 99])

    n_rows = 1 + len(predictions)
    fig, axes = plt.subplots(n_rows, 3, figsize=(12.5, 3.9 * n_rows), squeeze=False)
    xs, ys = _held_out_xy(inputs, held_out)
    top = axes[0]
    if truth is not None:
        im = top[0].imshow(truth, extent=extent, vmin=vmin, vmax=vmax, cmap="viridis")
        top[0].set_title(f"truth {label}")
    else:
        values = (
            el.to_analysis(held_out.values[:, e]) if held_out.values is not None else np.array([])
        )
        im = _scatter(top[0], xs, ys, values, extent, vmin, vmax, "viridis")
        top[0].set_title(f"held-out samples {label}")
    fig.colorbar(im, ax=top[0], shrink=0.8)
    im = top[1].imshow(
        lowres, extent=_extent(inputs, coarse=True), vmin=vmin, vmax=vmax, cmap="viridis"
    )
    top[1].set_title(f"lowres input (x{inputs.scale})")
    fig.colorbar(im, ax=top[1], shrink=0.8)
    top[2].imshow(covariates_rgb(inputs), extent=extent)
    if inputs.points is not None:
        top[2].scatter(inputs.points.x, inputs.points.y, s=3, c="white", edgecolors="none")
        top[2].set_title("covariates RGB, training samples")
    else:
        top[2].set_title("covariates RGB")

    for row, (name, pred) in zip(axes[1:], predictions.items()):
        field = el.to_analysis(np.asarray(pred)[e])
        im = row[0].imshow(field, extent=extent, vmin=vmin, vmax=vmax, cmap="viridis")
        row[0].set_title(f"{name}: prediction")
        fig.colorbar(im, ax=row[0], shrink=0.8)
        if truth is not None:
            err = field - truth
            lim = float(np.nanpercentile(np.abs(err), 99)) or 1.0
            im = row[1].imshow(err, extent=extent, vmin=-lim, vmax=lim, cmap="RdBu_r")
            t_vals, p_vals = truth[np.isfinite(err)], field[np.isfinite(err)]
        else:
            assert (
                held_out.rows is not None
                and held_out.cols is not None
                and held_out.values is not None
            )
            t_vals = el.to_analysis(held_out.values[:, e])
            p_vals = field[held_out.rows, held_out.cols]
            err = p_vals - t_vals
            lim = float(np.nanpercentile(np.abs(err), 99)) if np.isfinite(err).any() else 1.0
            im = _scatter(row[1], xs, ys, err, extent, -lim, lim, "RdBu_r")
        row[1].set_title(f"{name}: error (prediction - truth)")
        fig.colorbar(im, ax=row[1], shrink=0.8)
        if t_vals.size > 20000:  # a readable scatter needs no more points than this
            pick = np.random.default_rng(0).choice(t_vals.size, 20000, replace=False)
            t_vals, p_vals = t_vals[pick], p_vals[pick]
        row[2].scatter(t_vals, p_vals, s=2, alpha=0.4)
        row[2].plot([vmin, vmax], [vmin, vmax], "k--", lw=0.8)
        row[2].set_xlabel("truth")
        row[2].set_ylabel("prediction")
        row[2].set_title(f"{name}: prediction vs truth")
    for ax in axes.flat:
        ax.tick_params(labelsize=6)
    for ax in axes[:, :2].flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 2].set_xticks([])
    axes[0, 2].set_yticks([])
    fig.suptitle(f"{inputs.task_id}  fold {inputs.fold}  ({el.symbol})", fontsize=11)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=90)
        plt.close(fig)
    return fig


def _scatter(
    ax: Any,
    xs: Any,
    ys: Any,
    values: Any,
    extent: tuple[float, float, float, float],
    vmin: float,
    vmax: float,
    cmap: str,
) -> Any:
    im = ax.scatter(
        xs, ys, c=values, s=14, vmin=vmin, vmax=vmax, cmap=cmap, edgecolors="k", linewidths=0.3
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    return im


def _extent(inputs: TaskInputs, coarse: bool = False) -> tuple[float, float, float, float]:
    grid = inputs.lowres_grid if coarse else inputs.grid
    left, bottom, right, top = grid.bounds
    return (left, right, bottom, top)


def _held_out_xy(
    inputs: TaskInputs, held_out: HeldOut
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if held_out.rows is None or held_out.cols is None:
        return np.array([]), np.array([])
    return inputs.grid.centres(held_out.rows, held_out.cols)
