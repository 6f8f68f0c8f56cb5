"""Tiled, streaming evaluation of the grid protocol on scenes larger than memory.

A built scene (``covariates.tif``, ``valid.tif``, ``truth.tif``, ``scene.json``; see
:mod:`geochem_bench.data.store`) is read by windows. Memory holds one tile of fine cells at a time
plus the coarse grid (scale² times smaller than the scene) and per-block error
sums:

1. the lowres grid (block means of the truth) is built window by window;
2. the model is fitted once, on a central window of at most ``fit_cells`` fine cells a side
   (the whole scene when it is smaller);
3. each tile is predicted from a window with a halo of ``model.context_cells(scale)`` fine
   cells (the model's receptive field), cropped to the tile, optionally written to a GeoTIFF
   by windows, and scored into streaming moments.

Scores are exact, not approximations: RMSE, MAE, bias, R², Pearson r, Lin's CCC, natural-unit
RMSE/MAE, skill against bicubic upsampling, PSNR, the coherence error and ERGAS come from the
streaming engine of :mod:`geochem_bench.metrics.streaming` (per-tile moments merged with Chan
et al.'s update, the code in-memory scoring runs on one chunk), and the per-block error sums of
the bootstrap are the same blocks as in memory, so a small scene scores the same tiled and in
memory (tested to 1e-9). Metrics that need all cells at once (Spearman's rank correlation,
anomaly average precision, SSIM) are not computed in tiled mode.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from numpy.typing import NDArray

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec, block_mean
from geochem_bench.core.samples import Samples
from geochem_bench.core.task import Prediction, Protocol, TaskInputs, TaskSpec
from geochem_bench.core.tiling import Window, tiles
from geochem_bench.errors import InvalidInputError
from geochem_bench.evaluation.provenance import gpu_name, peak_rss_mb
from geochem_bench.evaluation.record_factory import (
    built_dataset_info,
    make_record,
    submission_info,
)
from geochem_bench.evaluation.records import (
    ErrorBlocks,
    ResultRecord,
    Runtime,
    result_path,
    write_result,
)
from geochem_bench.evaluation.scoring import (
    OVERALL,
    MetricTable,
    block_edge_cells,
    blocks_from_sums,
    finite_or_none,
    grid_block_ids,
    in_record_order,
)
from geochem_bench.evaluation.submission import Submission
from geochem_bench.metrics import ElementMoments, coherence_pairs, ergas
from geochem_bench.models.upsampling import fill_empty_cells, interpolation_matrix


@dataclass(frozen=True)
class DiskScene:
    """A built scene read by windows.

    Attributes:
        folder: the built scene folder.
        grid: the fine grid.
        elements: the elements of ``truth.tif``, in band order.
        band_names: covariate band names.
    """

    folder: Path
    grid: GridSpec
    elements: tuple[Element, ...]
    band_names: tuple[str, ...]

    @classmethod
    def open(cls, folder: str | Path, truth: bool = True) -> DiskScene:
        """Open a built scene folder.

        Args:
            folder: the built scene (or ``make-task`` survey) folder.
            truth: require ``truth.tif`` (the grid protocol's field); a survey of samples
                has none.

        Raises:
            FileNotFoundError: a required file is missing (the message names it).
        """
        folder = Path(folder)
        required = ("scene.json", "covariates.tif", "valid.tif") + (("truth.tif",) if truth else ())
        for name in required:
            if not (folder / name).is_file():
                raise FileNotFoundError(
                    f"{folder / name} is missing; tiled grid evaluation needs a built scene "
                    "with an exhaustive truth (write_scene or write_large_synthetic)"
                )
        meta = json.loads((folder / "scene.json").read_text())
        g = meta["grid"]
        return cls(
            folder=folder,
            grid=GridSpec(g["height"], g["width"], Affine(*g["transform"]), g["crs"]),
            elements=tuple(Element(**e) for e in meta["elements"]),
            band_names=tuple(meta["band_names"]),
        )

    def read(self, name: str, window: Window) -> NDArray[np.float32]:
        """Bands (B, h, w) of ``<name>.tif`` over a window."""
        import rasterio

        with rasterio.open(self.folder / f"{name}.tif") as src:
            return np.asarray(src.read(window=window.rasterio()), dtype=np.float32)

    def read_cells(
        self, name: str, rows: NDArray[np.intp], cols: NDArray[np.intp]
    ) -> NDArray[np.float32]:
        """Bands of ``<name>.tif`` at fine cells (N, B): what a window read would give there."""
        import rasterio

        x, y = self.grid.centres(rows, cols)
        with rasterio.open(self.folder / f"{name}.tif") as src:
            return np.array(list(src.sample(zip(x, y))), dtype=np.float32).reshape(
                len(rows), src.count
            )


def tiled_lowres(
    scene: DiskScene, scale: int, tile: int = 2048
) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    """Block means of the truth over valid cells, computed window by window."""
    grid = scene.grid
    h, w = math.ceil(grid.height / scale), math.ceil(grid.width / scale)
    lowres = np.full((len(scene.elements), h, w), np.nan, dtype=np.float32)
    count = np.zeros((len(scene.elements), h, w), dtype=np.int32)
    for win in tiles(grid.height, grid.width, tile, scale):
        truth = scene.read("truth", win)
        valid = scene.read("valid", win)[0] > 0.5
        mean, n = block_mean(np.where(valid, truth, np.nan), scale)
        r0, c0 = win.row0 // scale, win.col0 // scale
        lowres[:, r0 : r0 + mean.shape[1], c0 : c0 + mean.shape[2]] = mean
        count[:, r0 : r0 + n.shape[1], c0 : c0 + n.shape[2]] = n
    return lowres, count


def window_inputs(
    scene: DiskScene,
    window: Window,
    scale: int,
    lowres: NDArray[np.float32],
    count: NDArray[np.int32],
    task_id: str,
    seed: int,
    protocol: Protocol = "grid",
    points: Samples | None = None,
) -> TaskInputs:
    """The inputs of one window (aligned to the coarse grid), as a model sees a whole scene.

    On a points task every window carries all the samples (``points``, with their
    covariates: :attr:`~geochem_bench.core.samples.Samples.covariates`), samples outside it
    included: a model fitted on them predicts the window's cells.
    """
    if window.row0 % scale or window.col0 % scale:
        raise InvalidInputError(
            f"window {window} is not aligned to the coarse grid (scale {scale})"
        )
    r0, c0 = window.row0 // scale, window.col0 // scale
    r1, c1 = math.ceil(window.row1 / scale), math.ceil(window.col1 / scale)
    transform = scene.grid.transform @ Affine.translation(window.col0, window.row0)
    grid = GridSpec(*window.shape, transform, scene.grid.crs)
    return TaskInputs(
        task_id=task_id,
        fold=0,
        protocol=protocol,
        scale=scale,
        elements=scene.elements,
        covariates=scene.read("covariates", window),
        band_names=scene.band_names,
        valid=scene.read("valid", window)[0] > 0.5,
        grid=grid,
        lowres=lowres[:, r0:r1, c0:c1],
        lowres_count=count[:, r0:r1, c0:c1],
        lowres_grid=grid.coarsen(scale),
        points=points,
        seed=seed,
    )


@dataclass
class TiledResult:
    """Scores of a tiled evaluation.

    Attributes:
        metrics: per element and ``overall``, as :func:`geochem_bench.evaluation.scoring.score_fold`
            (minus Spearman, anomaly AP/F1 and SSIM).
        errors: per-block error sums, the same blocks as in-memory scoring.
        n_tiles: tiles predicted.
    """

    metrics: MetricTable
    errors: dict[str, ErrorBlocks]
    n_tiles: int


def evaluate_tiled(
    scene: DiskScene,
    scale: int,
    model: Any,
    *,
    tile: int = 1024,
    fit_cells: int = 2048,
    seed: int = 0,
    prediction_path: str | Path | None = None,
    task_id: str = "tiled/grid",
) -> TiledResult:
    """Fit a model, predict and score a whole scene tile by tile (grid protocol).

    Args:
        scene: the built scene.
        scale: scale factor of the lowres grid.
        model: a fusion model; ``context_cells(scale)`` (if it has one) is the halo in fine
            cells its prediction needs around a tile (default: six coarse cells, enough for
            the upsampling baselines).
        tile: tile edge in fine cells (rounded up to a multiple of the bootstrap block).
        fit_cells: edge of the central window the model is fitted on.
        seed: handed to the model.
        prediction_path: also write the prediction (float32, natural units) as a GeoTIFF.
        task_id: recorded in the inputs the model sees.
    """
    grid = scene.grid
    lowres, count = tiled_lowres(scene, scale)
    filled = fill_empty_cells(np.stack([e.to_analysis(b) for e, b in zip(scene.elements, lowres)]))
    edge = block_edge_cells(scale)
    wy = interpolation_matrix(grid.height, filled.shape[1], scale, "bicubic")
    wx = interpolation_matrix(grid.width, filled.shape[2], scale, "bicubic")
    moments = [ElementMoments() for _ in scene.elements]
    last = np.array([grid.height - 1]), np.array([grid.width - 1])
    n_blocks = int(grid_block_ids(*last, grid.width, edge)[0]) + 1
    block_n = np.zeros((len(scene.elements), n_blocks))
    block_sse = np.zeros_like(block_n)
    block_ref = np.zeros_like(block_n)
    n_tiles = 0
    predicted_tiles = predict_tiles(
        scene,
        scale,
        model,
        lowres,
        count,
        tile=tile,
        align=edge,
        fit_cells=fit_cells,
        seed=seed,
        task_id=task_id,
    )
    with _prediction_writer(prediction_path, scene) as write:
        for win, prediction, valid in predicted_tiles:
            n_tiles += 1
            core = prediction.mean
            write(core, win)
            truth = scene.read("truth", win)
            rows, cols = np.nonzero(valid)
            for e, element in enumerate(scene.elements):
                finite = np.isfinite(truth[e][rows, cols])
                r, c = rows[finite], cols[finite]
                t_nat = truth[e][r, c].astype(np.float64)
                p_nat = core[e][r, c].astype(np.float64)
                ref_an = (wx[win.col0 : win.col1] @ (wy[win.row0 : win.row1] @ filled[e]).T).T
                t = element.to_analysis(t_nat)
                p = element.to_analysis(p_nat)
                # as in memory: the reference is stored in natural units as float32
                ref_nat = element.from_analysis(ref_an[r, c]).astype(np.float32)
                ref = element.to_analysis(ref_nat.astype(np.float64))
                moments[e].update(t, p, ref, t_nat, p_nat)
                # tiles are whole blocks, so each block's sum comes from one tile
                block = grid_block_ids(r + win.row0, c + win.col0, grid.width, edge)
                block_n[e] += np.bincount(block, minlength=n_blocks)
                block_sse[e] += np.bincount(block, weights=(p - t) ** 2, minlength=n_blocks)
                block_ref[e] += np.bincount(block, weights=(ref - t) ** 2, minlength=n_blocks)
                _add_coherence(moments[e], core[e], valid, lowres[e], win, scale, element)
    return TiledResult(
        metrics=_table(scene, moments, scale),
        errors=_blocks(scene, edge, block_n, block_sse, block_ref),
        n_tiles=n_tiles,
    )


def predict_tiles(
    scene: DiskScene,
    scale: int,
    model: Any,
    lowres: NDArray[np.float32],
    count: NDArray[np.int32],
    *,
    tile: int,
    align: int,
    fit_cells: int = 2048,
    seed: int = 0,
    task_id: str = "tiled/grid",
    points: Samples | None = None,
) -> Iterator[tuple[Window, Prediction, NDArray[np.bool_]]]:
    """Fit a model once, then predict the scene tile by tile (bounded memory).

    The one tiled prediction loop, behind tiled scoring and streamed maps. The model is
    fitted on a central window of at most ``fit_cells`` a side (the whole scene when it is
    smaller); each tile (``tile`` cells, a multiple of ``align``, itself a multiple of
    ``scale``) is predicted from a window grown by the model's halo,
    ``model.context_cells(scale)`` (default six coarse cells, enough for the upsampling
    baselines: bicubic taps reach 2 coarse cells, and an empty coarse cell among them takes
    the value of its nearest non-empty cell, at most 2*sqrt(2) cells further), and cropped.

    With ``points`` (a map from samples: every sample, with its covariates) the windows are
    points-protocol inputs holding all of them; the model fits on every sample (the central
    window then only gives the covariates' fill values) and must predict a cell from the
    samples and that cell's covariates, so the tiles have no halo. Only models that say so
    (``streams_from_samples``) are streamed this way.

    Yields:
        The tile, the prediction on it (mean and std cropped; natural units), and the
        tile's valid cells.

    Raises:
        InvalidInputError: ``points`` for a model without ``streams_from_samples``, or
            samples that do not carry their covariates (one per scene band).
    """
    grid = scene.grid
    protocol: Protocol = "grid" if points is None else "points"
    if points is not None and not getattr(model, "streams_from_samples", False):
        raise InvalidInputError(
            f"{type(model).__name__} does not say it can be fitted on samples and applied "
            "window by window (streams_from_samples); map it in memory instead"
        )
    if points is not None:
        _check_carried_covariates(points, scene)
    _fit(model, scene, scale, lowres, count, fit_cells, task_id, seed, points)
    halo_of = getattr(model, "context_cells", None)
    halo = int(halo_of(scale)) if callable(halo_of) else 6 * scale
    if points is not None:
        halo = 0  # a cell's prediction from samples does not depend on its neighbours
    halo = scale * math.ceil(halo / scale)  # keep the grown window on the coarse grid
    for win in tiles(grid.height, grid.width, tile, align):
        outer = win.grown(halo, grid.height, grid.width)
        inputs = window_inputs(scene, outer, scale, lowres, count, task_id, seed, protocol, points)
        output = model.predict(inputs)
        crop = (
            slice(None),
            slice(win.row0 - outer.row0, win.row1 - outer.row0),
            slice(win.col0 - outer.col0, win.col1 - outer.col0),
        )
        std = output.std if isinstance(output, Prediction) else None
        yield (
            win,
            Prediction(
                mean=_as_array(output)[crop],
                std=None if std is None else np.asarray(std, dtype=np.float32)[crop],
            ),
            inputs.valid[crop[1:]],
        )


def _check_carried_covariates(points: Samples, scene: DiskScene) -> None:
    """Samples streamed to windows carry their covariates, one value per scene band."""
    bands = len(scene.band_names)
    if points.covariates is None:
        raise InvalidInputError(
            "the samples of a streamed map must carry their covariates (Samples.covariates): "
            "a window's raster has no cell for a sample outside it; read them with "
            "DiskScene.read_cells('covariates', *scene.grid.cell_of(x, y)) and "
            "dataclasses.replace(points, covariates=...)"
        )
    if points.covariates.shape[1] != bands:
        raise InvalidInputError(
            f"the samples carry {points.covariates.shape[1]} covariate band(s) but the scene "
            f"has {bands} ({', '.join(scene.band_names)}); read them from its covariates.tif"
        )


def _fit(
    model: Any,
    scene: DiskScene,
    scale: int,
    lowres: NDArray[np.float32],
    count: NDArray[np.int32],
    fit_cells: int,
    task_id: str,
    seed: int,
    points: Samples | None = None,
) -> None:
    if not callable(getattr(model, "fit", None)):
        return
    grid = scene.grid
    side = scale * math.ceil(min(fit_cells, max(grid.height, grid.width)) / scale)
    row0 = scale * max(0, (grid.height - side) // 2 // scale)
    col0 = scale * max(0, (grid.width - side) // 2 // scale)
    centre = Window(row0, min(row0 + side, grid.height), col0, min(col0 + side, grid.width))
    protocol: Protocol = "grid" if points is None else "points"
    model.fit(window_inputs(scene, centre, scale, lowres, count, task_id, seed, protocol, points))


def _as_array(output: Any) -> NDArray[np.float32]:
    mean = output.mean if isinstance(output, Prediction) else output
    return np.asarray(mean, dtype=np.float32)


def _add_coherence(
    moments: ElementMoments,
    prediction: NDArray[np.float32],
    valid: NDArray[np.bool_],
    lowres: NDArray[np.float32],
    win: Window,
    scale: int,
    element: Element,
) -> None:
    # Coherence: block means of the prediction (valid cells) against the lowres grid.
    # Tiles are whole coarse cells, so each coarse cell is compared in exactly one tile.
    r0, c0 = win.row0 // scale, win.col0 // scale
    h, w = math.ceil(prediction.shape[0] / scale), math.ceil(prediction.shape[1] / scale)
    moments.update_coherence(
        *coherence_pairs(
            np.where(valid, prediction, np.nan),
            lowres[r0 : r0 + h, c0 : c0 + w],
            scale,
            level=element.analysis_space == "linear",
        )
    )


def _table(scene: DiskScene, moments: list[ElementMoments], scale: int) -> MetricTable:
    table: MetricTable = {}
    skills, rmse_nat, mean_nat = [], [], []
    for element, m in zip(scene.elements, moments):
        row = in_record_order(m.row(grid=True))
        table[element.symbol] = finite_or_none(row)
        skills.append(row["skill"])
        rmse_nat.append(row["rmse_natural"])
        mean_nat.append(m.natural.truth_mean)
    overall = {
        "skill": float(np.mean(skills)),
        "ergas": ergas(np.array(rmse_nat), np.array(mean_nat), scale),
    }
    table[OVERALL] = finite_or_none(overall)
    return table


def _blocks(
    scene: DiskScene,
    edge: int,
    n: NDArray[np.float64],
    sse: NDArray[np.float64],
    ref: NDArray[np.float64],
) -> dict[str, ErrorBlocks]:
    return {
        element.symbol: blocks_from_sums(edge, n[e], sse[e], ref[e])
        for e, element in enumerate(scene.elements)
    }


@contextmanager
def _prediction_writer(
    path: str | Path | None, scene: DiskScene
) -> Iterator[Callable[[NDArray[np.float32], Window], None]]:
    """Write a float32 GeoTIFF window by window; it appears at ``path`` only when complete."""
    if path is None:
        yield lambda data, win: None
        return
    import rasterio

    from geochem_bench.core.atomic import atomic_path
    from geochem_bench.data.geotiff import windowed_profile

    with (
        atomic_path(path, suffix=".tif") as tmp,
        rasterio.open(
            tmp, "w", **windowed_profile(scene.grid, len(scene.elements), nodata=np.nan)
        ) as dst,
    ):
        yield lambda data, win: dst.write(data, window=win.rasterio())


def tiled_record(
    scene: DiskScene,
    submission: Submission,
    scale: int,
    out_dir: Path,
    *,
    tile: int = 1024,
    fit_cells: int = 2048,
    seed: int = 0,
    save_prediction: bool = False,
) -> tuple[ResultRecord, Path]:
    """Evaluate a submission tile by tile; write a record of task ``<scene>/all/s<k>/grid``.

    The record comes from :func:`~geochem_bench.evaluation.record_factory.make_record`, as
    the harness's do, so it has the same layout, schema and provenance; its dataset sha256
    are those of the scene's ``manifest.json`` when the build has one. Returns the record
    and its path.
    """
    dataset = built_dataset_info(scene.folder)
    task = TaskSpec(
        dataset.scene, tuple(e.symbol for e in scene.elements), scale, "grid", label="all"
    )
    info = submission_info(submission)
    path = result_path(out_dir, info.name, info.version, task.id, 0)
    model = submission.build()
    start = time.perf_counter()
    result = evaluate_tiled(
        scene,
        scale,
        model,
        tile=tile,
        fit_cells=fit_cells,
        seed=seed,
        task_id=task.id,
        prediction_path=path.with_suffix(".tif") if save_prediction else None,
    )
    elapsed = time.perf_counter() - start
    record = make_record(
        info,
        task,
        0,
        dataset,
        seed=seed,
        metrics=result.metrics,
        errors=result.errors,
        # evaluate_tiled fits, reads, predicts and scores in one go; all of it is predict time
        runtime=Runtime(fit_s=0.0, predict_s=elapsed, total_s=elapsed),
        peak_memory_mb=peak_rss_mb(),
        gpu=gpu_name(),
    )
    write_result(record, path)
    return record, path
