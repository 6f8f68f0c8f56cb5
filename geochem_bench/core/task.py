"""Tasks, what a model receives for a task fold, and what it must return.

A task is a scene x target element(s) x scale factor x protocol, with a stable id such as
``synthetic/cu/s8/points`` and a version. For one fold a task yields :class:`TaskInputs`
(everything a model may see) and :class:`HeldOut` (what it is scored against, never shown
to the model).

A task on a simulated scene runs on several numbered *realisations* of it (independent draws
of the generator; see ``docs/realisations.md``). Its evaluation folds are then the pairs
(realisation, spatial fold), realisation-major: with realisations ``(0, 1, 2)`` and 5 spatial
folds, fold 7 is spatial fold 2 of realisation 1 (:meth:`TaskSpec.unit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from geochem_bench.core.elements import Element
from geochem_bench.core.grid import GridSpec
from geochem_bench.core.samples import Samples
from geochem_bench.errors import InvalidInputError

Protocol = Literal["grid", "points", "transfer"]
PROTOCOLS: tuple[Protocol, ...] = ("grid", "points", "transfer")
#: The reference prediction skill is measured against, per protocol (see
#: :mod:`geochem_bench.evaluation.reference` for the reasons).
REFERENCES: dict[Protocol, str] = {
    "grid": "bicubic",
    "points": "training-mean",
    "transfer": "training-mean",
}


@dataclass(frozen=True)
class TaskSpec:
    """Declarative description of one benchmark task.

    Attributes:
        scene: scene name.
        elements: target element symbols, as spelled by the scene.
        scale: scale factor s between the fine grid and the coarse ``lowres`` grid.
        protocol: ``"grid"`` (Wald's reduced resolution against an exhaustive truth),
            ``"points"`` (held-out survey samples) or ``"transfer"`` (heterotopic: the target
            is known at a fraction of training sites, the other elements everywhere).
        n_spatial_folds: number of spatial-block folds of one realisation (1 for the grid
            protocol); the task's evaluation folds are these times the realisations
            (:attr:`n_folds`).
        block_cells: edge of a spatial block in coarse cells (points and transfer).
        split_seed: seed of the fold assignment and of the transfer subset.
        target_fraction: transfer only: fraction of training sites where the target is known.
        label: element part of the id when it is not the joined element symbols, e.g. "all".
        split: name of a split shipped with the scene (e.g. an official validation set)
            instead of spatial-block folds.
        covariables: transfer only: elements known at the held-out sites (default: every
            non-target element of the survey).
        realisations: the numbered realisations of the scene the task runs on, in fold order
            (empty: the scene has one fixed realisation). Official tasks use the scene's
            test realisations.
        dev: whether the task runs on the scene's public dev realisations, for tuning: its id
            ends in ``/dev`` and its records never count on the board.
        version: task version; bumped whenever the inputs or scoring of the task change.
    """

    scene: str
    elements: tuple[str, ...]
    scale: int
    protocol: Protocol
    n_spatial_folds: int = 1
    block_cells: int = 2
    split_seed: int = 0
    target_fraction: float = 1.0
    label: str | None = None
    split: str | None = None
    covariables: tuple[str, ...] | None = None
    realisations: tuple[int, ...] = ()
    dev: bool = False
    version: str = "1"

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise InvalidInputError(f"protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        if self.scale < 2:
            raise InvalidInputError(f"scale factor must be >= 2, got {self.scale}")
        if not self.elements:
            raise InvalidInputError("a task needs at least one target element")
        if self.protocol == "grid" and self.n_spatial_folds != 1:
            raise InvalidInputError(
                "grid-protocol tasks have a single spatial fold (n_spatial_folds=1)"
            )
        if self.protocol != "grid" and self.split is None and self.n_spatial_folds < 2:
            raise InvalidInputError(
                f"{self.protocol}-protocol tasks need n_spatial_folds >= 2 or a named split"
            )
        if self.n_spatial_folds < 1:
            raise InvalidInputError(f"n_spatial_folds must be >= 1, got {self.n_spatial_folds}")
        if any(not isinstance(r, int) or r < 0 for r in self.realisations):
            raise InvalidInputError(
                f"realisations must be integers >= 0, got {self.realisations!r}"
            )
        if len(set(self.realisations)) != len(self.realisations):
            raise InvalidInputError(f"realisations repeat a number: {self.realisations!r}")
        if self.dev and not self.realisations:
            raise InvalidInputError(
                "a dev task needs the dev realisations it runs on (realisations=...)"
            )
        if self.covariables is not None and self.protocol != "transfer":
            raise InvalidInputError("covariables only apply to transfer tasks")
        if not 0.0 < self.target_fraction <= 1.0:
            raise InvalidInputError(
                f"target_fraction must be in (0, 1], got {self.target_fraction}"
            )

    @property
    def id(self) -> str:
        """Stable identifier, e.g. ``synthetic/cu/s8/points`` (``.../points/dev`` on dev)."""
        label = self.label or "+".join(e.lower() for e in self.elements)
        task_id = f"{self.scene}/{label}/s{self.scale}/{self.protocol}"
        return f"{task_id}/{DEV_SUFFIX}" if self.dev else task_id

    @property
    def n_folds(self) -> int:
        """Number of evaluation folds: spatial folds times realisations (one if none)."""
        return max(1, len(self.realisations)) * self.n_spatial_folds

    @property
    def reference(self) -> str:
        """Name of the reference prediction skill is measured against (by protocol)."""
        return REFERENCES[self.protocol]

    @property
    def folds(self) -> range:
        """Evaluation fold indices, realisation-major (see :meth:`unit`)."""
        return range(self.n_folds)

    def unit(self, fold: int) -> tuple[int | None, int]:
        """The realisation (None: the scene's only one) and spatial fold of evaluation ``fold``.

        Raises:
            InvalidInputError: ``fold`` is not one of :attr:`folds`.
        """
        if fold not in self.folds:
            raise InvalidInputError(
                f"task {self.id} has folds 0..{self.n_folds - 1}, got fold {fold}"
            )
        return fold_unit(self.realisations, self.n_spatial_folds, fold)

    def fold_of(self, realisation: int | None, spatial_fold: int) -> int:
        """The evaluation fold of spatial fold ``spatial_fold`` of ``realisation``.

        Raises:
            InvalidInputError: the task has no such realisation or spatial fold.
        """
        if spatial_fold not in range(self.n_spatial_folds):
            raise InvalidInputError(
                f"task {self.id} has spatial folds 0..{self.n_spatial_folds - 1}, "
                f"got {spatial_fold}"
            )
        if not self.realisations:
            if realisation is not None:
                raise InvalidInputError(
                    f"task {self.id} runs on its scene's one fixed realisation, not "
                    f"realisation {realisation}"
                )
            return spatial_fold
        if realisation not in self.realisations:
            raise InvalidInputError(
                f"task {self.id} runs on realisations {list(self.realisations)}, not {realisation}"
            )
        return self.realisations.index(realisation) * self.n_spatial_folds + spatial_fold

    def on_realisations(self, realisations: Sequence[int], *, dev: bool) -> TaskSpec:
        """The same task on other realisations of its scene (``dev``: the tuning copy)."""
        return replace(self, realisations=tuple(realisations), dev=dev)

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly description (also what result records carry)."""
        return {
            "id": self.id,
            "version": self.version,
            "scene": self.scene,
            "elements": list(self.elements),
            "scale": self.scale,
            "protocol": self.protocol,
            "n_folds": self.n_folds,
            "reference": self.reference,
            "n_spatial_folds": self.n_spatial_folds,
            "realisations": list(self.realisations),
            "dev": self.dev,
        }


#: Last part of the id of a task on dev realisations (``synthetic/cu/s16/points/dev``).
DEV_SUFFIX = "dev"


def fold_unit(
    realisations: Sequence[int], n_spatial_folds: int, fold: int
) -> tuple[int | None, int]:
    """The (realisation, spatial fold) of evaluation ``fold``: realisation-major.

    The one mapping of a task's evaluation folds, used by :meth:`TaskSpec.unit` and by the
    board's check of a record (which knows the task only as its record describes it).

    Args:
        realisations: the task's realisations in fold order (empty: one fixed realisation).
        n_spatial_folds: spatial folds per realisation.
        fold: evaluation fold, in ``0 .. max(1, len(realisations)) * n_spatial_folds - 1``.
    """
    realisation = realisations[fold // n_spatial_folds] if realisations else None
    return realisation, fold % n_spatial_folds


@dataclass(frozen=True)
class TaskInputs:
    """Everything a model may use for one task fold.

    Attributes:
        task_id: id of the task.
        fold: fold index.
        protocol: the task's protocol.
        scale: scale factor between ``grid`` and ``lowres_grid``.
        elements: target elements, in the order of ``lowres`` and of the expected output.
        covariates: fine-resolution remote sensing, float32 (C, H, W).
        band_names: names of the covariate bands.
        valid: fine cells where a prediction is required (H, W).
        grid: the fine grid (CRS, transform).
        lowres: coarse geochemical grid in natural units, float32 (E, h, w); NaN where a
            coarse cell has no data.
        lowres_count: number of fine cells (grid protocol) or samples (points protocols)
            behind each coarse value, int32 (E, h, w).
        lowres_grid: the coarse grid.
        points: survey samples the model may use (all survey elements; held-out values
            removed), or None for the grid protocol.
        seed: seed the model should use for anything random.
    """

    task_id: str
    fold: int
    protocol: Protocol
    scale: int
    elements: tuple[Element, ...]
    covariates: NDArray[np.float32]
    band_names: tuple[str, ...]
    valid: NDArray[np.bool_]
    grid: GridSpec
    lowres: NDArray[np.float32]
    lowres_count: NDArray[np.int32]
    lowres_grid: GridSpec
    points: Samples | None
    seed: int = 0

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """Shape the prediction must have: (E, H, W)."""
        return (len(self.elements), self.grid.height, self.grid.width)


@dataclass(frozen=True)
class HeldOut:
    """What a task fold is scored against. Never given to a model.

    Censored held-out values (below a detection limit) are scored, not dropped, with a
    censoring-aware rule (:meth:`pairs`): a prediction at or below the limit counts as exact,
    one above it is wrong by its distance to the limit.

    Attributes:
        truth: grid protocol: exhaustive truth in natural units (E, H, W), NaN off the mask.
        rows: points protocols: fine-grid rows of the held-out samples (M,).
        cols: points protocols: fine-grid columns of the held-out samples (M,).
        values: points protocols: held-out values in natural units (M, E); NaN if missing;
            half the detection limit where censored, as in
            :class:`~geochem_bench.core.samples.Samples`.
        sample_ids: points protocols: ids of the held-out samples (M,).
        limits: points protocols: detection limits of the censored held-out values (M, E),
            NaN where a value is not censored; None when none is.
    """

    truth: NDArray[np.float32] | None = None
    rows: NDArray[np.intp] | None = None
    cols: NDArray[np.intp] | None = None
    values: NDArray[np.float64] | None = None
    sample_ids: NDArray[np.int64] | None = None
    limits: NDArray[np.float64] | None = None

    def pairs(
        self, prediction: NDArray[np.floating], e: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(truth, predicted) values for element index ``e`` where the truth is known.

        A censored value with limit ``L`` is scored as truth ``L`` against the prediction
        raised to ``L``: a prediction ``p <= L`` has error 0 (it counts as exact), one above
        has error ``p - L``, in natural and (being monotonic) analysis space alike. That is
        the rule "the truth is ``p`` if ``p <= L``, else ``L``" with the same errors, but the
        truth stays the same for every field scored: the bicubic reference is scored against
        the same values as the model (its pinned error sums cannot depend on the model), and
        R², correlations and anomaly thresholds see one truth for every submission.
        """
        if self.truth is not None:
            truth = self.truth[e].ravel()
            return truth[np.isfinite(truth)].astype(np.float64), self.scored(prediction, e)
        assert self.values is not None
        keep = np.isfinite(self.values[:, e])
        truth = self.values[keep, e].astype(np.float64)
        predicted = self.scored(prediction, e)
        if self.limits is not None:
            limit = self.limits[keep, e]
            censored = np.isfinite(limit)
            truth[censored] = limit[censored]
            predicted[censored] = np.maximum(predicted[censored], limit[censored])
        return truth, predicted

    def scored(self, field: NDArray[np.floating], e: int) -> NDArray[np.float64]:
        """Values of a fine-grid field (E, H, W) where element ``e`` is scored.

        In the order of :meth:`pairs`: every cell with a finite truth, or the held-out samples
        with a value (censored or not). The field's own values, without the censoring rule of
        :meth:`pairs` (a predictive std, say).

        Points protocols also take values at the held-out sites themselves (E, M), in the
        order of ``values`` (what ``predict_points`` returns): the cell of each site is then
        not looked up.
        """
        if self.truth is not None:
            return field[e].ravel()[np.isfinite(self.truth[e].ravel())].astype(np.float64)
        assert self.values is not None and self.rows is not None and self.cols is not None
        keep = np.isfinite(self.values[:, e])
        if field.ndim == 2:
            if field.shape[1] != len(self.values):
                raise ValueError(
                    f"values at {field.shape[1]} sites for {len(self.values)} held-out sites"
                )
            return field[e][keep].astype(np.float64)
        return field[e][self.rows, self.cols][keep].astype(np.float64)

    def n_censored(self, e: int) -> int:
        """How many scored values of element ``e`` are censored (0 on the grid protocol)."""
        if self.limits is None or self.values is None:
            return 0
        return int((np.isfinite(self.limits[:, e]) & np.isfinite(self.values[:, e])).sum())

    def censoring_row(self, e: int) -> dict[str, float]:
        """The censoring part of element ``e``'s metric row: ``n_censored``, points protocols.

        Empty on the grid protocol, whose exhaustive truth has no detection limit.
        """
        return {} if self.truth is not None else {"n_censored": float(self.n_censored(e))}


@dataclass(frozen=True)
class Prediction:
    """A model's output for one task fold.

    Attributes:
        mean: predicted field in natural units, float32 (E, H, W); from
            :meth:`~geochem_bench.models.base.FusionModel.predict_points`, values at the
            held-out sites, float32 (E, M).
        std: optional predictive standard deviation in each element's analysis space
            (log10 units for log10 elements), float32, the shape of ``mean``.
    """

    mean: NDArray[np.float32]
    std: NDArray[np.float32] | None = None
