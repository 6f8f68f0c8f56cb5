"""A scene: one co-registered area with covariates, samples and (optionally) a true field."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.samples import Samples
from geochem_bench.errors import InvalidInputError, UnknownNameError
from geochem_bench.tasks.splits import SampleSplit


@dataclass
class Scene:
    """One area of the benchmark, on a single fine grid.

    Attributes:
        name: scene name used in task ids, e.g. ``"synthetic"``.
        version: version of the data (or of the generator) behind the arrays.
        grid: the fine grid every raster lives on.
        covariates: remote sensing and terrain, float32 (C, H, W); NaN where unknown.
        band_names: one name per covariate band.
        valid: cells where predictions are required and scored (H, W).
        elements: the elements of the survey, in the order of ``truth`` and sample columns.
        truth: exhaustive field in natural units, float32 (E, H, W), only where one exists.
        points: geochemical samples, only where the scene has a survey.
        licence: licence of the data.
        citation: how to cite the data.
        description: one paragraph for ``geochem-bench info``.
        options: the parameters the scene was built with (size, seed, realisation, ...).
        splits: named sample splits shipped with the scene (e.g. ``"official"``).
        realisation: which numbered realisation of a simulated scene this is (None: the
            scene has one fixed realisation); also in ``options``, so that a result's dataset
            record names it.
    """

    name: str
    version: str
    grid: GridSpec
    covariates: NDArray[np.float32]
    band_names: tuple[str, ...]
    valid: NDArray[np.bool_]
    elements: tuple[Element, ...]
    truth: NDArray[np.float32] | None = None
    points: Samples | None = None
    licence: str = ""
    citation: str = ""
    description: str = ""
    options: dict[str, object] = field(default_factory=dict)
    splits: dict[str, SampleSplit] = field(default_factory=dict)
    realisation: int | None = None
    _fingerprint: dict[str, str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.options.get("realisation", self.realisation) != self.realisation:
            raise InvalidInputError(
                f"scene {self.name!r} is realisation {self.realisation} but its options say "
                f"{self.options['realisation']}; build it with one realisation number"
            )
        shape = self.grid.shape
        if self.covariates.ndim != 3 or self.covariates.shape[1:] != shape:
            raise InvalidInputError(
                f"covariates must be (C, {shape[0]}, {shape[1]}), got {self.covariates.shape}"
            )
        if len(self.band_names) != self.covariates.shape[0]:
            raise InvalidInputError(
                f"{self.covariates.shape[0]} covariate bands but {len(self.band_names)} band names"
            )
        if self.valid.shape != shape:
            raise InvalidInputError(f"valid mask must be {shape}, got {self.valid.shape}")
        if self.truth is not None and self.truth.shape != (len(self.elements), *shape):
            raise InvalidInputError(
                f"truth must be ({len(self.elements)}, {shape[0]}, {shape[1]}), "
                f"got {self.truth.shape}"
            )
        if self.points is not None:
            rows, cols = self.grid.cell_of(self.points.x, self.points.y)
            outside = rows < 0
            if outside.any():
                raise InvalidInputError(
                    f"{int(outside.sum())} samples lie outside the scene grid "
                    f"(bounds {self.grid.bounds}); drop or reproject them first"
                )
            off_mask = ~self.valid[rows, cols]
            if off_mask.any():
                raise InvalidInputError(
                    f"{int(off_mask.sum())} samples fall on cells outside the valid mask; "
                    "a sample location must be a scored cell"
                )

    def element(self, symbol: str) -> Element:
        """Look an element up by symbol (case-insensitive)."""
        for e in self.elements:
            if e.symbol.lower() == symbol.lower():
                return e
        raise UnknownNameError(
            f"scene {self.name!r} has no element {symbol!r}; "
            f"available: {[e.symbol for e in self.elements]}"
        )

    def element_index(self, symbol: str) -> int:
        """Position of an element in ``elements``."""
        return self.elements.index(self.element(symbol))

    def fingerprint(self) -> dict[str, str]:
        """sha256 of every array of the scene: what a result was computed on."""
        if self._fingerprint is None:
            arrays: dict[str, NDArray[np.generic]] = {
                "covariates": self.covariates,
                "valid": self.valid,
            }
            if self.truth is not None:
                arrays["truth"] = self.truth
            if self.points is not None:
                columns = [self.points.ids, self.points.x, self.points.y, self.points.values]
                if self.points.limits is not None:  # only then: other surveys keep their digest
                    columns.append(self.points.limits)
                arrays["points"] = np.column_stack(columns)
            self._fingerprint = {
                key: hashlib.sha256(np.ascontiguousarray(value).data).hexdigest()
                for key, value in arrays.items()
            }
        return dict(self._fingerprint)


def resolve_realisation(
    scene: str, test_realisations: tuple[int, ...], realisation: int | None
) -> int | None:
    """The realisation of a scene to build, checked.

    Args:
        scene: the scene's name, for messages.
        test_realisations: the scene's test realisations (empty: one fixed realisation).
        realisation: the number asked for; None: the scene's first test realisation.

    Returns:
        The realisation number, or None for a scene with one fixed realisation.

    Raises:
        InvalidInputError: a number for a scene with one fixed realisation, or a number that
            is not an integer >= 0.
    """
    if not test_realisations:
        if realisation is not None:
            raise InvalidInputError(
                f"scene {scene!r} has one fixed realisation (it is not simulated); "
                f"load it without realisation={realisation!r}"
            )
        return None
    if realisation is None:
        return test_realisations[0]
    if isinstance(realisation, bool) or not isinstance(realisation, int) or realisation < 0:
        raise InvalidInputError(
            f"realisation of scene {scene!r} must be an integer >= 0, got {realisation!r}"
        )
    return realisation
