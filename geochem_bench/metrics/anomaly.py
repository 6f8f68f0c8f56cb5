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
    y = np.asarray(labels, dtype=bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    n_pos = int(y.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
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
    t = np.asarray(truth, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    out: dict[str, float] = {}
    for q in percentiles:
        if t.size == 0:
            out[f"ap_p{q}"] = out[f"f1_p{q}"] = float("nan")
            continue
        tau = float(np.percentile(t, q))
        out[f"ap_p{q}"] = average_precision(t > tau, p)
        out[f"f1_p{q}"] = f1_at_threshold(t, p, tau)
    return out
