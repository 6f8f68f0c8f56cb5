"""Anomaly recovery: how well a prediction ranks and flags the highs of the truth.

Exploration cares about the upper tail. With tau the q-th percentile of the truth, the
prediction is used as a score for the event "truth > tau" (average precision) and thresholded
at the same tau (F1).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]


def average_precision(labels: NDArray[np.bool_], scores: Array) -> float:
    """Average precision, sum over thresholds of (R_n - R_{n-1}) P_n.

    Tied scores form one threshold, as in ``sklearn.metrics.average_precision_score``.
    NaN when there is no positive label.
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    order = np.argsort(-s, kind="mergesort")
    return _average_precision_sorted(np.asarray(labels, dtype=bool).ravel()[order], s[order])


def _average_precision_sorted(y: NDArray[np.bool_], s: NDArray[np.float64]) -> float:
    """Average precision of labels ``y`` already ordered by decreasing score ``s``."""
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tp = np.cumsum(y)[last_of_tie]
    precision = tp / (last_of_tie + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def f1_at_threshold(truth: Array, pred: Array, threshold: float) -> float:
    """F1 of the classification "pred > threshold" against "truth > threshold".

    NaN when neither side has a positive (the score is undefined, not perfect).
    """
    t = np.asarray(truth) > threshold
    p = np.asarray(pred) > threshold
    tp = int(np.sum(t & p))
    denom = int(t.sum() + p.sum())
    return float(2 * tp / denom) if denom else float("nan")


def anomaly_metrics(
    truth: Array, pred: Array, percentiles: tuple[int, ...] = (90, 95)
) -> dict[str, float]:
    """``ap_pXX`` and ``f1_pXX`` for each percentile of the truth (analysis space)."""
    t = np.asarray(truth, dtype=np.float64).ravel()
    p = np.asarray(pred, dtype=np.float64).ravel()
    out: dict[str, float] = {}
    if t.size == 0:
        return {f"{m}_p{q}": float("nan") for q in percentiles for m in ("ap", "f1")}
    order = np.argsort(-p, kind="mergesort")  # one sort serves every percentile
    t_sorted, p_sorted = t[order], p[order]
    for q, tau in zip(percentiles, np.percentile(t, percentiles)):
        out[f"ap_p{q}"] = _average_precision_sorted(t_sorted > tau, p_sorted)
        out[f"f1_p{q}"] = f1_at_threshold(t, p, float(tau))
    return out
