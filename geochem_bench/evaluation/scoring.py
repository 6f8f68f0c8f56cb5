"""Checking a prediction and computing every metric of a task fold.

Metrics are computed per element in its analysis space (log10 for trace elements), over the
valid fine cells (grid protocol) or the held-out samples (points protocols). Natural-unit
RMSE and MAE are reported too, as the literature does for Jura and Meuse. Skill compares the
RMSE with that of the protocol's reference prediction
(:func:`~geochem_bench.evaluation.reference.reference_prediction`): bicubic upsampling of the
lowres grid on the grid protocol, the training-sample mean on the points protocols.

Moment-based metrics come from the streaming engine (:mod:`geochem_bench.metrics.streaming`)
with the whole fold as one chunk, the same code tiled scoring feeds tile by tile.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from geochem_bench import metrics
from geochem_bench.core.task import HeldOut, Prediction, TaskInputs
from geochem_bench.errors import InvalidPrediction
from geochem_bench.evaluation.records import ErrorBlocks

MetricTable = dict[str, dict[str, float | None]]
OVERALL = "overall"
#: Smallest edge, in fine cells, of a bootstrap block on the grid protocol. Upsampling errors
#: are correlated over a few coarse cells, so blocks span at least 32 fine cells and a whole
#: number of coarse cells.
MIN_BLOCK_EDGE_CELLS = 32
#: Order of the metrics in a record's row ("anomaly" stands for every ``ap_pXX``/``f1_pXX``).
#: Records are compared and rendered by key, but a stable order keeps the files diffable.
ROW_ORDER: tuple[str, ...] = (
    "n",
    "n_censored",
    "rmse",
    "mae",
    "bias",
    "r2",
    "pearson_r",
    "spearman_rho",
    "lin_ccc",
    "rmse_natural",
    "mae_natural",
    "rmse_reference",
    "skill",
    "anomaly",
    "psnr",
    "ssim",
    "coherence",
    "crps",
    "coverage_90",
)


def validate_prediction(output: object, inputs: TaskInputs) -> Prediction:
    """Check a model's output against the task fold and wrap it in a Prediction.

    Raises:
        InvalidPrediction: wrong type, dtype or shape; NaN/inf on a valid cell; a non-positive
            value for a log10 element; a bad standard deviation.
    """
    prediction = output if isinstance(output, Prediction) else Prediction(mean=output)  # type: ignore[arg-type]
    expected = inputs.output_shape
    _check_array("prediction", prediction.mean, expected)
    valid_values = prediction.mean[:, inputs.valid]
    if not np.isfinite(valid_values).all():
        bad = int((~np.isfinite(valid_values)).sum())
        raise InvalidPrediction(
            f"prediction has {bad} NaN/inf values on valid cells; every cell where inputs.valid "
            "is True needs a finite value"
        )
    for e, element in enumerate(inputs.elements):
        if element.analysis_space == "log10" and (valid_values[e] <= 0).any():
            raise InvalidPrediction(
                f"prediction of {element.symbol} has non-positive concentrations on valid cells; "
                "log10 elements must be > 0 (predict in log space and back-transform)"
            )
    if prediction.std is not None:
        _check_array("std", prediction.std, expected)
        std_valid = prediction.std[:, inputs.valid]
        if not np.isfinite(std_valid).all() or (std_valid < 0).any():
            raise InvalidPrediction("std must be finite and >= 0 on every valid cell")
    return prediction


def validate_site_prediction(output: object, inputs: TaskInputs, n_sites: int) -> Prediction:
    """Check what ``predict_points`` returned for ``n_sites`` held-out sites, as a Prediction.

    The rules of :func:`validate_prediction`, at every site rather than on the valid cells.

    Raises:
        InvalidPrediction: not a float32 array (or Prediction of them) of shape (E, M);
            NaN/inf at a site; a non-positive value for a log10 element; a bad std.
    """
    prediction = output if isinstance(output, Prediction) else Prediction(mean=output)  # type: ignore[arg-type]
    expected = (len(inputs.elements), n_sites)
    where = "predict_points"
    _check_array(f"{where} mean", prediction.mean, expected, "(E, M) = (elements, sites)")
    values = prediction.mean
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise InvalidPrediction(
            f"{where} returned {bad} NaN/inf values; every held-out site needs a finite value "
            "(return None to be scored on predict()'s cells instead)"
        )
    for e, element in enumerate(inputs.elements):
        if element.analysis_space == "log10" and (values[e] <= 0).any():
            raise InvalidPrediction(
                f"{where} returned non-positive concentrations of {element.symbol}; log10 "
                "elements must be > 0 (predict in log space and back-transform)"
            )
    if prediction.std is not None:
        _check_array(f"{where} std", prediction.std, expected, "(E, M) = (elements, sites)")
        if not np.isfinite(prediction.std).all() or (prediction.std < 0).any():
            raise InvalidPrediction(f"{where} std must be finite and >= 0 at every site")
    return prediction


def _check_array(
    what: str, array: object, expected: tuple[int, ...], named: str = "(E, H, W)"
) -> None:
    if not isinstance(array, np.ndarray):
        raise InvalidPrediction(
            f"{what} must be a numpy array, got {type(array).__name__}; "
            "convert tensors with .detach().cpu().numpy()"
        )
    if type(array) is not np.ndarray:
        # a subclass (masked array, matrix, or one that overrides ufuncs) need not mean what
        # its values say: the checks below and the metrics assume a plain array
        raise InvalidPrediction(
            f"{what} must be a plain numpy.ndarray, got the subclass {type(array).__name__}; "
            "return np.asarray(...) of its values (fill masked values first)"
        )
    if array.dtype != np.float32:
        raise InvalidPrediction(
            f"{what} must be float32, got {array.dtype}; use .astype(np.float32)"
        )
    if array.shape != expected:
        raise InvalidPrediction(f"{what} must have shape {named} = {expected}, got {array.shape}")


def score_fold(
    inputs: TaskInputs,
    held_out: HeldOut,
    prediction: Prediction,
    reference: NDArray[np.float32],
) -> MetricTable:
    """All metrics of one task fold.

    Args:
        inputs: the fold's inputs (elements, lowres, scale, valid mask).
        held_out: what the fold is scored against.
        prediction: a validated prediction.
        reference: the fold's reference prediction (natural units), for skill.

    Returns:
        ``{element symbol: {metric: value}, "overall": {...}}``; undefined values are None.
    """
    table: MetricTable = {}
    rmse_nat, mean_nat, skills = [], [], []
    grid_protocol = held_out.truth is not None
    for e, element in enumerate(inputs.elements):
        truth_nat, pred_nat = held_out.pairs(prediction.mean, e)
        _, ref_nat = held_out.pairs(reference, e)
        t, p = element.to_analysis(truth_nat), element.to_analysis(pred_nat)
        ref = element.to_analysis(ref_nat)
        # Moment-based metrics: the one-chunk case of the engine tiled scoring streams through.
        moments = metrics.ElementMoments()
        moments.update(t, p, ref, truth_nat, pred_nat)
        # Metrics that need every cell at once.
        whole: dict[str, float] = {"spearman_rho": metrics.spearman_rho(t, p)}
        whole.update(held_out.censoring_row(e))  # points protocols: n_censored
        whole.update(metrics.anomaly_metrics(t, p))
        if grid_protocol:
            assert held_out.truth is not None
            truth_field = element.to_analysis(held_out.truth[e])
            pred_field = element.to_analysis(prediction.mean[e])
            mask = inputs.valid & np.isfinite(truth_field)
            data_range = moments.analysis.data_range
            whole["ssim"] = metrics.ssim(truth_field, pred_field, mask, data_range=data_range)
            masked_pred = np.where(inputs.valid, prediction.mean[e], np.nan)
            moments.update_coherence(
                *metrics.coherence_pairs(
                    masked_pred,
                    inputs.lowres[e],
                    inputs.scale,
                    level=element.analysis_space == "linear",
                )
            )
        if prediction.std is not None:
            s = held_out.scored(prediction.std, e)
            whole["crps"] = metrics.crps_gaussian(t, p, s)
            whole["coverage_90"] = metrics.interval_coverage(t, p, s, 0.9)
        row = in_record_order(moments.row(grid=grid_protocol) | whole)
        table[element.symbol] = finite_or_none(row)
        rmse_nat.append(row["rmse_natural"])
        mean_nat.append(moments.natural.truth_mean)
        skills.append(row["skill"])
    # Only unit-free summaries across elements: RMSEs in different spaces do not average.
    overall: dict[str, float] = {"skill": float(np.mean(skills))}
    if grid_protocol:
        overall["ergas"] = metrics.ergas(np.array(rmse_nat), np.array(mean_nat), inputs.scale)
    table[OVERALL] = finite_or_none(overall)
    return table


def in_record_order(row: dict[str, float]) -> dict[str, float]:
    """A metric row with its keys in the order records have always listed them.

    Anomaly metrics (``ap_pXX``, ``f1_pXX``) keep their own order, after ``skill``.
    """

    def rank(key: str) -> int:
        slot = "anomaly" if key.startswith(("ap_p", "f1_p")) else key
        return ROW_ORDER.index(slot) if slot in ROW_ORDER else len(ROW_ORDER)

    return dict(sorted(row.items(), key=lambda item: rank(item[0])))


def block_edge_cells(scale: int) -> int:
    """Edge of a grid-protocol bootstrap block: the smallest multiple of ``scale`` >= 32."""
    return scale * math.ceil(MIN_BLOCK_EDGE_CELLS / scale)


def error_blocks(
    inputs: TaskInputs,
    held_out: HeldOut,
    prediction: Prediction,
    reference: NDArray[np.float32],
) -> dict[str, ErrorBlocks]:
    """Per-block squared-error sums of each element, the input of bootstrap intervals.

    Summing ``sse`` over all blocks and dividing by the summed ``n`` gives the fold's squared
    RMSE exactly, so a bootstrap over blocks reproduces the recorded RMSE and skill when it
    draws every block once.
    """
    blocks: dict[str, ErrorBlocks] = {}
    for e, element in enumerate(inputs.elements):
        truth_nat, pred_nat = held_out.pairs(prediction.mean, e)
        _, ref_nat = held_out.pairs(reference, e)  # censoring rule as in score_fold
        t = element.to_analysis(truth_nat)
        sq = (element.to_analysis(pred_nat) - t) ** 2
        sq_ref = (element.to_analysis(ref_nat) - t) ** 2
        if held_out.truth is None:
            edge, group = None, np.arange(t.size)
        else:
            edge = block_edge_cells(inputs.scale)
            width = held_out.truth.shape[2]
            flat = np.flatnonzero(np.isfinite(held_out.truth[e].ravel()))
            group = grid_block_ids(flat // width, flat % width, width, edge)
        blocks[element.symbol] = blocks_from_sums(
            edge,
            np.bincount(group),
            np.bincount(group, weights=sq),
            np.bincount(group, weights=sq_ref),
        )
    return blocks


def grid_block_ids(
    rows: NDArray[np.integer], cols: NDArray[np.integer], width: int, edge: int
) -> NDArray[np.intp]:
    """Row-major index of the ``edge`` x ``edge`` bootstrap block holding each fine cell."""
    return np.asarray((rows // edge) * -(-width // edge) + cols // edge, dtype=np.intp)


def blocks_from_sums(
    edge: int | None,
    n: NDArray[np.number],
    sse: NDArray[np.number],
    sse_reference: NDArray[np.number],
) -> ErrorBlocks:
    """Per-block sums as a record's :class:`ErrorBlocks`, blocks without a scored cell dropped."""
    keep = n > 0
    return ErrorBlocks(
        block_edge_cells=edge,
        n=n[keep].astype(np.int64).tolist(),
        sse=sse[keep].tolist(),
        sse_reference=sse_reference[keep].tolist(),
    )


def finite_or_none(row: dict[str, float]) -> dict[str, float | None]:
    """A metric row with NaN/inf as None: JSON has neither, an undefined metric is null."""
    return {k: (float(v) if math.isfinite(v) else None) for k, v in row.items()}
