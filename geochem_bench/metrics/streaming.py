"""The streaming metrics engine: every moment-based metric from mergeable paired moments.

A :class:`PairedMoments` summarises paired truth ``t`` and prediction ``p`` (and their error
``e = p - t``) by counts, means, sums of squared deviations (M2) and the co-moment of ``t`` and
``p``. Summaries of disjoint chunks merge with the pairwise update of Chan, Golub & LeVeque
("Updating formulae and a pairwise algorithm for computing sample variances", Stanford
STAN-CS-79-773, 1979; also Chan, Golub & LeVeque 1983, The American Statistician 37:242-247),
so a field scored tile by tile gives the scores of the whole field up to rounding, and the
in-memory scoring is the one-chunk case of the same code.

Within a chunk the moments are taken about the chunk's own mean (two passes), and chunks merge
through the difference of their means: the variance is never formed as ``E[x²] - E[x]²``,
which loses every significant digit when the mean is large against the spread (log10 values
of a concentration offset by 1e8, say). Sums of squared and absolute errors are plain sums of
non-negative terms, which do not cancel; RMSE comes from the summed squares exactly as the
bootstrap's per-block error sums do, so a record's RMSE and its error blocks agree.

:class:`ElementMoments` groups what one element of a task fold needs (prediction, natural
units, reference prediction, coherence) and turns it into the moment-based part of a
metric row. Rank, image and tail metrics (Spearman, SSIM, anomaly AP/F1) need all cells at
once and are not computed here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geochem_bench.errors import InvalidInputError

#: Keys of :meth:`ElementMoments.row`, in record order, without and with the grid protocol's
#: image metrics.
POINT_METRICS: tuple[str, ...] = (
    "n",
    "rmse",
    "mae",
    "bias",
    "r2",
    "pearson_r",
    "lin_ccc",
    "rmse_natural",
    "mae_natural",
    "rmse_reference",
    "skill",
)
GRID_METRICS: tuple[str, ...] = (*POINT_METRICS, "psnr", "coherence")


def as_pairs(truth: ArrayLike, pred: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Truth and prediction as flat float64 arrays of one size.

    Raises:
        InvalidInputError: the two differ in size.
    """
    t = np.asarray(truth, dtype=np.float64).ravel()
    p = np.asarray(pred, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise InvalidInputError(f"truth and prediction differ in size: {t.size} vs {p.size}")
    return t, p


def psnr_from_mse(mse: float, data_range: float, n: int) -> float:
    """PSNR in dB, 10 log10(data_range² / MSE), from an MSE over ``n`` pairs.

    NaN for no pairs or a non-positive ``data_range`` (constant truth); inf for MSE zero.
    """
    if n == 0 or data_range <= 0:
        return math.nan
    if mse == 0:
        return math.inf
    return float(10.0 * np.log10(data_range**2 / mse))


@dataclass(frozen=True, slots=True)
class PairedMoments:
    """Mergeable moments of paired truth ``t``, prediction ``p`` and error ``e = p - t``.

    An empty summary (``n == 0``) is the identity of :meth:`merge`. Every metric is NaN when
    undefined (no pairs; a correlation of fewer than two pairs or of a constant side).

    Attributes:
        n: number of pairs.
        mean_t: mean of the truth.
        mean_p: mean of the prediction.
        mean_e: mean of the error.
        m2_t: sum of squared deviations of the truth from its mean.
        m2_p: sum of squared deviations of the prediction from its mean.
        m2_e: sum of squared deviations of the error from its mean.
        c_tp: co-moment, sum of (t - mean_t)(p - mean_p).
        sse: sum of squared errors.
        sae: sum of absolute errors.
        t_min: smallest truth (inf when empty).
        t_max: largest truth (-inf when empty).
    """

    n: int = 0
    mean_t: float = 0.0
    mean_p: float = 0.0
    mean_e: float = 0.0
    m2_t: float = 0.0
    m2_p: float = 0.0
    m2_e: float = 0.0
    c_tp: float = 0.0
    sse: float = 0.0
    sae: float = 0.0
    t_min: float = math.inf
    t_max: float = -math.inf

    @classmethod
    def of(cls, truth: ArrayLike, pred: ArrayLike) -> PairedMoments:
        """Moments of one chunk of pairs, centred on the chunk's own means.

        Raises:
            InvalidInputError: truth and prediction differ in size.
        """
        t, p = as_pairs(truth, pred)
        if t.size == 0:
            return cls()
        # One scratch buffer for the products: a tile or a whole fold is millions of cells,
        # and fresh temporaries cost as much as the arithmetic. Same operations, same bits.
        e = np.subtract(p, t)
        buf = np.empty_like(e)
        sse = np.multiply(e, e, out=buf).sum()
        sae = np.abs(e, out=buf).sum()
        mean_t, mean_p, mean_e = t.mean(), p.mean(), e.mean()
        dt, dp, de = np.subtract(t, mean_t), np.subtract(p, mean_p), np.subtract(e, mean_e, out=e)
        return cls(
            n=int(t.size),
            mean_t=float(mean_t),
            mean_p=float(mean_p),
            mean_e=float(mean_e),
            m2_t=float(np.multiply(dt, dt, out=buf).sum()),
            m2_p=float(np.multiply(dp, dp, out=buf).sum()),
            m2_e=float(np.multiply(de, de, out=buf).sum()),
            c_tp=float(np.multiply(dt, dp, out=buf).sum()),
            sse=float(sse),
            sae=float(sae),
            t_min=float(t.min()),
            t_max=float(t.max()),
        )

    @classmethod
    def merged(cls, parts: Iterable[PairedMoments]) -> PairedMoments:
        """The moments of the union of disjoint chunks."""
        total = cls()
        for part in parts:
            total = total.merge(part)
        return total

    def merge(self, other: PairedMoments) -> PairedMoments:
        """The moments of the union of two disjoint sets of pairs (Chan et al.'s update)."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        w = other.n / n
        k = self.n * other.n / n  # weight of the between-chunk term, n_a n_b / n
        dt = other.mean_t - self.mean_t
        dp = other.mean_p - self.mean_p
        de = other.mean_e - self.mean_e
        return PairedMoments(
            n=n,
            mean_t=self.mean_t + dt * w,
            mean_p=self.mean_p + dp * w,
            mean_e=self.mean_e + de * w,
            m2_t=self.m2_t + other.m2_t + dt * dt * k,
            m2_p=self.m2_p + other.m2_p + dp * dp * k,
            m2_e=self.m2_e + other.m2_e + de * de * k,
            c_tp=self.c_tp + other.c_tp + dt * dp * k,
            sse=self.sse + other.sse,
            sae=self.sae + other.sae,
            t_min=min(self.t_min, other.t_min),
            t_max=max(self.t_max, other.t_max),
        )

    def update(self, truth: ArrayLike, pred: ArrayLike) -> PairedMoments:
        """These moments with one more chunk of pairs merged in."""
        return self.merge(PairedMoments.of(truth, pred))

    # --- metrics ------------------------------------------------------------------------

    @property
    def mse(self) -> float:
        """Mean squared error."""
        return self.sse / self.n if self.n else math.nan

    @property
    def rmse(self) -> float:
        """Root mean squared error."""
        return math.sqrt(self.sse / self.n) if self.n else math.nan

    @property
    def mae(self) -> float:
        """Mean absolute error."""
        return self.sae / self.n if self.n else math.nan

    @property
    def bias(self) -> float:
        """Mean error, prediction minus truth."""
        return self.mean_e if self.n else math.nan

    @property
    def truth_mean(self) -> float:
        """Mean of the truth."""
        return self.mean_t if self.n else math.nan

    @property
    def var_t(self) -> float:
        """Population variance of the truth."""
        return self.m2_t / self.n if self.n else math.nan

    @property
    def var_p(self) -> float:
        """Population variance of the prediction."""
        return self.m2_p / self.n if self.n else math.nan

    @property
    def var_e(self) -> float:
        """Population variance of the error."""
        return self.m2_e / self.n if self.n else math.nan

    @property
    def cov(self) -> float:
        """Population covariance of truth and prediction."""
        return self.c_tp / self.n if self.n else math.nan

    @property
    def r2(self) -> float:
        """Coefficient of determination 1 - SS_res / SS_tot; NaN for a constant truth."""
        if self.n < 2 or self.m2_t == 0:
            return math.nan
        return 1.0 - self.sse / self.m2_t

    @property
    def pearson_r(self) -> float:
        """Pearson correlation; NaN when either side is constant."""
        if self.n < 2:
            return math.nan
        denom = math.sqrt(self.m2_t * self.m2_p)
        return self.c_tp / denom if denom > 0 else math.nan

    @property
    def lin_ccc(self) -> float:
        """Lin's concordance correlation, 2 cov / (var_t + var_p + (mean_t - mean_p)²)."""
        if self.n < 2:
            return math.nan
        denom = self.m2_t / self.n + self.m2_p / self.n + (self.mean_t - self.mean_p) ** 2
        return 2.0 * (self.c_tp / self.n) / denom if denom > 0 else math.nan

    @property
    def relative_rmse(self) -> float:
        """RMSE divided by the mean of the truth side; NaN when empty or that mean is <= 0."""
        if self.n == 0 or self.mean_t <= 0:
            return math.nan
        return self.rmse / self.mean_t

    @property
    def data_range(self) -> float:
        """Range of the truth, max - min (0 when empty)."""
        return self.t_max - self.t_min if self.n else 0.0

    def psnr(self, data_range: float | None = None) -> float:
        """PSNR in dB against ``data_range`` (default: the range of the truth)."""
        rng = self.data_range if data_range is None else data_range
        return psnr_from_mse(self.mse, rng, self.n)


@dataclass
class ElementMoments:
    """Streaming scores of one element of a task fold, updated chunk by chunk.

    Attributes:
        analysis: truth against prediction in the element's analysis space.
        natural: the same pairs in natural units.
        reference: truth against bicubic upsampling of the lowres grid (analysis space).
        coherence: the coarse-cell pairs of :func:`~.image.coherence_pairs` (grid protocol
            only), their :attr:`PairedMoments.relative_rmse` is the coherence error.
    """

    analysis: PairedMoments = field(default_factory=PairedMoments)
    natural: PairedMoments = field(default_factory=PairedMoments)
    reference: PairedMoments = field(default_factory=PairedMoments)
    coherence: PairedMoments = field(default_factory=PairedMoments)

    def update(
        self,
        truth: ArrayLike,
        pred: ArrayLike,
        reference: ArrayLike,
        truth_natural: ArrayLike,
        pred_natural: ArrayLike,
    ) -> None:
        """Add a chunk of scored cells or samples.

        Args:
            truth: truth in analysis space.
            pred: prediction in analysis space.
            reference: bicubic reference in analysis space.
            truth_natural: truth in natural units.
            pred_natural: prediction in natural units.
        """
        self.analysis = self.analysis.update(truth, pred)
        self.natural = self.natural.update(truth_natural, pred_natural)
        self.reference = self.reference.update(truth, reference)

    def update_coherence(self, first: ArrayLike, second: ArrayLike) -> None:
        """Add coarse cells of the coherence error (from :func:`~.image.coherence_pairs`)."""
        self.coherence = self.coherence.update(first, second)

    def merge(self, other: ElementMoments) -> ElementMoments:
        """The scores of the union of two disjoint parts of a fold."""
        return ElementMoments(
            analysis=self.analysis.merge(other.analysis),
            natural=self.natural.merge(other.natural),
            reference=self.reference.merge(other.reference),
            coherence=self.coherence.merge(other.coherence),
        )

    def row(self, *, grid: bool) -> dict[str, float]:
        """The moment-based metrics of the element; undefined values are NaN.

        Args:
            grid: add the grid protocol's PSNR and coherence error.

        Returns:
            Keyed and ordered as :data:`POINT_METRICS`, or :data:`GRID_METRICS` with ``grid``.
        """
        a = self.analysis
        rmse, rmse_reference = a.rmse, self.reference.rmse
        row = {
            "n": float(a.n),
            "rmse": rmse,
            "mae": a.mae,
            "bias": a.bias,
            "r2": a.r2,
            "pearson_r": a.pearson_r,
            "lin_ccc": a.lin_ccc,
            "rmse_natural": self.natural.rmse,
            "mae_natural": self.natural.mae,
            "rmse_reference": rmse_reference,
            "skill": 1.0 - rmse / rmse_reference if rmse_reference > 0 else math.nan,
        }
        if grid:
            row["psnr"] = a.psnr()
            row["coherence"] = self.coherence.relative_rmse
        return row
