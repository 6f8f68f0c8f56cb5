"""Geochemical samples: point locations with one column per element."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from geochem_bench.errors import InvalidInputError, UnknownNameError

#: Fraction of its detection limit a censored ("below detection") value holds in
#: :attr:`Samples.values`: the common half-limit substitution (discussed, and criticised as an
#: estimator of statistics, in Helsel 2012, *Statistics for Censored Environmental Data Using
#: Minitab and R*, 2nd ed., Wiley, ch. 1). It is only the value a model trains on by default;
#: scoring uses the limit itself (:meth:`~geochem_bench.core.task.HeldOut.pairs`).
CENSORED_FRACTION = 0.5


def half_limit(values: NDArray[np.float64], limits: NDArray[np.float64]) -> NDArray[np.float64]:
    """``values`` with every censored entry (finite limit) replaced by half its limit.

    Args:
        values: concentrations (N, E).
        limits: detection limits (N, E), finite where the value is censored, NaN otherwise.
    """
    censored = np.isfinite(limits)
    return np.where(censored, limits * CENSORED_FRACTION, values).astype(np.float64)


@dataclass(frozen=True)
class Samples:
    """A table of point samples in the scene CRS.

    Censored values ("below the detection limit") are kept, not dropped: ``limits`` holds the
    limit of each censored entry, and ``values`` holds half that limit there
    (:data:`CENSORED_FRACTION`, the usual substitution), so a model that ignores ``limits``
    still trains on a plausible low value. A model may use ``limits`` (censored regression,
    say); scoring treats a prediction at or below the limit of a held-out censored value as
    exact (:meth:`~geochem_bench.core.task.HeldOut.pairs`).

    Attributes:
        ids: stable sample identifiers (N,), used by split files.
        x: x coordinates (N,).
        y: y coordinates (N,).
        values: concentrations in natural units (N, E); NaN where not measured or hidden;
            half the detection limit where censored.
        elements: element symbols naming the columns of ``values``.
        limits: detection limits of the censored values (N, E) in natural units, NaN where a
            value is not censored (measured, missing or hidden); None when no value is
            censored (an all-NaN array is stored as None, so the two never differ).
    """

    ids: NDArray[np.int64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    values: NDArray[np.float64]
    elements: tuple[str, ...]
    limits: NDArray[np.float64] | None = None
    covariates: NDArray[np.float32] | None = None

    def __post_init__(self) -> None:
        n = len(self.ids)
        if not (len(self.x) == len(self.y) == self.values.shape[0] == n):
            raise InvalidInputError(
                f"samples table is ragged: {n} ids, {len(self.x)} x, {len(self.y)} y, "
                f"{self.values.shape[0]} value rows"
            )
        if self.values.ndim != 2 or self.values.shape[1] != len(self.elements):
            raise InvalidInputError(
                f"values must be (N, {len(self.elements)}) for elements {self.elements}, "
                f"got {self.values.shape}"
            )
        if len(np.unique(self.ids)) != n:
            raise InvalidInputError("sample ids must be unique; renumber duplicated ids first")
        if self.covariates is not None and (
            self.covariates.ndim != 2 or self.covariates.shape[0] != n
        ):
            raise InvalidInputError(
                f"covariates at the samples must be (N={n}, C), got {self.covariates.shape}"
            )
        if self.limits is not None:
            self._check_limits(self.limits)
            if not np.isfinite(self.limits).any():
                object.__setattr__(self, "limits", None)  # one spelling of "nothing censored"

    def _check_limits(self, limits: NDArray[np.float64]) -> None:
        if limits.shape != self.values.shape:
            raise InvalidInputError(
                f"limits must have the shape of values {self.values.shape}, got {limits.shape}"
            )
        censored = np.isfinite(limits)
        if (limits[censored] <= 0).any():
            raise InvalidInputError(
                "detection limits must be > 0 where a value is censored (NaN elsewhere)"
            )
        if not np.array_equal(self.values[censored], limits[censored] * CENSORED_FRACTION):
            raise InvalidInputError(
                f"a censored value must hold {CENSORED_FRACTION:g} x its detection limit; "
                "build the values with samples.half_limit(values, limits)"
            )

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def censored(self) -> NDArray[np.bool_]:
        """Where a value is censored (below its detection limit), (N, E)."""
        if self.limits is None:
            return np.zeros(self.values.shape, dtype=bool)
        return np.isfinite(self.limits)

    def column(self, symbol: str) -> NDArray[np.float64]:
        """Values of one element (N,)."""
        return self.values[:, self.index(symbol)]

    def index(self, symbol: str) -> int:
        """Column index of an element symbol."""
        try:
            return self.elements.index(symbol)
        except ValueError:
            raise UnknownNameError(
                f"element {symbol!r} not in samples; available: {self.elements}"
            ) from None

    def subset(self, mask: NDArray[np.bool_]) -> Samples:
        """Rows where ``mask`` is True."""
        return Samples(
            ids=self.ids[mask],
            x=self.x[mask],
            y=self.y[mask],
            values=self.values[mask],
            elements=self.elements,
            limits=None if self.limits is None else self.limits[mask],
            covariates=None if self.covariates is None else self.covariates[mask],
        )

    def with_hidden(self, symbols: tuple[str, ...], rows: NDArray[np.bool_]) -> Samples:
        """Copy with the values of ``symbols`` replaced by NaN on ``rows``.

        A hidden value hides its detection limit too: that a value is censored, and below
        what, is information about it.
        """
        values = self.values.copy()
        limits = None if self.limits is None else self.limits.copy()
        for symbol in symbols:
            values[rows, self.index(symbol)] = np.nan
            if limits is not None:
                limits[rows, self.index(symbol)] = np.nan
        return replace(self, values=values, limits=limits)
