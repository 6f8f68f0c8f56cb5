"""Geochemical samples: point locations with one column per element."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from geochem_bench.errors import InvalidInputError, UnknownNameError


@dataclass(frozen=True)
class Samples:
    """A table of point samples in the scene CRS.

    Attributes:
        ids: stable sample identifiers (N,), used by split files.
        x: x coordinates (N,).
        y: y coordinates (N,).
        values: concentrations in natural units (N, E); NaN where not measured or hidden.
        elements: element symbols naming the columns of ``values``.
    """

    ids: NDArray[np.int64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    values: NDArray[np.float64]
    elements: tuple[str, ...]

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

    def __len__(self) -> int:
        return len(self.ids)

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
        )

    def with_hidden(self, symbols: tuple[str, ...], rows: NDArray[np.bool_]) -> Samples:
        """Copy with the values of ``symbols`` replaced by NaN on ``rows``."""
        values = self.values.copy()
        for symbol in symbols:
            values[rows, self.index(symbol)] = np.nan
        return Samples(ids=self.ids, x=self.x, y=self.y, values=values, elements=self.elements)
