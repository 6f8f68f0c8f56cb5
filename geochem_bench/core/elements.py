"""Chemical elements as measured by a survey: symbol, unit and the space metrics work in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

AnalysisSpace = Literal["log10", "linear"]


@dataclass(frozen=True)
class Element:
    """One measured element.

    Attributes:
        symbol: chemical symbol as written in the survey, e.g. ``"Cu"``.
        unit: unit of the natural values, e.g. ``"mg/kg"``.
        analysis_space: ``"log10"`` for positive, right-skewed trace elements (errors are
            judged in orders of magnitude), ``"linear"`` otherwise.
    """

    symbol: str
    unit: str = "mg/kg"
    analysis_space: AnalysisSpace = "log10"

    def to_analysis(self, values: ArrayLike) -> NDArray[np.float64]:
        """Natural units to analysis space (non-positive values become NaN in log10 space)."""
        v = np.asarray(values, dtype=np.float64)
        if self.analysis_space == "linear":
            return v
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)

    def from_analysis(self, values: ArrayLike) -> NDArray[np.float64]:
        """Analysis space back to natural units."""
        v = np.asarray(values, dtype=np.float64)
        return v if self.analysis_space == "linear" else np.power(10.0, v)

    def to_dict(self) -> dict[str, str]:
        """JSON-friendly description."""
        return {"symbol": self.symbol, "unit": self.unit, "analysis_space": self.analysis_space}
