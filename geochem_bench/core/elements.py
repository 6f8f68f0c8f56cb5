"""Chemical elements as measured by a survey: symbol, unit and the space metrics work in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

AnalysisSpace = Literal["log10", "linear"]

#: The symbols of the 118 elements of the periodic table, in order of atomic number.
# fmt: off
SYMBOLS: tuple[str, ...] = (
    "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S",
    "Cl", "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge",
    "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd",
    "In", "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd",
    "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg",
    "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm",
    "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn",
    "Nh", "Fl", "Mc", "Lv", "Ts", "Og",
)
# fmt: on
_BY_LOWER = {s.lower(): s for s in SYMBOLS}


def is_element_symbol(name: str) -> bool:
    """Whether ``name`` is a chemical element symbol, in any letter case (``Cu``, ``CU``, ``cu``).

    Survey tables spell symbols in every case, so the case is ignored; ``make-task`` reports
    which columns it took for elements, so a column such as ``no`` (nobelium) is never
    taken silently.
    """
    return name.lower() in _BY_LOWER


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
